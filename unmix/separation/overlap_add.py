"""Plan model windows over a spectrogram and stitch their outputs back (NumPy only).

Windows of ``size`` frames start every ``step`` frames (see
:func:`unmix.dsp.windows.window_starts`); the last one may run past the end.
Their outputs are summed with a taper and divided by the summed taper of each
frame, so the effective weights are exactly 1 at every frame, including the
first and last: an identity model reconstructs its input exactly. The seed's
Hann overlap-add used a symmetric window (weights summing to about 0.98 with
ripple) and dropped the windows that ran past the end (a fade at the song's
end).
"""

from __future__ import annotations

import numpy as np

from unmix.dsp.windows import window_starts
from unmix.errors import ConfigurationError

__all__ = ["plan", "stitch", "weights"]


def plan(n_frames: int, *, size: int, step: int) -> np.ndarray:
    """First frame of every window needed to cover ``n_frames`` frames.

    Args:
        n_frames: frames of the spectrogram to separate.
        size: window length in frames (the model's input width).
        step: frames between window starts, 1 <= step <= size
            (``size // 2`` is half-window overlap; ``size`` is none).

    Returns:
        int64 starts ``0, step, 2 * step, ...`` (shape (n_windows,)).

    Raises:
        ConfigurationError: when size or step is out of range.
    """
    return window_starts(n_frames, size=size, step=step)


def weights(size: int, step: int) -> np.ndarray:
    """Taper applied to each window's output before summing.

    A Hann window shifted by half a frame, ``sin^2(pi * (k + 0.5) / size)``:
    strictly positive (so every frame carries weight and the division in
    :func:`stitch` is defined), low at the window edges where a convolutional
    model sees zero padding, and summing to exactly 1 for ``step = size / 2``.
    With ``step == size`` the windows do not overlap and the taper is all ones.

    Args:
        size: window length in frames.
        step: frames between window starts, 1 <= step <= size.

    Returns:
        float64 array of shape (size,).

    Raises:
        ConfigurationError: when size or step is out of range.
    """
    plan(1, size=size, step=step)  # validates size and step
    if step == size:
        return np.ones(size, dtype=np.float64)
    return np.sin(np.pi * (np.arange(size) + 0.5) / size) ** 2


def stitch(
    windows: np.ndarray, starts: np.ndarray, *, n_frames: int, taper: np.ndarray
) -> np.ndarray:
    """Overlap-add window outputs into one channels-last spectrogram.

    Accumulates in float64 (complex128 for complex windows) so that frames
    covered by one window come back bit-exact and overlapped frames to
    float64 precision, then returns the windows' dtype.

    Args:
        windows: model outputs (n_windows, bins, size, channels), real or complex.
        starts: first frame of each window (n_windows,), e.g. from :func:`plan`;
            parts outside ``[0, n_frames)`` are ignored.
        n_frames: frames of the result.
        taper: (size,) positive weights, e.g. from :func:`weights`.

    Returns:
        (bins, n_frames, channels) of the windows' dtype, where each frame is
        the taper-weighted mean of the windows covering it.

    Raises:
        ValueError: when shapes disagree or a frame is covered by no window.
    """
    windows = np.asarray(windows)
    starts = np.asarray(starts, dtype=np.int64)
    taper = np.asarray(taper, dtype=np.float64)
    if windows.ndim != 4 or windows.shape[0] != starts.shape[0] or windows.shape[2] != taper.shape[0]:
        raise ValueError(
            f"Received: windows {windows.shape}, starts {starts.shape}, taper {taper.shape}; "
            "expected (n_windows, bins, size, channels), (n_windows,) and (size,)"
        )
    if np.any(taper <= 0):
        raise ValueError("Received: a taper with weights ≤ 0; expected strictly positive weights")
    _, n_bins, size, n_channels = windows.shape
    accumulator = np.complex128 if np.iscomplexobj(windows) else np.float64
    total = np.zeros((n_bins, n_frames, n_channels), dtype=accumulator)
    weight = np.zeros(n_frames, dtype=np.float64)
    for window, start in zip(windows, starts):
        first, last = max(int(start), 0), min(int(start) + size, n_frames)
        if first >= last:
            continue
        part = taper[first - start : last - start]
        total[:, first:last, :] += window[:, first - start : last - start, :] * part[:, np.newaxis]
        weight[first:last] += part
    if np.any(weight <= 0):
        missing = int(np.flatnonzero(weight <= 0)[0])
        raise ValueError(
            f"Received: windows that leave frame {missing} of {n_frames} uncovered; "
            "plan the starts with plan(n_frames, size=..., step=...)"
        )
    total /= weight[np.newaxis, :, np.newaxis]
    return total.astype(windows.dtype if windows.dtype.kind in "fc" else np.float32)
