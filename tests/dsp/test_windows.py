"""Model layout and frame windows: channel order, counts, coverage, padding."""

from __future__ import annotations

import numpy as np
import pytest

from unmix.dsp.stft import StftOptions, stft
from tests.support.windows import chop  # the reference the generator and overlap-add tests compare with
from unmix.dsp.windows import (
    count_windows,
    from_model_layout,
    middle_windows,
    to_model_layout,
    window_starts,
)
from unmix.errors import ConfigurationError


def test_model_layout_keeps_the_left_channel_first(tone):
    audio = tone(frequency_hz=440.0, duration_s=0.25, sample_rate=8000)
    audio[1] = 0.0  # only the left channel sounds
    spec = stft(audio, options=StftOptions(n_fft=256, hop_length=64))
    model = to_model_layout(np.abs(spec))
    assert model.shape == (129, spec.shape[2], 2)
    assert model[..., 0].max() > 1.0 and model[..., 1].max() == 0.0
    np.testing.assert_array_equal(model[..., 0], np.abs(spec[0]))


def test_layout_round_trip_with_distinct_channels():
    spec = np.stack([np.full((3, 4), 1.0), np.full((3, 4), 2.0)])  # (channels, bins, frames)
    model = to_model_layout(spec)
    assert model.shape == (3, 4, 2)
    assert np.all(model[..., 0] == 1.0) and np.all(model[..., 1] == 2.0)
    np.testing.assert_array_equal(from_model_layout(model), spec)
    with pytest.raises(ValueError, match=r"expected \(channels, bins, frames\)"):
        to_model_layout(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"expected \(bins, frames, channels\)"):
        from_model_layout(np.zeros((3, 4)))


@pytest.mark.parametrize(
    ("n_frames", "size", "step", "expected"),
    [(0, 64, 32, 0), (1, 64, 32, 1), (64, 64, 32, 1), (65, 64, 32, 2), (96, 64, 32, 2),
     (97, 64, 32, 3), (10, 4, 4, 3), (4, 2, 2, 2), (5, 1, 1, 5)],
)
def test_count_windows_known_values(n_frames, size, step, expected):
    assert count_windows(n_frames, size=size, step=step) == expected
    starts = window_starts(n_frames, size=size, step=step)
    assert starts.shape == (expected,) and starts.dtype == np.int64


@pytest.mark.parametrize("n_frames", [1, 7, 63, 64, 65, 200, 257])
@pytest.mark.parametrize(("size", "step"), [(64, 64), (64, 32), (64, 16), (64, 48), (8, 3)])
def test_windows_cover_every_frame_without_spare_windows(n_frames, size, step):
    starts = window_starts(n_frames, size=size, step=step)
    covered = np.zeros(n_frames, dtype=int)
    for start in starts:
        covered[start : start + size] += 1
    assert covered.min() >= 1
    assert starts[0] == 0 and np.all(np.diff(starts) == step)
    assert starts[-1] < n_frames and (len(starts) == 1 or starts[-2] + size < n_frames)


def test_chop_pads_with_zeros_outside_the_frames():
    array = np.arange(2 * 5 * 2, dtype=np.float32).reshape(2, 5, 2) + 1  # (bins, frames, channels)
    inside = chop(array, 1, size=3)
    np.testing.assert_array_equal(inside, array[:, 1:4, :])
    tail = chop(array, 3, size=4)
    np.testing.assert_array_equal(tail[:, :2], array[:, 3:5])
    assert not tail[:, 2:].any()
    head = chop(array, -2, size=4)
    assert not head[:, :2].any()
    np.testing.assert_array_equal(head[:, 2:], array[:, :2])
    assert not chop(array, 10, size=2).any()
    assert chop(array, 0, size=8).shape == (2, 8, 2)


def test_chop_keeps_complex_dtype_and_copies():
    array = np.ones((3, 4, 1), dtype=np.complex64) * (1 + 2j)
    window = chop(array, 0, size=4)
    assert window.dtype == np.complex64
    window[:] = 0
    assert array[0, 0, 0] == 1 + 2j


def test_middle_windows():
    assert middle_windows(10, 4) == range(3, 7)
    assert middle_windows(11, 4) == range(3, 7)
    assert middle_windows(10, 0) == range(10)
    assert middle_windows(3, 5) == range(3)
    assert middle_windows(0, 2) == range(0)
    with pytest.raises(ConfigurationError, match="limit_items_per_song=-1"):
        middle_windows(10, -1)


@pytest.mark.parametrize(
    ("size", "step", "message"),
    [(0, 1, "size=0"), (64, 0, "step=0"), (64, 65, r"step=65; expected 1 ≤ step ≤ size=64")],
)
def test_invalid_size_or_step(size, step, message):
    with pytest.raises(ConfigurationError, match=message):
        count_windows(100, size=size, step=step)


def test_negative_frame_count():
    with pytest.raises(ValueError, match="n_frames=-1"):
        count_windows(-1, size=4, step=2)
