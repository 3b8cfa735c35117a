"""Plan model windows over a spectrogram and stitch their outputs back (NumPy only).

Windows of ``size`` frames start every ``step`` frames (see
:func:`unmix.dsp.windows.window_starts`); the last one may run past the end.
Each frame of the result is the taper-weighted mean of the windows covering it
(the effective weights sum to exactly 1 at every frame, including the first and
last): an identity model reconstructs its input exactly. The taper is a Hann blend, or
(``kind`` "middle", Park et al. 2018) a box over each window's middle ``step`` frames, so a
frame comes from the one window it is central in. :class:`Stitcher`
blends windows one by one as a separator's batches arrive. The seed's
Hann overlap-add used a symmetric window (weights summing to about 0.98 with
ripple) and dropped the windows that ran past the end (a fade at the song's
end).
"""

from __future__ import annotations

import numpy as np

from unmix.dsp.windows import window_starts
from unmix.errors import ConfigurationError

__all__ = ["STITCHINGS", "Stitcher", "weights"]

STITCHINGS = ("taper", "middle")
# The weight outside a window's middle: positive (the blend stays defined where no window is
# central, at a song's first and last frames) yet so small that its blending factor against a
# central window rounds to exactly 0 (and the central window's to exactly 1) in float32.
_FAINT = 1e-300


def weights(size: int, step: int, *, kind: str = "taper") -> np.ndarray:
    """Taper applied to each window's output before summing.

    ``taper``: a Hann window shifted by half a frame, ``sin^2(pi * (k + 0.5) / size)``:
    strictly positive (so every frame carries weight and the blend
    of :class:`Stitcher` is defined), low at the window edges where a convolutional
    model sees zero padding, and summing to exactly 1 for ``step = size / 2``.
    With ``step == size`` the windows do not overlap and the taper is all ones.

    ``middle``: 1 over the window's middle ``step`` frames, a negligible positive weight
    elsewhere: the middles of consecutive windows tile the frames, so each frame is the output
    of the window it is central in (Park et al. 2018: windows of 64 frames every 32, frames
    16 to 47 kept), and the song's first and last frames, central in none, the output of the
    only window that covers them.

    Args:
        size: window length in frames.
        step: frames between window starts, 1 <= step <= size.
        kind: "taper" or "middle" (``transformation.stitching``).

    Returns:
        float64 array of shape (size,).

    Raises:
        ConfigurationError: when size or step is out of range, or the kind is unknown.
    """
    window_starts(1, size=size, step=step)  # validates size and step
    if kind not in STITCHINGS:
        raise ConfigurationError(f"transformation.stitching: expected one of {', '.join(STITCHINGS)}; received {kind!r}")
    if step == size:
        return np.ones(size, dtype=np.float64)
    if kind == "middle":
        taper = np.full(size, _FAINT)
        first = (size - step) // 2
        taper[first : first + step] = 1.0
        return taper
    return np.sin(np.pi * (np.arange(size) + 0.5) / size) ** 2


class Stitcher:
    """Incremental overlap-add: add window outputs one by one, read the stitched spectrogram once.

    Holds only the result (not every window), so a separator can stitch each batch of model
    outputs as it arrives. Frame ``f`` keeps the running taper-weighted mean
    ``m += (x - m) * t / (c + t)`` of the windows added so far (``c``: their summed taper at
    ``f``), which is exact where one window covers a frame (the factor is then exactly 1) and
    needs no second pass to divide by the summed weights. Windows added in order of their
    starts take a fast path: the frames no earlier window reached are copied, not blended.

    Args:
        n_bins: height of the windows.
        n_frames: frames of the result.
        n_channels: channels of the windows (last axis).
        taper: (size,) strictly positive weights, e.g. from :func:`weights`.
        dtype: dtype of the result and of the blending arithmetic (float32 for
            magnitudes, complex64 for spectra).

    Raises:
        ValueError: for a taper with weights <= 0.
    """

    def __init__(self, *, n_bins: int, n_frames: int, n_channels: int, taper: np.ndarray, dtype: np.dtype | type = np.float32) -> None:
        taper = np.asarray(taper, dtype=np.float64)
        if taper.ndim != 1 or np.any(taper <= 0):
            raise ValueError("Received: a taper with weights ≤ 0; expected strictly positive weights")
        self.taper = taper
        self.size = taper.shape[0]
        self.n_frames = int(n_frames)
        self.total = np.zeros((n_bins, self.n_frames, n_channels), dtype=dtype)
        self.weight = np.zeros(self.n_frames, dtype=np.float64)
        self._ordered = True  # every window so far started no earlier than the one before
        self._last_start: int | None = None
        self._reach = 0  # end of the frames reached so far (while ordered)
        self._real = np.finfo(self.total.dtype).dtype  # float32 for complex64

    def add(self, window: np.ndarray, start: int) -> None:
        """Blend one window ``(bins, size, channels)`` whose first frame is ``start``."""
        first, last = max(int(start), 0), min(int(start) + self.size, self.n_frames)
        if first >= last:
            return
        part = self.taper[first - start : last - start]
        source = window[:, first - start : last - start, :]
        target = self.total[:, first:last, :]
        if self._last_start is not None and start < self._last_start:
            self._ordered = False  # from now on every window is blended over its whole range
        self._last_start = start
        if self._ordered:
            # Earlier windows started no later, so they reached exactly [first, _reach):
            # blend that part, copy the rest (its factor would be exactly 1).
            n = max(0, min(self._reach, last) - first)
            if n:
                factor = (part[:n] / (self.weight[first : first + n] + part[:n])).astype(self._real)
                blended = target[:, :n]
                blended += (source[:, :n] - blended) * factor[:, np.newaxis]
            target[:, n:] = source[:, n:]
            self._reach = max(self._reach, last)
        else:
            factor = (part / (self.weight[first:last] + part)).astype(self._real)
            target += (source - target) * factor[:, np.newaxis]
        self.weight[first:last] += part

    def result(self, *, covered: tuple[int, int] | None = None) -> np.ndarray:
        """The stitched ``(bins, n_frames, channels)`` array (not a copy).

        Args:
            covered: the frames ``[first, stop)`` the windows must cover (default: all); frames
                outside stay 0 (a block's context, which its caller discards).

        Raises:
            ValueError: when a frame that must be covered is covered by no window.
        """
        first, stop = covered if covered is not None else (0, self.n_frames)
        weight = self.weight[first:stop]
        if np.any(weight <= 0):
            missing = first + int(np.flatnonzero(weight <= 0)[0])
            raise ValueError(
                f"Received: windows that leave frame {missing} of {self.n_frames} uncovered; "
                "plan the starts with unmix.dsp.windows.window_starts(n_frames, size=..., step=...)"
            )
        return self.total
