"""Fixtures of the catalogue's tests: two tiny models, a folder of short generated songs and a corrupt file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

RATE = 8000
TINY = {
    "environment": {"name": "tiny"},
    "collection": {"sample_rate": RATE, "stereo": True},
    "transformation": {"name": "train_window_predict_mask", "fft_window": 256, "hop_length": 64, "options": {"size": 16, "step": 16, "normalizer": "norm_max"}},
    "training": {"batch_size": 2, "model": {"name": "dummy", "options": {}}},
}  # fmt: skip
CORRUPT = b"RIFF\x24\x00\x00\x00WAVEfmt this is not audio"


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, dummy_run):
    """Two run folders of the dummy model with different weights: ``(first, second)``."""
    root = tmp_path_factory.mktemp("catalog-models")
    first, _ = dummy_run(root / "first", TINY, weights_file="callback_weights_01.weights.h5", seed=1)
    second, _ = dummy_run(root / "second", TINY, weights_file="callback_weights_01.weights.h5", seed=2)
    return first.path, second.path


def write_songs(folder: Path, *, count: int = 3, seconds: float = 2.0, corrupt: bool = True) -> list[Path]:
    """``count`` seeded stereo songs (one in a subfolder) and, when asked, one corrupt WAV."""
    rng = np.random.default_rng(7)
    paths = []
    for number in range(count):
        path = folder / ("sub" if number == count - 1 else "") / f"song{number}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        t = np.arange(int(seconds * RATE)) / RATE
        tone = 0.3 * np.sin(2 * np.pi * (220 + 55 * number) * t)
        sf.write(path, np.stack([tone, tone], axis=1) + 0.02 * rng.standard_normal((t.size, 2)), RATE, subtype="FLOAT")
        paths.append(path)
    if corrupt:
        (folder / "corrupt.wav").write_bytes(CORRUPT)
    return paths


@pytest.fixture
def songs(tmp_path) -> Path:
    """A folder of three good songs and one corrupt file."""
    folder = tmp_path / "songs"
    write_songs(folder)
    return folder
