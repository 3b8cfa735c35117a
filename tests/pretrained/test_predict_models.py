"""predict.py picks built-in models by name: --model, --list_models, and the default once spleeter-2stems is installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from unmix.cli.predict import main
from unmix.pretrained import catalog


@pytest.fixture
def installed(spleeter_installed: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """UNMIX_MODELS_DIR pointing at the session's installed spleeter-2stems."""
    monkeypatch.setenv("UNMIX_MODELS_DIR", str(spleeter_installed.parent))
    return spleeter_installed


def song(path: Path, *, seconds: float = 3.0, sample_rate: int = 44100) -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    voice = 0.3 * np.sin(2 * np.pi * (300 + 40 * np.sin(3 * t)) * t)
    samples = np.stack([voice + 0.05 * rng.standard_normal(t.size), 0.8 * voice + 0.05 * rng.standard_normal(t.size)]).astype(np.float32)
    soundfile.write(path, samples.T, sample_rate, subtype="FLOAT")
    return samples


@pytest.mark.slow
def test_model_by_name_separates_with_stems_that_sum_to_the_input(installed, tmp_path, caplog):
    samples = song(tmp_path / "s.wav")
    assert main(["--model", "spleeter-2stems", "--song", str(tmp_path / "s.wav"), "--output", str(tmp_path / "out"), "--quiet"]) == 0
    stems = {stem: soundfile.read(tmp_path / "out" / "s" / f"{stem}.wav", dtype="float32", always_2d=True)[0].T for stem in ("vocals", "instrumental")}
    assert stems["vocals"].shape == samples.shape
    np.testing.assert_allclose(stems["vocals"] + stems["instrumental"], samples, atol=1e-5)
    assert np.abs(stems["vocals"]).max() > 0.01  # the network found something to call voice


@pytest.mark.slow
def test_the_default_is_spleeter_once_installed(installed, tmp_path, capsys):
    song(tmp_path / "s.wav", seconds=1.0)
    assert catalog.default_name() == "spleeter-2stems"
    assert main(["--song", str(tmp_path / "s.wav"), "--output", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "using the built-in model spleeter-2stems" in err and "not installed" not in err


@pytest.mark.parametrize("name", ["spleeter-2stem", "nope"])
def test_an_unknown_model_name_is_a_usage_error_of_one_line(tmp_path, capsys, name):
    """A name no built-in model has is a mistake in the command: exit 2, as argparse's are (it was 1)."""
    assert main(["--model", name, "--song", str(tmp_path / "s.wav")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: --model: unknown built-in model {name!r}; known: spleeter-2stems, fast")
    assert ("did you mean 'spleeter-2stems'?" in line) == (name == "spleeter-2stem")


def test_a_model_that_is_not_installed_says_what_to_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UNMIX_MODELS_DIR", str(tmp_path / "empty"))
    assert main(["--model", "spleeter-2stems", "--song", str(tmp_path / "s.wav")]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.endswith("run python3 -m unmix.pretrained install spleeter-2stems")


def test_list_models_shows_names_scores_speed_and_the_default(installed, capsys):
    assert main(["--list_models"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("spleeter-2stems (default): ")
    for name in catalog.names():
        entry = catalog.describe(name)
        assert f"{name}" in out
        assert f"vocals {entry.vocals_sdr:.2f} dB, instrumental {entry.instrumental_sdr:.2f} dB" in out
        assert f"{entry.real_time_factor:.0f}x real time" in out
        assert f"vocals above 11 kHz {entry.vocals_high_band:.2f} dB SNR" in out
    assert "fast: " in out and "installed" in out
