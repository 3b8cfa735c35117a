"""The catalog of built-in models: where they live, what a missing or unknown one says, which is the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from unmix.errors import ModelError
from unmix.pretrained import catalog


@pytest.fixture
def models(tmp_path, monkeypatch) -> Path:
    """An empty models folder that the catalog reads."""
    folder = tmp_path / "models"
    monkeypatch.setenv("UNMIX_MODELS_DIR", str(folder))
    return folder


def _pretend_installed(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "configuration.jsonc").write_text("{}")


def test_names_and_descriptions(models) -> None:
    assert catalog.names() == ["spleeter-2stems", "fast"]
    entry = catalog.describe("spleeter-2stems")
    assert entry.folder == models / "spleeter-2stems" and not entry.installed
    assert "Spleeter" in entry.description and "\n" not in entry.description
    fast = catalog.describe("fast")
    assert fast.folder == catalog.SHIPPED and fast.installed


def test_models_dir_is_the_variable_else_the_xdg_cache_else_home(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("UNMIX_MODELS_DIR", str(tmp_path / "chosen"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert catalog.models_dir() == tmp_path / "chosen"
    monkeypatch.delenv("UNMIX_MODELS_DIR")
    assert catalog.models_dir() == tmp_path / "xdg" / "unmix" / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert catalog.models_dir() == tmp_path / "home" / ".cache" / "unmix" / "models"


def test_a_model_that_is_not_installed_says_in_one_line_what_to_run(models) -> None:
    with pytest.raises(ModelError, match=r"not installed .*: run python3 -m unmix\.pretrained install spleeter-2stems$") as caught:
        catalog.folder("spleeter-2stems")
    assert "\n" not in str(caught.value) and str(models / "spleeter-2stems") in str(caught.value)


def test_an_unknown_name_lists_the_known_ones_with_a_did_you_mean(models) -> None:
    with pytest.raises(ModelError, match=r"unknown built-in model 'spleeter-2stem'; known: spleeter-2stems, fast; did you mean 'spleeter-2stems'\?"):
        catalog.folder("spleeter-2stem")
    with pytest.raises(ModelError, match="unknown built-in model"):
        catalog.describe("hourglass")


def test_the_default_is_spleeter_once_installed_else_fast(models) -> None:
    assert catalog.default_name() == "fast"
    _pretend_installed(models / "spleeter-2stems")
    assert catalog.default_name() == "spleeter-2stems" == catalog.BEST
    assert catalog.folder("spleeter-2stems") == models / "spleeter-2stems"


def test_a_missing_shipped_model_says_what_to_pass_instead(models, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(catalog, "SHIPPED", tmp_path / "nothing-here")
    with pytest.raises(ModelError, match="reinstall unmix, or pass --run_folder RUN or --weights W --configuration C"):
        catalog.folder("fast")


def test_the_catalog_figures_are_the_documented_measurements() -> None:
    """--list_models shows the catalog's figures: they must be the ones docs/default-model.md measured."""
    table = (Path(__file__).resolve().parents[2] / "docs" / "default-model.md").read_text(encoding="utf-8")
    card = (Path(catalog.__file__).parent / "cards" / "spleeter-2stems.md").read_text(encoding="utf-8")
    for name in catalog.names():
        entry = catalog.describe(name)
        (row,) = [line for line in table.splitlines() if line.startswith(f"| `{name}` (") or line.startswith(f"| **`{name}`**")]
        figures = (f"{entry.vocals_sdr:.2f} dB", f"{entry.instrumental_sdr:.2f} dB", f"{entry.real_time_factor:.1f}× real time", f"{entry.vocals_high_band:.2f} dB above 11 kHz")
        for figure in figures:
            assert figure in row, (name, figure, row)
    _assert_card_states(card, catalog.describe(catalog.BEST))


def test_the_fast_model_card_states_the_catalog_figures() -> None:
    """The shipped fast model's card quotes the same scores and speed as the catalog and the docs."""
    _assert_card_states((catalog.SHIPPED / "MODEL_CARD.md").read_text(encoding="utf-8"), catalog.describe(catalog.FAST))


def _assert_card_states(card: str, entry: catalog.Entry) -> None:
    """A model card's bold score row and its speed are the catalog entry's figures."""
    assert f"**{entry.vocals_sdr:.2f} dB** | **{entry.instrumental_sdr:.2f} dB**" in card, entry.name
    assert f"{entry.real_time_factor:.1f}× real time" in card, entry.name
    assert f"**{entry.vocals_high_band:.2f} dB**" in card, entry.name  # the vocals' high-band SNR
