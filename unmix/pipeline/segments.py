"""Read exactly the samples a run of STFT frames needs, and transform only those.

Frame ``f`` of a song's (centred) STFT is computed from samples
``[f * hop - n_fft / 2, f * hop + n_fft / 2)``, zero outside the song. Reading the
samples ``[start * hop - pad, (start + n - 1) * hop + pad)`` with ``pad`` the
smallest multiple of ``hop`` that is at least ``n_fft / 2``, zero-padded outside
the song, and transforming that segment gives frames whose centres fall on the same
samples as the song's; frames ``pad / hop ... pad / hop + n - 1`` of the segment then
equal frames ``start ... start + n - 1`` of the whole-song STFT. So a training window
costs one small read and one small STFT, never the whole song.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unmix.data.cache import StemReader
from unmix.dsp.stft import StftOptions, stft


@dataclass(frozen=True)
class Span:
    """The samples behind ``n_frames`` frames starting at ``start_frame``.

    Args:
        start: first sample (may be negative: zeros before the song).
        stop: one past the last sample (may exceed the song: zeros after it).
        first_frame: index, in the segment's STFT, of the frame ``start_frame``.
    """

    start: int
    stop: int
    first_frame: int


def frame_span(start_frame: int, n_frames: int, *, stft_options: StftOptions) -> Span:
    """The sample range whose STFT holds frames ``[start_frame, start_frame + n_frames)``.

    Args:
        start_frame: first frame wanted (may be negative or past the song's end).
        n_frames: number of consecutive frames, >= 1.
        stft_options: the STFT parameters.

    Returns:
        The span; its length is ``(n_frames - 1) * hop + 2 * pad`` samples.
    """
    hop = stft_options.hop_length
    pad_frames = -(-(stft_options.n_fft // 2) // hop)
    pad = pad_frames * hop
    return Span(
        start=int(start_frame) * hop - pad,
        stop=(int(start_frame) + int(n_frames) - 1) * hop + pad,
        first_frame=pad_frames,
    )


def read_span(reader: StemReader, span: Span) -> tuple[np.ndarray, np.ndarray]:
    """Read a span of both stems, zero-padded where it lies outside the song.

    Returns:
        ``(vocals, instrumental)``, float32 (channels, span.stop - span.start).
    """
    n_samples = reader.cached.n_samples
    lo, hi = max(0, span.start), min(n_samples, span.stop)
    length = span.stop - span.start
    out = []
    stems = reader.read(start=lo, stop=hi) if hi > lo else None
    for k in range(2):
        segment = np.zeros((reader.cached.n_channels, length), np.float32)
        if stems is not None:
            segment[:, lo - span.start : hi - span.start] = stems[k]
        out.append(segment)
    return out[0], out[1]


def span_spectrogram(
    segment: np.ndarray, span: Span, *, start_frame: int, n_frames: int, n_song_frames: int, stft_options: StftOptions
) -> np.ndarray:
    """The frames ``[start_frame, start_frame + n_frames)`` of a song, from its span's samples.

    Frames outside the song's ``[0, n_song_frames)`` are zero, as if the whole song's
    spectrogram were zero-padded.

    Args:
        segment: float32 (channels, span length) samples read for ``span``.
        span: from ``frame_span(start_frame, n_frames, ...)``.
        start_frame: first frame.
        n_frames: number of frames.
        n_song_frames: the song's frame count (``unmix.dsp.stft.n_frames``).
        stft_options: the STFT parameters.

    Returns:
        complex64 (channels, bins, n_frames).
    """
    spec = stft(segment, options=stft_options)[:, :, span.first_frame : span.first_frame + n_frames]
    frames = np.arange(start_frame, start_frame + n_frames)
    outside = (frames < 0) | (frames >= n_song_frames)
    if outside.any():
        spec = spec.copy()
        spec[:, :, outside] = 0
    return spec
