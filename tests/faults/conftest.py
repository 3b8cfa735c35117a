"""Fault injection: every test builds its bad input itself, then checks the one-line
message, the exit code and that no file that existed before was changed.

The collection here is generated (seeded tones and noise, in the seed's layout), and
the configurations are children of the shipped ``configurations/mini/dummy.jsonc``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.faults.fake_model import FAKE_MODEL_RATE, use_fake_model  # noqa: F401  (FAKE_MODEL_RATE: for the tests)

REPOSITORY = Path(__file__).resolve().parents[2]
SAMPLE_RATE = 11025


def generate_collection(root: Path, *, n_songs: int = 4, seconds: float = 1.5, sample_rate: int = SAMPLE_RATE) -> Path:
    """``<root>/track<k>/{vocals,instrumental}_track<k>.wav``: a tone over seeded noise per song."""
    rng = np.random.default_rng(2024)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    for k in range(n_songs):
        folder = root / f"track{k}"
        folder.mkdir(parents=True)
        tone = 0.25 * np.sin(2 * np.pi * 330.0 * (k + 1) * t)
        stems = {"vocals": np.stack([tone, 0.8 * tone]), "instrumental": 0.05 * rng.standard_normal((2, t.size))}
        for stem, samples in stems.items():
            soundfile.write(folder / f"{stem}_track{k}.wav", samples.T.astype(np.float32), sample_rate)
    return root


def child_configuration(path: Path, overrides: dict, *, base: str = "mini/dummy.jsonc") -> Path:
    """A configuration that inherits a shipped mini one and overrides ``overrides`` (nested keys)."""
    path.write_text(json.dumps({"base": base, "environment": {"name": path.stem}, **overrides}, indent=2))
    return path


def one_line(text: str) -> str:
    """The only line of ``text`` (an error report), asserting there is no traceback."""
    lines = text.strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in text
    return lines[0]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the sha256 of its content."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_unchanged(before: dict[str, str], after: dict[str, str]) -> None:
    """Every file of ``before`` is still there with the same content (new files may exist)."""
    changed = {name for name, digest in before.items() if after.get(name) != digest}
    assert not changed, f"changed or removed: {sorted(changed)}"


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """--run_folder loads a NumPy separator (``use_fake_model``)."""
    use_fake_model(monkeypatch)


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A run folder for --run_folder (the fake model ignores what is in it)."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "configuration.jsonc").write_text("{}")
    return folder


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    return generate_collection(tmp_path / "collection")


@pytest.fixture
def training_environment(hermetic_environment, collection: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No developer UNMIX_* variables; the generated collection as UNMIX_COLLECTION_DIR."""
    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(collection))
    return collection


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real two-epoch run of the dummy model (its backup/ is kept), trained once for the session: copy it before changing it."""
    import os

    import unmix.config
    from unmix.cli import train

    root = tmp_path_factory.mktemp("finished")
    collection = generate_collection(root / "collection")
    configuration = child_configuration(root / "two-epochs.jsonc", {})
    with pytest.MonkeyPatch.context() as patch:
        for name in [k for k in os.environ if k.startswith("UNMIX_")]:
            patch.delenv(name)
        patch.setattr(unmix.config, "PROJECT_ROOT", root)
        patch.chdir(root)
        patch.setenv("UNMIX_COLLECTION_DIR", str(collection))
        patch.setenv("UNMIX_TEST_DATA_COUNT", "0")
        assert train.main(["--configuration", str(configuration), "--workingdir", str(root / "work"), "--quiet"]) == 0
    (run,) = (root / "work" / "runs").iterdir()
    assert (run / "backup" / "latest.weights.h5").is_file() and (run / "backup" / "training_metadata.json").is_file()
    return run


class Kit:
    """The helpers above, for tests (conftest modules are not importable)."""

    REPOSITORY = REPOSITORY
    generate_collection = staticmethod(generate_collection)
    child_configuration = staticmethod(child_configuration)
    one_line = staticmethod(one_line)
    snapshot = staticmethod(snapshot)
    assert_unchanged = staticmethod(assert_unchanged)


@pytest.fixture(scope="session")
def kit() -> Kit:
    return Kit()
