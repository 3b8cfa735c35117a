"""Windows along the frames axis: what the model sees of a spectrogram.

Spectrograms in ``dsp`` are ``(channels, bins, frames)``; the model works on
channels-last windows ``(bins, size, channels)``. :func:`to_model_layout` and
:func:`from_model_layout` are the one conversion per direction, with
``np.moveaxis`` (the seed stacked channels with a reshape and scrambled stereo).

Windows start at frame 0 and every ``step`` frames after it; the last window
may run past the end and is zero-padded there, so every frame is covered at
least once and no frame is dropped.
"""

from __future__ import annotations

import numpy as np

from unmix.errors import ConfigurationError

__all__ = [
    "chop",
    "count_windows",
    "from_model_layout",
    "middle_windows",
    "to_model_layout",
    "window_starts",
]


def to_model_layout(spec: np.ndarray) -> np.ndarray:
    """Move channels last: (channels, bins, frames) -> (bins, frames, channels).

    Returns a view; channel 0 (the left channel) stays channel 0.
    """
    spec = np.asarray(spec)
    if spec.ndim != 3:
        raise ValueError(f"Received: array of shape {spec.shape}; expected (channels, bins, frames)")
    return np.moveaxis(spec, 0, -1)


def from_model_layout(array: np.ndarray) -> np.ndarray:
    """Move channels first: (bins, frames, channels) -> (channels, bins, frames).

    Returns a view; the inverse of :func:`to_model_layout`.
    """
    array = np.asarray(array)
    if array.ndim != 3:
        raise ValueError(f"Received: array of shape {array.shape}; expected (bins, frames, channels)")
    return np.moveaxis(array, -1, 0)


def _check(size: int, step: int) -> None:
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ConfigurationError(f"Received: size={size!r}; expected a positive number of frames (e.g. 64)")
    if not isinstance(step, (int, np.integer)) or not 1 <= step <= size:
        raise ConfigurationError(
            f"Received: step={step!r}; expected 1 ≤ step ≤ size={size} so windows leave no gaps"
        )


def count_windows(n_frames: int, *, size: int, step: int) -> int:
    """Number of windows needed to cover ``n_frames`` frames.

    Args:
        n_frames: frames of the spectrogram, >= 0.
        size: window length in frames.
        step: frames between window starts, 1 <= step <= size.

    Returns:
        0 for no frames, else the smallest count whose last window
        ``[(count - 1) * step, (count - 1) * step + size)`` reaches the last frame.

    Raises:
        ConfigurationError: when size or step is out of range.
    """
    _check(size, step)
    if n_frames < 0:
        raise ValueError(f"Received: n_frames={n_frames}; expected an integer ≥ 0")
    if n_frames == 0:
        return 0
    if n_frames <= size:
        return 1
    return 1 + -(-(n_frames - size) // step)


def window_starts(n_frames: int, *, size: int, step: int) -> np.ndarray:
    """First frame of each window: ``0, step, 2 * step, ...``.

    Args:
        n_frames: frames of the spectrogram, >= 0.
        size: window length in frames.
        step: frames between window starts, 1 <= step <= size.

    Returns:
        int64 array of shape (count_windows(...),).

    Raises:
        ConfigurationError: when size or step is out of range.
    """
    return np.arange(count_windows(n_frames, size=size, step=step), dtype=np.int64) * step


def middle_windows(n_windows: int, limit: int) -> range:
    """The ``limit`` windows around a song's middle (training.limit_items_per_song).

    The middle of a song is more likely to hold vocals than its intro or fade.

    Args:
        n_windows: windows of the song.
        limit: how many to keep; 0 keeps all.

    Returns:
        A range of window indices, of length ``min(limit, n_windows)``
        (``n_windows`` when limit is 0).

    Raises:
        ConfigurationError: when ``limit`` is negative.
    """
    if limit < 0:
        raise ConfigurationError(
            f"Received: limit_items_per_song={limit}; expected an integer ≥ 0 (0 keeps every window)"
        )
    if limit == 0 or limit >= n_windows:
        return range(n_windows)
    first = (n_windows - limit) // 2
    return range(first, first + limit)
