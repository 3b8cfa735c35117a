"""A tiny synthetic preparation cache (8 kHz stereo, a second or two per song)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from unmix.data.cache import CachedSong, cache_path, write_cached
from unmix.data.songs import Song
from unmix.dsp.stft import StftOptions

SAMPLE_RATE = 8000
STFT = StftOptions(n_fft=256, hop_length=64)  # 129 bins


def write_song(cache_dir: Path, song_id: str, vocals: np.ndarray, instrumental: np.ndarray) -> CachedSong:
    """Write one song's stems straight into the cache (no decoding)."""
    song = Song(id=song_id, name=song_id, layout="unmix", vocals=(), instrumental=())
    return write_cached(
        cache_path(cache_dir, song_id), song=song, key="test", vocals=vocals.astype(np.float32),
        instrumental=instrumental.astype(np.float32), sample_rate=SAMPLE_RATE,
    )


def synth_stems(rng: np.random.Generator, n_samples: int, *, n_channels: int = 2, silent_vocals: bool = False):
    """Noise instrumental; a tone with noise as vocals, left and right different."""
    t = np.arange(n_samples) / SAMPLE_RATE
    vocals = np.stack([0.3 * np.sin(2 * np.pi * (300 + 200 * k) * t) for k in range(n_channels)])
    vocals = vocals + 0.05 * rng.standard_normal((n_channels, n_samples))
    if silent_vocals:
        vocals[:] = 0
    instrumental = 0.2 * rng.standard_normal((n_channels, n_samples))
    return vocals.astype(np.float32), instrumental.astype(np.float32)


class CacheKit:
    """The helpers above, handed to tests as the ``kit`` fixture (conftest is not importable)."""

    sample_rate = SAMPLE_RATE
    stft = STFT

    def __init__(self, cache_dir: Path, rng: np.random.Generator) -> None:
        self.cache_dir = cache_dir
        self.rng = rng

    def song(self, song_id: str, n_samples: int, **kwargs) -> CachedSong:
        return write_song(self.cache_dir, song_id, *synth_stems(self.rng, n_samples, **kwargs))

    def song_from(self, song_id: str, vocals: np.ndarray, instrumental: np.ndarray) -> CachedSong:
        return write_song(self.cache_dir, song_id, vocals, instrumental)


@pytest.fixture
def kit(tmp_path, rng) -> CacheKit:
    return CacheKit(tmp_path, rng)


@pytest.fixture
def songs(tmp_path, rng) -> list[CachedSong]:
    """Three stereo songs of 0.5, 0.8 and 1.1 s."""
    return [
        write_song(tmp_path, f"artist/song{k}", *synth_stems(rng, n)) for k, n in enumerate((4000, 6400, 8800))
    ]
