"""Audio I/O for unmix: the only code that touches soundfile, soxr, ffmpeg and ffprobe.

WAV, FLAC, OGG, MP3 and AIFF decode through libsndfile; every other supported
extension (m4a, aac, mp4, webm, opus, each stream of a ``.stem.mp4``) through the
ffmpeg binary. Resampling (soxr, "HQ") and channel changes happen only when asked.
Audio is float32 `(channels, samples)` everywhere. Writers never leave half-written
files (see :func:`open_writer`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unmix.audio import ffmpeg, native
from unmix.audio.resample import change_channels, reblock, resample, resample_blocks
from unmix.audio.writer import WRITABLE_EXTENSIONS, AudioWriter, check_options, open_writer, save, written_layout
from unmix.errors import AudioError

__all__ = [
    "SUPPORTED_EXTENSIONS", "AudioInfo", "AudioWriter", "info", "is_audio_file", "load", "open_writer",
    "read_blocks", "save", "written_layout",
]  # fmt: skip

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS = frozenset(native.EXTENSIONS | {".m4a", ".aac", ".mp4", ".webm", ".opus"})


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, without decoding it.

    For ffmpeg formats `n_samples` is estimated from the container's duration and
    can differ from the decoded length by the encoder's padding (a few hundred samples).
    """

    sample_rate: int
    n_channels: int
    n_samples: int
    duration_s: float
    n_streams: int
    #: What the file's header declares, when that is known (WAV's data chunk, MP3's Xing
    #: header, FLAC's STREAMINFO): a decode that ends well short of it means a truncated file.
    declared_samples: int | None = None


def is_audio_file(path: str | os.PathLike[str]) -> bool:
    """Whether `path` has an extension this module decodes (case-insensitive; the file is not opened)."""
    return Path(path).suffix.lower() in SUPPORTED_EXTENSIONS


