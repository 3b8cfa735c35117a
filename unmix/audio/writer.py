"""Writing audio files whole or block by block, atomically (temporary file, then rename)."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np

from unmix.atomic import atomic_path
from unmix.audio import ffmpeg, native
from unmix.errors import AudioError

logger = logging.getLogger(__name__)

WRITABLE_EXTENSIONS = (".wav", ".flac", ".mp3")
# Less free space than this after a failed write: the disk is full (an encoder's block or so).
_FULL_BYTES = 1 << 20


def check_options(path: Path, sample_rate: int | None, n_channels: int | None) -> None:
    if sample_rate is not None and (not isinstance(sample_rate, int) or sample_rate <= 0):
        raise AudioError(f"{path}: received sample_rate={sample_rate!r}; expected a positive integer (Hz)")
    if n_channels is not None and (not isinstance(n_channels, int) or n_channels <= 0):
        raise AudioError(f"{path}: received n_channels={n_channels!r}; expected a positive integer")


def bit_depth_subtypes(extension: str) -> Mapping[int, str]:
    """``{bit depth: subtype}`` a file with this extension can be written with (32 is float).

    Empty for .mp3, which has a bit rate (320 kbit/s) instead of a bit depth.
    """
    entry = native.WRITE_FORMATS.get(extension.lower())
    return entry[2] if entry else MappingProxyType({})


def written_layout(path: str | os.PathLike[str], *, sample_rate: int, n_channels: int) -> tuple[int, int]:
    """The sample rate (Hz) and channel count a file at ``path`` holds of audio with these.

    WAV and FLAC keep both; MP3 has at most two channels and 48 kHz (``ffmpeg.mp3_layout``).
    """
    if Path(path).suffix.lower() == ".mp3":
        return ffmpeg.mp3_layout(sample_rate, n_channels)
    return sample_rate, n_channels


_Backend = native.SoundfileWriter | ffmpeg.Mp3Writer


class AudioWriter:
    """What :func:`open_writer` yields: append `(channels, n)` blocks with :meth:`write`."""

    def __init__(self, backend: _Backend, *, path: Path, n_channels: int, clip: bool) -> None:
        self._backend = backend
        self._path = path
        self._n_channels = n_channels
        self._clip = clip
        #: Samples beyond [-1, 1] that integer PCM had to clip, and the largest magnitude seen.
        self.clipped = 0
        self.peak = 0.0

    def write(self, block: np.ndarray) -> None:
        """Append a block.

        Args:
            block: float `(n_channels, n)`; clipped to [-1, 1] for integer PCM only.

        Raises:
            AudioError: for a block of the wrong shape, or when the encoder fails.
        """
        block = np.asarray(block, dtype=np.float32)
        if block.ndim != 2 or block.shape[0] != self._n_channels:
            raise AudioError(
                f"{self._path}: received a block of shape {block.shape}; expected ({self._n_channels}, samples)"
            )
        if self._clip:
            over = np.abs(block) > 1.0
            if over.any():  # counted, so the file's writer can say so (integer PCM cannot hold them)
                self.clipped += int(np.count_nonzero(over))
                self.peak = max(self.peak, float(np.max(np.abs(block))))
                block = np.clip(block, -1.0, 1.0)
        try:
            self._backend.write(np.ascontiguousarray(block.T))
        except (RuntimeError, OSError) as error:
            raise write_error(self._path, error) from None

    def finish(self) -> None:
        """Complete the file's data before it is closed (libsndfile writes and syncs it, ffmpeg ends its encoding).

        ``streaming.write_stream`` calls it on each stem's thread, so the stems finish at once;
        closing then leaves the header and the rename. Closing without it does the same work.

        Raises:
            AudioError: when the encoder fails.
        """
        try:
            self._backend.finish()
        except (RuntimeError, OSError) as error:
            raise write_error(self._path, error) from None


def _writer_backend(
    path: Path, temporary: Path, *, sample_rate: int, n_channels: int, subtype: str | None
) -> tuple[_Backend, bool]:
    """Pick the encoder for `path`'s extension; also say whether blocks must be clipped (integer PCM)."""
    if path.suffix.lower() == ".mp3":
        if subtype is not None:
            raise AudioError(f"{path}: received subtype={subtype!r}; MP3 takes no subtype (it is 320 kbit/s)")
        return ffmpeg.Mp3Writer(temporary, sample_rate=sample_rate, n_channels=n_channels, target=path), False
    file_format, chosen = native.write_format(path, subtype, writable=WRITABLE_EXTENSIONS)
    options = {"file_format": file_format, "subtype": chosen, "sample_rate": sample_rate, "n_channels": n_channels}
    return native.SoundfileWriter(temporary, **options), chosen.startswith("PCM")


