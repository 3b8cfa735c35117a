"""Array plumbing of the separator: input checks, channel groups, magnitudes, batches.

Pure NumPy helpers the ``Separator`` runs around its model, kept apart so that the class module
holds only the model-facing logic and these stay testable (and importable) without Keras.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from unmix.errors import AudioError


def check_audio(samples: Any, sample_rate: Any) -> np.ndarray:
    """The input of ``Separator.separate`` as float32 ``(channels, samples)``, checked before any work.

    Args:
        samples: audio ``(channels, samples)``, any numeric dtype; more than two channels need
            at least as many samples.
        sample_rate: its rate in Hz.

    Returns:
        ``samples`` as float32 (no copy when it already is).

    Raises:
        AudioError: for a sample rate that is not a positive integer, an array that is not 2-D
            with at least one channel, more than two channels but fewer samples (soundfile's
            (frames, channels) layout, refused rather than guessed), or NaN/infinite samples
            (``check_finite``'s message, as a streamed file gets it).
    """
    if not isinstance(sample_rate, (int, np.integer)) or isinstance(sample_rate, bool) or sample_rate <= 0:
        raise AudioError(f"received sample_rate={sample_rate!r}; expected a positive integer (Hz)")
    samples = np.asarray(samples)
    if samples.ndim != 2 or samples.shape[0] == 0:
        raise AudioError(f"received audio of shape {samples.shape}; expected (channels, samples) with at least one channel")
    n_channels, n_samples = samples.shape
    # soundfile.read gives (frames, channels): read the other way, 3 s of stereo is 132300
    # channels of 2 samples, each padded to a whole model window (it never finished). Mono and
    # stereo clips shorter than their channel count stay what they say they are.
    if n_channels > max(n_samples, 2):
        raise AudioError(
            f"received audio of shape {samples.shape}, more channels ({n_channels}) than samples ({n_samples}); "
            "expected (channels, samples): pass samples.T for soundfile's (frames, channels)"
        )
    samples = samples.astype(np.float32, copy=False)
    check_finite(samples, first=0, sample_rate=int(sample_rate))
    return samples


def check_finite(block: np.ndarray, *, first: int, sample_rate: int) -> None:
    """Refuse NaN or infinite samples: a separation of them is NaN throughout its block.

    Args:
        block: ``(channels, n)``, whose first sample is sample ``first`` of the song.

    Raises:
        AudioError: naming the first bad sample (index, time, channel, value).
    """
    if np.isfinite(np.sum(block, dtype=np.float64)):  # finite exactly when every sample is, short of an overflow
        return
    bad = ~np.isfinite(block)
    if not bad.any():
        return
    index = int(np.argmax(bad.any(axis=0)))  # the earliest in time, then the lowest channel
    channel = int(np.argmax(bad[:, index]))
    at = first + index
    raise AudioError(
        f"sample {at} ({at / sample_rate:.3f} s, channel {channel}) is {block[channel, index]}: the audio holds "
        f"{int(np.count_nonzero(bad))} NaN or infinite sample(s) in this block; repair or re-export the file"
    )


def channel_groups(n_input: int, n_model: int) -> list[tuple[int, ...]]:
    """Which input channels feed the model's channel slots, one tuple per model run.

    Consecutive channels form a group; the last group is filled up by repeating its channels
    (mono into a stereo model: ``(0, 0)``), and outputs of repeated channels are averaged.
    """
    groups = []
    for first in range(0, n_input, n_model):
        members = list(range(first, min(first + n_model, n_input)))
        groups.append(tuple(members[i % len(members)] for i in range(n_model)))
    return groups


def magnitude_channels_last(spec: np.ndarray, *, chunk: int = 64) -> np.ndarray:
    """``|spec|`` as a ``(channels, bins, frames)`` view of a channels-last ``(bins, frames, channels)`` array.

    Computed ``chunk`` frames at a time, so the transposition stays in the CPU cache (2-3x faster
    than one full-size copy, and far faster than a ufunc writing across memory layouts).
    """
    n_channels, n_bins, n_frames = spec.shape
    out = np.moveaxis(np.empty((n_bins, n_frames, n_channels), dtype=np.float32), -1, 0)
    for start in range(0, n_frames, chunk):
        out[:, :, start : start + chunk] = np.abs(spec[:, :, start : start + chunk])
    return out


def batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    """Batches of ``size`` items; the last two share their items evenly (38 + 38 runs faster than 64 + 12)."""
    n = len(items)
    full = max(0, -(-n // size) - 2) * size  # items in the batches before the last two
    for start in range(0, full, size):
        yield items[start : start + size]
    rest = n - full
    if rest > size:
        yield items[full : full + (rest + 1) // 2]
        full += (rest + 1) // 2
    if full < n:
        yield items[full:]
