"""WAV, FLAC, OGG, MP3 and AIFF through libsndfile (soundfile).

These formats decode in-process and seek exactly, so they never need ffmpeg.
Every libsndfile failure becomes an :class:`AudioError` naming the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import numpy as np
import soundfile

from unmix.audio.decoder_noise import Capture, muted
from unmix.errors import AudioError

EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif"})
# libsndfile's frame count of a file whose header declares no length (SF_COUNT_MAX): a FLAC that
# ffmpeg wrote to a pipe, or with no samples at all. libsndfile fails at its end ("Internal
# psf_fseek() failed"), so such a file is decoded with ffmpeg (``unmix.audio._describe``).
UNKNOWN_LENGTH = 2**63 - 1

# What save() and open_writer() write through libsndfile: extension -> (format, default subtype,
# {bit depth: subtype}). 32 bits is float, which FLAC cannot hold (its samples are integers).
WRITE_FORMATS = MappingProxyType({
    ".wav": ("WAV", "FLOAT", MappingProxyType({16: "PCM_16", 24: "PCM_24", 32: "FLOAT"})),
    ".flac": ("FLAC", "PCM_24", MappingProxyType({16: "PCM_16", 24: "PCM_24"})),
})


def handles(path: Path) -> bool:
    """Whether `path` is decoded here (MP3 only if this libsndfile can read MP3)."""
    extension = path.suffix.lower()
    if extension == ".mp3":
        return "MP3" in soundfile.available_formats()
    return extension in EXTENSIONS


def write_format(path: Path, subtype: str | None, *, writable: tuple[str, ...]) -> tuple[str, str]:
    """Return libsndfile's `(format, subtype)` for writing `path`.

    Raises:
        AudioError: for an extension libsndfile does not write here, or a subtype it does not allow.
    """
    extension = path.suffix.lower()
    if extension not in WRITE_FORMATS:
        raise AudioError(
            f"cannot write {path}: extension '{path.suffix}' is not supported; use one of {', '.join(writable)}"
        )
    file_format, default, by_bit_depth = WRITE_FORMATS[extension]
    allowed = sorted(by_bit_depth.values())
    chosen = (subtype or default).upper()
    if chosen not in allowed:
        raise AudioError(f"{path}: received subtype={subtype!r}; expected one of {', '.join(allowed)} for {extension}")
    return file_format, chosen


def _fail(path: Path, error: Exception) -> AudioError:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    if "does not exist" in reason and Path(path).is_file():
        # libsndfile says "File does not exist or is not a regular file" for any file it cannot
        # open, a corrupt MP3 included: that would send the user looking for a missing file.
        reason = "libsndfile cannot decode it"
    return AudioError(f"could not read {path}: {reason}; the file is corrupt, truncated or not audio")


def wav_declared_frames(path: Path) -> int | None:
    """The frame count a WAV file's ``data`` chunk header declares (libsndfile reports what is there).

    A file cut short still declares its full length, so the two differ exactly when it was
    truncated. None for anything that is not a readable RIFF/WAVE header.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            block_align = None
            while True:
                chunk = handle.read(8)
                if len(chunk) < 8:
                    return None
                kind, size = chunk[:4], int.from_bytes(chunk[4:], "little")
                if kind == b"fmt ":
                    fmt = handle.read(size)
                    block_align = int.from_bytes(fmt[12:14], "little") if len(fmt) >= 14 else None
                    size = 0
                elif kind == b"data":
                    return size // block_align if block_align else None
                handle.seek(size + (size & 1), 1)
    except OSError:
        return None


def info(path: Path) -> tuple[int, int, int]:
    """Return `(sample_rate, n_channels, n_samples)` of a soundfile-readable file.

    Raises:
        AudioError: when libsndfile cannot open the file.
    """
    try:
        with muted(Capture(Path(path))):
            details = soundfile.info(str(path))
    except (RuntimeError, OSError, soundfile.SoundFileError) as error:
        raise _fail(path, error) from error
    return int(details.samplerate), int(details.channels), int(details.frames)


def read(path: Path, *, start: int, n_samples: int | None) -> tuple[np.ndarray, int]:
    """Decode part of a file at its own rate.

    Args:
        path: the file.
        start: first sample to read (at the file's rate), >= 0.
        n_samples: how many samples to read; None reads to the end.

    Returns:
        float32 `(channels, samples)` and the file's sample rate in Hz.

    Raises:
        AudioError: when libsndfile cannot decode the file.
    """
    capture = Capture(Path(path))
    try:
        with muted(capture), soundfile.SoundFile(str(path)) as audio:
            if start:
                audio.seek(min(start, audio.frames))
            frames = audio.read(-1 if n_samples is None else n_samples, dtype="float32", always_2d=True)
            rate = int(audio.samplerate)
    except (RuntimeError, OSError, soundfile.SoundFileError) as error:
        raise _fail(path, error) from error
    capture.warn_once()
    return np.ascontiguousarray(frames.T), rate


def blocks(path: Path, *, block_samples: int) -> Iterator[np.ndarray]:
    """Decode a file block by block, holding one block at a time.

    Args:
        path: the file.
        block_samples: samples per block at the file's own rate.

    Returns:
        An iterator of float32 `(channels, n)` blocks.

    Raises:
        AudioError: when libsndfile cannot decode the file (raised on iteration).
    """
    capture = Capture(Path(path))
    try:
        with muted(capture):
            audio = soundfile.SoundFile(str(path))
        with audio:
            while True:
                with muted(capture):
                    frames = audio.read(block_samples, dtype="float32", always_2d=True)
                capture.warn_once()
                if frames.shape[0] == 0:
                    return
                yield np.ascontiguousarray(frames.T)
    except (RuntimeError, OSError, soundfile.SoundFileError) as error:
        raise _fail(path, error) from error


class SoundfileWriter:
    """Writes WAV or FLAC blocks through one open libsndfile handle."""

    def __init__(self, path: Path, *, file_format: str, subtype: str, sample_rate: int, n_channels: int) -> None:
        self._file = soundfile.SoundFile(
            str(path), "w", samplerate=sample_rate, channels=n_channels, subtype=subtype, format=file_format
        )

    def write(self, frames: np.ndarray) -> None:
        """Append float32 `(samples, channels)` frames (already validated and clipped)."""
        self._file.write(frames)

    def finish(self) -> None:
        """Write out what libsndfile buffers and sync it to the disk, so that the close after it has little left."""
        self._file.flush()

    def close(self) -> None:
        """Finish the file (writes the header's final length)."""
        self._file.close()

    def abort(self) -> None:
        """Close without caring whether the file is complete; the caller deletes it."""
        self._file.close()
