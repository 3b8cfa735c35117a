"""Sample-rate and channel-count changes, whole or block by block.

Both are done only when the caller asks for them. Resampling goes through soxr at
"HQ" quality; the streaming resampler is the same engine, so the concatenation of
:func:`resample_blocks` equals :func:`resample` of the whole signal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import soxr

from unmix.errors import AudioError

QUALITY = "HQ"

# 5.1 in the WAV / ffmpeg channel order FL FR FC LFE BL BR, folded like ffmpeg's
# default downmix (centre and surrounds at -3 dB, LFE dropped), then scaled so the
# gains of each output sum to 1 and a full-scale input cannot clip.
_MINUS_3DB = float(np.sqrt(0.5))
_DOWNMIX_5_1 = np.array(
    [
        [1.0, 0.0, _MINUS_3DB, 0.0, _MINUS_3DB, 0.0],
        [0.0, 1.0, _MINUS_3DB, 0.0, 0.0, _MINUS_3DB],
    ],
    dtype=np.float32,
) / np.float32(1.0 + 2.0 * _MINUS_3DB)
_DOWNMIX_5_1.setflags(write=False)


def resample(samples: np.ndarray, *, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample a whole signal with soxr.

    Args:
        samples: float32 `(channels, samples)`.
        from_rate: rate of `samples` in Hz.
        to_rate: wanted rate in Hz.

    Returns:
        float32 `(channels, round-up(samples * to_rate / from_rate))`; `samples`
        itself when the rates are equal.
    """
    if from_rate == to_rate:
        return samples
    if samples.shape[1] == 0:
        return np.zeros((samples.shape[0], 0), dtype=np.float32)
    frames = np.ascontiguousarray(samples.T, dtype=np.float32)
    out = soxr.resample(frames, from_rate, to_rate, quality=QUALITY)
    return np.ascontiguousarray(out.T, dtype=np.float32)


def resample_blocks(
    blocks: Iterable[np.ndarray], *, from_rate: int, to_rate: int, n_channels: int
) -> Iterator[np.ndarray]:
    """Resample a stream of blocks with one soxr stream, so no block edge is audible.

    Args:
        blocks: float32 `(n_channels, n)` blocks, consecutive in time.
        from_rate: rate of the blocks in Hz.
        to_rate: wanted rate in Hz.
        n_channels: channel count of every block.

    Returns:
        An iterator of float32 `(n_channels, m)` blocks (m may be 0 for some).
    """
    if from_rate == to_rate:
        yield from blocks
        return
    stream = soxr.ResampleStream(from_rate, to_rate, n_channels, dtype="float32", quality=QUALITY)
    for block in blocks:
        out = stream.resample_chunk(np.ascontiguousarray(block.T, dtype=np.float32), last=False)
        yield np.ascontiguousarray(out.T)
    tail = stream.resample_chunk(np.zeros((0, n_channels), dtype=np.float32), last=True)
    yield np.ascontiguousarray(tail.T)


def reblock(blocks: Iterable[np.ndarray], *, block_samples: int, n_channels: int) -> Iterator[np.ndarray]:
    """Regroup blocks of any length into blocks of exactly `block_samples` (the last may be shorter).

    Args:
        blocks: float32 `(n_channels, n)` blocks.
        block_samples: wanted length of each output block, > 0.
        n_channels: channel count of every block.

    Returns:
        An iterator of float32 `(n_channels, block_samples)` blocks; the last is shorter
        when the total is not a multiple, and no block is empty.
    """
    pending: list[np.ndarray] = []
    pending_length = 0
    for block in blocks:
        if block.shape[1] == 0:
            continue
        pending.append(block)
        pending_length += block.shape[1]
        if pending_length < block_samples:
            continue
        joined = np.concatenate(pending, axis=1)
        n_full = joined.shape[1] // block_samples
        for k in range(n_full):
            yield np.ascontiguousarray(joined[:, k * block_samples : (k + 1) * block_samples])
        rest = joined[:, n_full * block_samples :]
        pending = [rest] if rest.shape[1] else []
        pending_length = rest.shape[1]
    if pending_length:
        yield np.ascontiguousarray(np.concatenate(pending, axis=1), dtype=np.float32)


def change_channels(samples: np.ndarray, *, n_channels: int, source: str = "audio") -> np.ndarray:
    """Convert a signal to `n_channels` channels.

    Rules: equal counts are returned unchanged; anything to 1 is the mean of all
    channels; 1 to N duplicates the channel; 6 (5.1, order FL FR FC LFE BL BR) to 2
    follows ffmpeg's default downmix (centre and surrounds at -3 dB, LFE dropped,
    normalised so it cannot clip); any other count above 2 to 2 averages the
    even-numbered channels into the left and the odd-numbered into the right.

    Args:
        samples: float32 `(channels, samples)`.
        n_channels: wanted channel count, > 0.
        source: name of the file, for the error message.

    Returns:
        float32 `(n_channels, samples)`.

    Raises:
        AudioError: for a conversion none of the rules covers (e.g. 3 to 4 channels).
    """
    have = samples.shape[0]
    if n_channels == have:
        return samples
    if n_channels == 1:
        return samples.mean(axis=0, keepdims=True, dtype=np.float32)
    if have == 1:
        return np.ascontiguousarray(np.repeat(samples, n_channels, axis=0))
    if n_channels == 2 and have == 6:
        return (_DOWNMIX_5_1 @ samples).astype(np.float32, copy=False)
    if n_channels == 2 and have > 2:
        left = samples[0::2].mean(axis=0, dtype=np.float32)
        right = samples[1::2].mean(axis=0, dtype=np.float32)
        return np.stack([left, right])
    raise AudioError(
        f"{source}: cannot convert {have} channels to {n_channels}; ask for 1, 2 or the file's own channel count"
    )
