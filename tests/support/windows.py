"""Reference window operations on whole arrays, for checking the streaming code against.

The product never cuts a whole-song spectrogram into windows or stitches all windows at once
(it streams them through ``overlap_add.Stitcher``), so these exist only here.
"""

from __future__ import annotations

import numpy as np

from unmix.separation.overlap_add import Stitcher


def chop(array: np.ndarray, start: int, *, size: int) -> np.ndarray:
    """The frames ``[start, start + size)`` of a channels-last ``(bins, frames, channels)`` array, zero outside it."""
    window = np.zeros((array.shape[0], size, array.shape[2]), dtype=array.dtype)
    first, last = max(start, 0), min(start + size, array.shape[1])
    if first < last:
        window[:, first - start : last - start, :] = array[:, first:last, :]
    return window


def stitch(windows: np.ndarray, starts: np.ndarray, *, n_frames: int, taper: np.ndarray) -> np.ndarray:
    """Overlap-add all ``(n_windows, bins, size, channels)`` windows at once, in the order of their starts."""
    windows = np.asarray(windows)
    dtype = windows.dtype if windows.dtype.kind in "fc" else np.float32
    stitcher = Stitcher(n_bins=windows.shape[1], n_frames=n_frames, n_channels=windows.shape[3], taper=taper, dtype=dtype)
    for index in np.argsort(np.asarray(starts), kind="stable"):
        stitcher.add(windows[index], int(starts[index]))
    return stitcher.result()
