"""Overlap-add: weights sum to exactly 1 at every frame; an identity model reconstructs."""

from __future__ import annotations

import numpy as np
import pytest

from unmix.dsp.windows import window_starts
from unmix.errors import ConfigurationError
from unmix.separation.overlap_add import Stitcher, weights
from tests.support.windows import chop, stitch


def _identity_round_trip(array: np.ndarray, *, size: int, step: int) -> np.ndarray:
    starts = window_starts(array.shape[1], size=size, step=step)
    windows = np.stack([chop(array, int(start), size=size) for start in starts])
    return stitch(windows, starts, n_frames=array.shape[1], taper=weights(size, step))


@pytest.mark.parametrize("n_frames", [1, 2, 5, 31, 63, 64, 65, 100, 129, 333])
@pytest.mark.parametrize(("size", "step"), [(1, 1), (4, 4), (16, 5), (64, 64), (64, 32), (64, 16), (64, 48), (64, 63)])
def test_identity_model_reconstructs_exactly(rng, n_frames, size, step):
    array = rng.standard_normal((3, n_frames, 2)).astype(np.float32)  # (bins, frames, channels)
    restored = _identity_round_trip(array, size=size, step=step)
    assert restored.dtype == np.float32 and restored.shape == array.shape
    np.testing.assert_array_equal(restored, array)


def test_identity_reconstructs_complex_windows(rng):
    array = (rng.standard_normal((4, 77, 1)) + 1j * rng.standard_normal((4, 77, 1))).astype(np.complex64)
    restored = _identity_round_trip(array, size=16, step=8)
    assert restored.dtype == np.complex64
    np.testing.assert_allclose(restored, array, rtol=1e-6, atol=1e-7)


def test_constant_windows_give_exactly_one_at_every_frame():
    """A model that outputs all ones: first, last and every frame in between are 1."""
    n_frames, size, step = 150, 64, 32
    starts = window_starts(n_frames, size=size, step=step)
    windows = np.ones((len(starts), 2, size, 2), dtype=np.float32)
    stitched = stitch(windows, starts, n_frames=n_frames, taper=weights(size, step))
    np.testing.assert_array_equal(stitched, 1.0)


def test_last_window_is_not_lost():
    n_frames, size, step = 100, 64, 32  # windows at 0, 32, 64; the last runs past the end
    starts = window_starts(n_frames, size=size, step=step)
    assert list(starts) == [0, 32, 64]
    windows = np.zeros((3, 1, size, 1), dtype=np.float32)
    windows[2] = 5.0  # only the last window carries signal
    stitched = stitch(windows, starts, n_frames=n_frames, taper=weights(size, step))
    assert stitched[0, 96:, 0].tolist() == [5.0] * 4  # frames only the last window covers


def test_half_overlap_taper_sums_to_one():
    taper = weights(64, 32)
    np.testing.assert_allclose(taper[:32] + taper[32:], 1.0, atol=1e-15)
    assert taper.min() > 0 and taper.shape == (64,)
    np.testing.assert_array_equal(weights(64, 64), np.ones(64))


def test_windows_are_blended_by_the_taper():
    starts = np.array([0, 2])
    windows = np.stack([np.zeros((1, 4, 1)), np.ones((1, 4, 1))])
    taper = weights(4, 2)
    stitched = stitch(windows, starts, n_frames=6, taper=taper)
    np.testing.assert_allclose(stitched[0, :, 0], [0, 0, taper[0], taper[1], 1, 1])


@pytest.mark.parametrize(("size", "step", "message"), [(64, 0, "step=0"), (64, 65, "step=65"), (0, 1, "size=0")])
def test_invalid_window_plans(size, step, message):
    with pytest.raises(ConfigurationError, match=message):
        window_starts(100, size=size, step=step)
    with pytest.raises(ConfigurationError, match=message):
        weights(size, step)


def test_stitcher_errors():
    with pytest.raises(ValueError, match="strictly positive"):
        Stitcher(n_bins=1, n_frames=4, n_channels=1, taper=np.zeros(4))
    stitcher = Stitcher(n_bins=1, n_frames=8, n_channels=1, taper=np.ones(4))
    stitcher.add(np.zeros((1, 4, 1)), 0)
    with pytest.raises(ValueError, match="leave frame 4 of 8 uncovered"):
        stitcher.result()


def test_middle_stitching_takes_each_frame_from_the_window_it_is_central_in(rng):
    """Park et al. 2018: windows of 8 every 4 keep frames 2..5; the first and last frames come from the only window there."""
    size, step, n_frames = 8, 4, 21
    starts = window_starts(n_frames, size=size, step=step)
    stitcher = Stitcher(n_bins=1, n_frames=n_frames, n_channels=1, taper=weights(size, step, kind="middle"))
    for k, start in enumerate(starts):
        stitcher.add(np.full((1, size, 1), float(k), np.float32), int(start))
    expected = [0, 0] + [(f - 2) // step for f in range(2, n_frames)]
    expected = [min(k, len(starts) - 1) for k in expected]
    np.testing.assert_array_equal(stitcher.result()[0, :, 0], expected)
    # An identity model still reconstructs its input exactly.
    spec = rng.standard_normal((3, n_frames, 2)).astype(np.float32)
    identity = Stitcher(n_bins=3, n_frames=n_frames, n_channels=2, taper=weights(size, step, kind="middle"))
    padded = np.pad(spec, ((0, 0), (0, size), (0, 0)))
    for start in starts:
        identity.add(padded[:, start : start + size], int(start))
    np.testing.assert_array_equal(identity.result(), spec)


def test_an_unknown_stitching_names_its_key():
    with pytest.raises(ConfigurationError, match=r"transformation\.stitching: expected one of taper, middle; received 'centre'"):
        weights(8, 4, kind="centre")
