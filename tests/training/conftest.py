"""A tiny collection (unmix layout) and configuration for end-to-end training tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

SAMPLE_RATE = 11025


def write_collection(root: Path, *, n_songs: int = 4, seconds: float = 1.5, seed: int = 7) -> Path:
    """Songs whose vocals are tones and whose instrumental is noise, in the seed's layout."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    for index in range(n_songs):
        folder = root / f"song{index}"
        folder.mkdir(parents=True)
        frequency = 220 * (1 + index)
        vocals = np.stack([0.3 * np.sin(2 * np.pi * frequency * t), 0.2 * np.sin(2 * np.pi * frequency * t + 0.5)])
        instrumental = 0.1 * rng.standard_normal((2, n))
        soundfile.write(folder / f"vocals_song{index}.wav", vocals.T.astype(np.float32), SAMPLE_RATE)
        soundfile.write(folder / f"instrumental_song{index}.wav", instrumental.T.astype(np.float32), SAMPLE_RATE)
    return root


def write_configuration(path: Path, *, base: str = "mini/hourglass.jsonc", **training: object) -> Path:
    """A child of a shipped mini configuration (found through the project's configurations/)."""
    data = {
        "base": base,
        "environment": {"name": path.stem},
        "collection": {"test_data_count": 1, "validation_ratio": 0.34},
        "training": {"callbacks": {"tensorboard": {"enabled": True}}, **training},
    }
    path.write_text(json.dumps(data, indent=2))
    return path


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    return write_collection(tmp_path / "collection")
