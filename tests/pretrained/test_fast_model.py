"""The shipped model ``fast``: it loads, separates a real clip better than the mixture, and predict.py uses it when nothing better is installed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from unmix.pretrained import catalog


def test_the_fast_model_ships_with_its_run_files():
    folder = catalog.folder("fast")
    assert folder == catalog.SHIPPED
    for name in ("configuration.jsonc", "environment.json", "results.csv", "MODEL_CARD.md"):
        assert (folder / name).is_file(), name
    assert list(folder.glob("accuracy_*.csv"))
    best = json.loads((folder / "weights" / "best.json").read_text())
    weights = folder / "weights" / best["file"]
    assert weights.is_file() and weights.stat().st_size < 50 * 2**20


@pytest.mark.slow
def test_fast_model_beats_the_mixture_floor_on_the_stempeg_clip():
    """A real check: vocals SDR (museval v4 median) clearly above the unprocessed mixture's."""
    from unmix.evaluation.bsseval import score_museval
    from unmix.quickstart import example_song
    from unmix.separation.separator import Separator

    _, vocals, instrumental, rate = example_song()
    mix = vocals + instrumental
    estimates = Separator.from_run_folder(catalog.SHIPPED).separate(mix, rate)
    assert estimates["vocals"].shape == mix.shape
    np.testing.assert_allclose(estimates["vocals"] + estimates["instrumental"], mix, atol=1e-5)
    references = {"vocals": vocals, "instrumental": instrumental}
    model = score_museval(references, estimates, sample_rate=rate).medians()
    floor = score_museval(references, {"vocals": mix, "instrumental": mix}, sample_rate=rate).medians()
    # Measured 2026-12-04 (the distilled U-Net of issue 15): vocals 4.31 dB against a floor of
    # -6.23 dB, instrumental 10.99 dB against 6.23 dB. (The rnn before it: -0.92 and 5.96 dB.)
    assert model["vocals"]["SDR"] > floor["vocals"]["SDR"] + 8.0
    assert model["instrumental"]["SDR"] > floor["instrumental"]["SDR"] + 3.0


def test_predict_without_a_model_argument_uses_fast_when_nothing_better_is_installed(tmp_path, tone, capsys, caplog, monkeypatch):
    import soundfile

    monkeypatch.setenv("UNMIX_MODELS_DIR", str(tmp_path / "no-models"))
    from unmix.cli.predict import main

    song = tmp_path / "x.wav"
    soundfile.write(song, tone(frequency_hz=440, duration_s=1.0, sample_rate=22050).T, 22050)
    assert main(["--song", str(song), "--output", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "using the built-in model fast" in captured.err
    assert "the better built-in model spleeter-2stems is not installed: run python3 -m unmix.pretrained install spleeter-2stems" in captured.err
    vocals, rate = soundfile.read(tmp_path / "out" / "x" / "vocals.wav", always_2d=True)
    assert rate == 22050 and vocals.shape == (22050, 2)
