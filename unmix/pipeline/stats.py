"""Statistics of |mix| over songs: zmuv's per-bin mean and deviation, and each song's extremes.

The zmuv statistics are computed once before training, stored in the run folder
(``RunFolder.zmuv_stats``) and handed to the ``zmuv`` normaliser at training and inference
time. A song-scope normaliser (``normalizer_scope`` "song") scales every window of a song by
the whole song's mix (:func:`song_references`). The songs are streamed block by block
(frame-exact blocks, see ``unmix.pipeline.segments``), so memory stays flat whatever the
collection's size.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from unmix.data.cache import CachedSong, open_stems
from unmix.dsp.normalizers import ZmuvStats
from unmix.dsp.stft import StftOptions, n_frames
from unmix.dsp.windows import to_model_layout
from unmix.errors import DataError
from unmix.pipeline.segments import frame_span, read_span, span_spectrogram

if TYPE_CHECKING:
    from unmix.pipeline.representations.base import Representation

logger = logging.getLogger(__name__)

# Frames per block: about 3 MB of stereo complex spectrum at 769 bins.
BLOCK_FRAMES = 256


def song_frame_range(song: CachedSong, *, stft: StftOptions, max_seconds: float) -> range:
    """The frames of a song that count: all, or ``max_seconds`` around its middle.

    Args:
        song: the cached song.
        stft: the STFT parameters.
        max_seconds: at most this many seconds per song (0 or less: the whole song).

    Returns:
        A range of frame indices.
    """
    total = n_frames(song.n_samples, options=stft)
    if max_seconds <= 0:
        return range(total)
    limit = max(1, int(max_seconds * song.sample_rate / stft.hop_length))
    first = max(0, (total - limit) // 2)
    return range(first, min(total, first + limit))


def mix_magnitudes(
    songs: Sequence[CachedSong], *, stft: StftOptions, n_channels: int, max_seconds_per_song: float = 60, mix_gain: float = 1.0
) -> Iterator[np.ndarray]:
    """Yield |mix| blocks (bins, frames, channels) of every song, a block at a time; the mix is
    ``mix_gain * (vocals + instrumental)`` (``unmix.data.songs.MIXTURE_GAINS``).

    Raises:
        DataError: a song's channel count is not ``n_channels``.
    """
    for song in songs:
        if song.n_channels != n_channels:
            raise DataError(
                f"song {song.song_id!r}: cached with {song.n_channels} channels, expected {n_channels}; "
                f"prepare the collection again"
            )
        frames = song_frame_range(song, stft=stft, max_seconds=max_seconds_per_song)
        total = n_frames(song.n_samples, options=stft)
        with open_stems(song) as reader:
            for start in range(frames.start, frames.stop, BLOCK_FRAMES):
                count = min(BLOCK_FRAMES, frames.stop - start)
                span = frame_span(start, count, stft_options=stft)
                vocals, instrumental = read_span(reader, span)
                spec = span_spectrogram(
                    mix_gain * (vocals + instrumental), span, start_frame=start, n_frames=count, n_song_frames=total,
                    stft_options=stft,
                )
                yield to_model_layout(np.abs(spec)).astype(np.float32, copy=False)


def song_references(
    songs: Sequence[CachedSong], *, representation: Representation, stft: StftOptions, mix_gain: float = 1.0
) -> tuple[np.ndarray | None, ...]:
    """Each song's ``representation.song_reference`` of its whole mix; None for each in window scope.

    Raises:
        DataError: a song's cache cannot be read.
    """
    if not representation.song_scope:
        return (None,) * len(songs)
    references = []
    for song in songs:
        blocks = mix_magnitudes([song], stft=stft, n_channels=song.n_channels, max_seconds_per_song=0, mix_gain=mix_gain)
        references.append(representation.song_reference(np.array([(block.min(), block.max()) for block in blocks])))
    return tuple(references)


def compute_zmuv_stats(
    songs: Sequence[CachedSong], *, stft: StftOptions, n_channels: int, max_seconds_per_song: float = 60, mix_gain: float = 1.0
) -> ZmuvStats:
    """Per-bin mean and standard deviation of |mix| over the training songs.

    Args:
        songs: the cached training songs.
        stft: the STFT parameters of the transformation.
        n_channels: the collection's channel count (1 or 2).
        max_seconds_per_song: use at most this many seconds around each song's
            middle (0: whole songs); bounds the time on large collections.
        mix_gain: the mixture's factor of ``vocals + instrumental`` (``collection.mixture``).

    Returns:
        The statistics, mean and std of shape (bins,), over frames and channels.

    Raises:
        DataError: no songs, or a song with another channel count.
    """
    if not songs:
        raise DataError("no training songs to compute zmuv statistics from")
    logger.info("computing zmuv statistics over %d songs", len(songs))
    return ZmuvStats.accumulate(
        mix_magnitudes(songs, stft=stft, n_channels=n_channels, max_seconds_per_song=max_seconds_per_song, mix_gain=mix_gain)
    )
