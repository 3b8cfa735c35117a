"""zmuv statistics streamed over cached songs vs plain numpy on whole songs."""

from __future__ import annotations

import numpy as np
import pytest

from unmix.data.cache import read_stems
from unmix.dsp.stft import n_frames, stft
from unmix.errors import DataError
from unmix.pipeline import stats as stats_module
from unmix.pipeline.stats import compute_zmuv_stats, song_frame_range


def reference(kit, songs, frame_ranges=None):
    """Per-bin mean and std of |mix| over all frames and channels, in one numpy call."""
    blocks = []
    for k, song in enumerate(songs):
        vocals, instrumental = read_stems(song)
        spec = np.abs(stft(vocals + instrumental, options=kit.stft))  # (ch, bins, frames)
        if frame_ranges is not None:
            spec = spec[:, :, frame_ranges[k].start : frame_ranges[k].stop]
        blocks.append(np.moveaxis(spec, 1, 0).reshape(spec.shape[1], -1))
    values = np.concatenate(blocks, axis=1).astype(np.float64)
    return values.mean(axis=1), values.std(axis=1)


def test_stats_match_numpy_over_whole_songs(kit, songs, monkeypatch):
    monkeypatch.setattr(stats_module, "BLOCK_FRAMES", 16)  # several blocks per song
    result = compute_zmuv_stats(songs, stft=kit.stft, n_channels=2, max_seconds_per_song=0)
    mean, std = reference(kit, songs)
    assert np.shape(result.mean) == np.shape(result.std) == (129,)
    np.testing.assert_allclose(result.mean, mean, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(result.std, std, rtol=1e-3, atol=1e-6)


def test_max_seconds_takes_the_middle_of_each_song(kit, songs):
    song = songs[2]  # 1.1 s = 138 frames at hop 64
    frames = song_frame_range(song, stft=kit.stft, max_seconds=0.5)
    assert len(frames) == 62 and frames.start == (n_frames(song.n_samples, options=kit.stft) - 62) // 2
    assert song_frame_range(song, stft=kit.stft, max_seconds=100) == range(n_frames(song.n_samples, options=kit.stft))
    result = compute_zmuv_stats(songs, stft=kit.stft, n_channels=2, max_seconds_per_song=0.5)
    ranges = [song_frame_range(s, stft=kit.stft, max_seconds=0.5) for s in songs]
    mean, std = reference(kit, songs, ranges)
    np.testing.assert_allclose(result.mean, mean, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(result.std, std, rtol=1e-3, atol=1e-6)


def test_errors(kit, songs):
    with pytest.raises(DataError, match="no training songs"):
        compute_zmuv_stats([], stft=kit.stft, n_channels=2)
    with pytest.raises(DataError, match=r"cached with 2 channels, expected 1"):
        compute_zmuv_stats(songs, stft=kit.stft, n_channels=1)