def _readable(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not path.exists():
        raise AudioError(f"audio file {path} does not exist; check the path")
    if not path.is_file():
        raise AudioError(f"audio file {path} is not a regular file; expected an audio file, not a directory")
    if path.stat().st_size == 0:
        raise AudioError(f"audio file {path} is empty (0 bytes); re-download or re-export it")
    if not os.access(path, os.R_OK):
        raise AudioError(f"audio file {path} is not readable; check its permissions")
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        known = " ".join(sorted(SUPPORTED_EXTENSIONS))
        raise AudioError(
            f"audio file {path} has the unsupported extension '{path.suffix}'; expected one of {known}"
        )
    return path


def _describe(path: Path, stream: int | None) -> tuple[AudioInfo, ffmpeg.Stream | None, int]:
    """Probe once: the file's info, plus the ffmpeg stream and its index (None for soundfile formats)."""
    if native.handles(path):
        if stream not in (None, 0):
            raise AudioError(f"{path} holds a single audio stream; received stream={stream}, expected 0 or None")
        rate, channels, length = native.info(path)
        if length != native.UNKNOWN_LENGTH:
            declared = native.wav_declared_frames(path) if path.suffix.lower() == ".wav" else length
            return AudioInfo(rate, channels, length, length / rate, 1, declared), None, 0
    streams = ffmpeg.probe(path)  # and a native format whose header declares no length (native.UNKNOWN_LENGTH)
    index = stream or 0
    if not 0 <= index < len(streams):
        raise AudioError(
            f"{path} has {len(streams)} audio stream(s); received stream={stream}, expected 0..{len(streams) - 1}"
        )
    chosen = streams[index]
    duration_s = chosen.n_samples / chosen.sample_rate
    return AudioInfo(chosen.sample_rate, chosen.n_channels, chosen.n_samples, duration_s, len(streams)), chosen, index


def info(path: str | os.PathLike[str], *, stream: int | None = None) -> AudioInfo:
    """Describe an audio file: rate, channels, length and number of audio streams.

    Args:
        path: the file.
        stream: which audio stream to describe (ffmpeg formats); default the first.

    Returns:
        An :class:`AudioInfo`; `n_streams` counts audio streams only (5 for a
        ``.stem.mp4``; cover art is not counted).

    Raises:
        AudioError: when the file is missing, empty, unreadable or corrupt, or ffprobe is missing.
    """
    return _describe(_readable(path), stream)[0]


def load(
    path: str | os.PathLike[str],
    *,
    sample_rate: int | None = None,
    n_channels: int | None = None,
    offset_s: float = 0.0,
    duration_s: float | None = None,
    stream: int | None = None,
) -> tuple[np.ndarray, int]:
    """Decode an audio file, optionally resampled, re-channelled and cut.

    Args:
        path: the file (any of `SUPPORTED_EXTENSIONS`).
        sample_rate: wanted rate in Hz; None keeps the file's.
        n_channels: wanted channel count; None keeps the file's. 1 is the mean of all
            channels, mono to N duplicates, 5.1 to 2 is ffmpeg's default downmix (see
            :func:`unmix.audio.resample.change_channels`).
        offset_s: where to start, in seconds of the file.
        duration_s: how many seconds to read; None reads to the end.
        stream: audio stream index for multi-stream files (``.stem.mp4``: 0 mixture,
            1 drums, 2 bass, 3 other, 4 vocals); only 0/None for soundfile formats.

    Returns:
        float32 `(channels, samples)` and its sample rate in Hz.

    Raises:
        AudioError: missing, empty, unreadable or corrupt file, a missing ffmpeg, a bad
            option or stream index.
    """
    path = _readable(path)
    check_options(path, sample_rate, n_channels)
    if offset_s < 0 or (duration_s is not None and duration_s < 0):
        raise AudioError(f"{path}: received offset_s={offset_s}, duration_s={duration_s}; expected values >= 0")
    details, ffmpeg_stream, index = _describe(path, stream)
    rate = details.sample_rate
    start, count = round(offset_s * rate), None if duration_s is None else round(duration_s * rate)
    if ffmpeg_stream is None:
        samples, rate = native.read(path, start=start, n_samples=count)
    else:
        samples = ffmpeg.decode(path, stream=index, info=ffmpeg_stream, start=start, n_samples=count)
    if n_channels is not None:
        samples = change_channels(samples, n_channels=n_channels, source=str(path))
    if sample_rate is not None and sample_rate != rate:
        samples, rate = resample(samples, from_rate=rate, to_rate=sample_rate), sample_rate
    return samples, rate


def read_blocks(
    path: str | os.PathLike[str],
    *,
    sample_rate: int | None,
    n_channels: int | None,
    block_samples: int,
    stream: int | None = None,
) -> Iterator[np.ndarray]:
    """Decode a file as consecutive blocks, never holding the whole file.

    The concatenated blocks equal :func:`load` with the same options (to ~1e-4 when
    resampling, because the streaming and whole-signal soxr runs round differently).
    The file is checked and probed when this is called, so errors surface at once.

    Args:
        path: the file.
        sample_rate: rate of the blocks in Hz; None keeps the file's.
        n_channels: channels of the blocks; None keeps the file's.
        block_samples: samples per block (at `sample_rate`); every block has exactly
            this many but the last, which has 1..block_samples.
        stream: audio stream index, as in :func:`load`.

    Returns:
        An iterator of float32 `(channels, block_samples)` blocks.

    Raises:
        AudioError: as :func:`load`, and for block_samples < 1.
    """
    path = _readable(path)
    check_options(path, sample_rate, n_channels)
    if not isinstance(block_samples, int) or block_samples < 1:
        raise AudioError(f"{path}: received block_samples={block_samples!r}; expected a positive integer")
    details, ffmpeg_stream, index = _describe(path, stream)
    rate, channels = details.sample_rate, details.n_channels
    if ffmpeg_stream is None:
        source = native.blocks(path, block_samples=block_samples)
    else:
        source = ffmpeg.decode_blocks(path, stream=index, info=ffmpeg_stream, block_samples=block_samples)
    target_channels = n_channels or channels
    change_channels(np.zeros((channels, 0), np.float32), n_channels=target_channels, source=str(path))  # fail now
    if target_channels != channels:
        source = (change_channels(block, n_channels=target_channels, source=str(path)) for block in source)
    if sample_rate is not None:
        source = resample_blocks(source, from_rate=rate, to_rate=sample_rate, n_channels=target_channels)
    return reblock(source, block_samples=block_samples, n_channels=target_channels)