@contextlib.contextmanager
def open_writer(
    path: str | os.PathLike[str], *, sample_rate: int, n_channels: int, subtype: str | None = None
) -> Iterator[AudioWriter]:
    """Open an audio file for block-by-block writing (bounded memory).

    The blocks go to a hidden temporary file beside `path`, renamed onto `path` when
    the context exits normally; on an exception it is deleted, so `path` is either
    complete or untouched. Parent directories are created.

    Args:
        path: target; its extension picks the format: .wav (subtype "FLOAT" default,
            "PCM_16", "PCM_24"), .flac ("PCM_24" default, "PCM_16"), .mp3 (ffmpeg,
            libmp3lame 320 kbit/s, up to 48 kHz and 2 channels: see :func:`written_layout`). :func:`bit_depth_subtypes`
            names the subtype of each bit depth.
        sample_rate: rate in Hz.
        n_channels: channel count of every block.
        subtype: sample format, see above.

    Returns:
        A context manager yielding an :class:`AudioWriter`.

    Raises:
        AudioError: for an unsupported extension or subtype, a missing ffmpeg (.mp3), or
            an encoder failure.
    """
    path = Path(path)
    check_options(path, sample_rate, n_channels)
    in_block = False  # an error of the caller's block goes on as it is
    try:
        with atomic_path(path) as temporary:
            try:
                backend, clip = _writer_backend(
                    path, temporary, sample_rate=sample_rate, n_channels=n_channels, subtype=subtype
                )
            except (RuntimeError, OSError) as error:
                raise AudioError(f"cannot write {path}: {error}") from error
            writer = AudioWriter(backend, path=path, n_channels=n_channels, clip=clip)
            try:
                yield writer
            except BaseException:
                in_block = True
                backend.abort()
                raise
            try:
                backend.close()
            except (OSError, RuntimeError) as error:
                raise write_error(path, error) from None
    except OSError as error:  # the fsync or the rename (atomic_path removed the temporary)
        if in_block:
            raise
        raise write_error(path, error) from None
    if writer.clipped:
        logger.warning(
            "%s: %d samples beyond full scale (peak %.2f) were clipped to fit its integer samples; "
            "write float WAV (--format wav --bit_depth 32) to keep them", path, writer.clipped, writer.peak,
        )  # fmt: skip
    logger.debug("wrote %s", path)


def write_error(path: Path, error: BaseException) -> AudioError:
    """One line for a failed write: a full disk says so (libsndfile only says "System error.")."""
    full = isinstance(error, OSError) and error.errno == errno.ENOSPC
    if not full:
        with contextlib.suppress(OSError):
            full = shutil.disk_usage(path.parent).free < _FULL_BYTES
    if full:
        return AudioError(f"no space left on device while writing {path}: free some space and run again (nothing partial is kept)")
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return AudioError(f"cannot write {path}: {message}")


def save(path: str | os.PathLike[str], samples: np.ndarray, sample_rate: int, *, subtype: str | None = None) -> None:
    """Write a whole signal to a file (atomically, like :func:`open_writer`).

    Args:
        path: target; the extension picks the format (.wav, .flac, .mp3).
        samples: float `(channels, samples)`; clipped to [-1, 1] for integer PCM only.
        sample_rate: rate in Hz.
        subtype: as in :func:`open_writer`.

    Raises:
        AudioError: for a bad shape, extension or subtype, or when the encoder fails.
    """
    samples = np.asarray(samples)
    if samples.ndim != 2:
        raise AudioError(
            f"cannot write {path}: received samples of shape {samples.shape}; expected (channels, samples)"
        )
    with open_writer(path, sample_rate=sample_rate, n_channels=samples.shape[0], subtype=subtype) as writer:
        writer.write(samples)
