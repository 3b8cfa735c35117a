"""The preparation cache: one h5 file of decoded, resampled stems per song.

Decoding mp4/mp3 every epoch is too slow, so each song's vocals and instrumental
are stored once as float32 ``(channels, samples)`` h5 datasets, chunked along
the samples so that a training window reads only the chunks it touches.

A file is trusted only when its ``complete`` attribute is set and its ``key``
(a hash of the source files' paths, sizes and modification times, the sample
rate, the channel count and ``CACHE_FORMAT_VERSION``) matches: a file is
written through ``unmix.atomic`` under a temporary name of its own process
(``.partial-<pid>-<random>-<name>``) and renamed into place when whole, so a
killed run leaves at most a temporary that is never read, and two processes writing the same song never share one
(they did: HDF5 refused the second lock, and the first rename took the other's
file away). Handles are opened per read and always closed (the seed leaked them).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from unmix.atomic import atomic_path, glob_escape, is_no_space, no_space_message, process_alive, temporaries_of, writer_pid
from unmix.data.disk import discard_partial_h5, ensure_space, h5_size
from unmix.data.songs import Song
from unmix.errors import DataError

logger = logging.getLogger(__name__)

# Bump when the file layout or the decoding changes, so old caches are rebuilt.
CACHE_FORMAT_VERSION = 1
# 16384 samples: 128 KiB per stereo chunk, 1.5 s at 11025 Hz. A 64-frame window
# (24576 samples at hop 384) touches 2-3 chunks, so little more than the window is
# read; larger chunks over-read, smaller ones add per-chunk overhead (benchmarks/cache.py).
CHUNK_SAMPLES = 16384
STEMS = ("vocals", "instrumental")
# A temporary file untouched this long belongs to a killed process: removed when its song is rebuilt.
STALE_TEMPORARY_S = 3600.0


@dataclass(frozen=True)
class CachedSong:
    """A song whose stems are ready in the cache.

    Args:
        song_id: The song's id in its collection.
        path: The h5 file.
        n_samples: Length of each stem in samples.
        sample_rate: Sample rate in Hz.
        n_channels: Channel count.
    """

    song_id: str
    path: Path
    n_samples: int
    sample_rate: int
    n_channels: int


def cache_path(cache_dir: Path, song_id: str) -> Path:
    """The cache file of a song: a readable slug plus a hash of the id (unique, any id)."""
    digest = hashlib.sha1(song_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", song_id).strip("-")[:60] or "song"
    return Path(cache_dir) / f"{slug}-{digest}.h5"


def cache_key(song: Song, *, sample_rate: int, n_channels: int) -> str:
    """What a song's cache depends on, as a hex digest.

    Raises:
        DataError: A source file is missing (names the song id and the file).
    """
    entries = []
    for role, sources in (("vocals", song.vocals), ("instrumental", song.instrumental)):
        for source in sources:
            try:
                stat = os.stat(source.path)
            except OSError as error:
                raise DataError(f"song {song.id!r}: cannot read {source.path}: {error.strerror}") from error
            entries.append([role, str(source.path), source.stream, source.channel, stat.st_size, stat.st_mtime_ns])
    payload = json.dumps([entries, int(sample_rate), int(n_channels), CACHE_FORMAT_VERSION])
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def open_cached(path: Path, *, key: str) -> CachedSong | None:
    """The cached song at ``path`` if the file is complete and matches ``key``, else ``None``.

    Anything unreadable (missing, truncated, foreign) counts as stale: the
    caller rebuilds it.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as file:
            attrs = file.attrs
            if not bool(attrs.get("complete", False)) or attrs.get("key") != key:
                return None
            n_samples = int(attrs["n_samples"])
            n_channels = int(attrs["n_channels"])
            if any(file[stem].shape != (n_channels, n_samples) for stem in STEMS):
                return None
            return CachedSong(
                song_id=str(attrs["song_id"]),
                path=path,
                n_samples=n_samples,
                sample_rate=int(attrs["sample_rate"]),
                n_channels=n_channels,
            )
    except (OSError, KeyError, ValueError, TypeError):
        return None


def write_cached(
    path: Path,
    *,
    song: Song,
    key: str,
    vocals: np.ndarray,
    instrumental: np.ndarray,
    sample_rate: int,
) -> CachedSong:
    """Write a song's stems atomically: a temporary of this process first, then a rename.

    Args:
        path: The final cache file (from ``cache_path``).
        song: The song (its id, layout and sources go into the attributes).
        key: From ``cache_key``.
        vocals: float32 ``(channels, samples)``.
        instrumental: float32, same shape as ``vocals``.
        sample_rate: Sample rate of both, in Hz.

    Returns:
        The record of the written file.

    Raises:
        DataError: The stems' shapes differ or are empty, or the disk is full
            (the message names the file; nothing partial is left).
    """
    path = Path(path)
    if vocals.shape != instrumental.shape or vocals.ndim != 2 or vocals.shape[1] == 0:
        raise DataError(
            f"song {song.id!r}: cannot cache stems of shapes {vocals.shape} and {instrumental.shape}; "
            f"expected two equal, non-empty (channels, samples) arrays"
        )
    n_channels, n_samples = vocals.shape
    sources = {
        role: [{"path": str(s.path), "stream": s.stream, "channel": s.channel} for s in stems]
        for role, stems in (("vocals", song.vocals), ("instrumental", song.instrumental))
    }
    try:
        with atomic_path(path, discard=discard_partial_h5) as temporary, _stems_file(temporary, size=2 * 4 * vocals.size) as file:
            for name, data in (("vocals", vocals), ("instrumental", instrumental)):
                file.create_dataset(
                    name, data=np.asarray(data, dtype=np.float32), chunks=(n_channels, min(CHUNK_SAMPLES, n_samples))
                )
            file.attrs.update(
                {
                    "song_id": song.id,
                    "name": song.name,
                    "layout": song.layout,
                    "sources": json.dumps(sources),
                    "sample_rate": int(sample_rate),
                    "n_channels": int(n_channels),
                    "n_samples": int(n_samples),
                    "format_version": CACHE_FORMAT_VERSION,
                    "key": key,
                }
            )
            # Set last: only a file whose data is fully written ever carries it.
            file.attrs["complete"] = True
    except OSError as error:
        if is_no_space(error):  # atomic_path has named the cache file
            raise DataError(no_space_message(path, then="prepare the collection again")) from error
        raise
    return CachedSong(
        song_id=song.id, path=path, n_samples=int(n_samples), sample_rate=int(sample_rate), n_channels=int(n_channels)
    )


@contextlib.contextmanager
def _stems_file(temporary: Path, *, size: int) -> Iterator[h5py.File]:
    """The temporary h5 file of a song, opened for writing once ``size`` bytes of stems fit (see ``unmix.data.disk``)."""
    ensure_space(temporary, h5_size(size, n_datasets=2))
    with h5py.File(temporary, "w") as file:
        yield file


def remove_stale_temporaries(path: Path, *, exclusive: bool, older_than_s: float = STALE_TEMPORARY_S) -> None:
    """Delete the temporaries of ``path`` that killed processes left behind.

    A live writer touches its temporary continuously, so one untouched for
    ``older_than_s`` is abandoned. While the caller holds the song's lock
    (``exclusive``), no other writer of the song should exist: a temporary whose
    process (the pid in its name) no longer runs here is abandoned too, and so is
    the single ``<name>.tmp`` of earlier versions.
    """
    limit = time.time() - older_than_s
    candidates = temporaries_of(path)
    candidates += list(path.parent.glob(f"{glob_escape(path.name)}.*.tmp"))  # earlier versions' names
    candidates.append(path.with_name(path.name + ".tmp"))
    for temporary in candidates:
        with contextlib.suppress(OSError):  # also: already gone
            if temporary.stat().st_mtime < limit or (exclusive and not _writer_alive(temporary, path)):
                temporary.unlink()


def _writer_alive(temporary: Path, path: Path) -> bool:
    """Whether the process named in a temporary's name still runs (False for a name without one)."""
    pid = writer_pid(temporary)
    if pid is None:  # an earlier version's ``<name>.<pid>-<random>.tmp``, or its single ``<name>.tmp``
        text = temporary.name[len(path.name) + 1 :].partition("-")[0]
        pid = int(text) if text.isdigit() else None
    return pid is not None and process_alive(pid)


class StemReader:
    """Reads slices of one cached song from an open h5 file (see ``open_stems``)."""

    def __init__(self, cached: CachedSong, file: h5py.File) -> None:
        self.cached = cached
        self._file = file

    def read(self, *, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Read samples ``[start, stop)`` of both stems (``stop`` clipped to the song, as in a slice).

        Returns:
            ``(vocals, instrumental)``, each float32 ``(n_channels, stop - start)``.

        Raises:
            DataError: ``start`` or ``stop`` is negative or ``start > stop``.
        """
        n_samples = self.cached.n_samples
        stop = n_samples if stop is None else stop
        if start < 0 or stop < start:
            raise DataError(
                f"song {self.cached.song_id!r}: cannot read samples [{start}, {stop}); "
                f"expected 0 <= start <= stop (the song has {n_samples} samples)"
            )
        stop = min(stop, n_samples)
        start = min(start, stop)
        return self._file["vocals"][:, start:stop], self._file["instrumental"][:, start:stop]


@contextlib.contextmanager
def open_stems(cached: CachedSong) -> Iterator[StemReader]:
    """Open a cached song for several reads; the file is closed on exit.

    Raises:
        DataError: The cache file cannot be opened (run preparation again).
    """
    try:
        file = h5py.File(cached.path, "r")
    except OSError as error:
        raise DataError(
            f"song {cached.song_id!r}: cannot open cache file {cached.path}; prepare the collection again"
        ) from error
    with file:
        yield StemReader(cached, file)


def read_stems(cached: CachedSong, *, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read samples ``[start, stop)`` of a cached song's vocals and instrumental.

    Only the touched chunks are read; the file is opened and closed per call.

    Returns:
        ``(vocals, instrumental)``, each float32 ``(n_channels, samples)``.

    Raises:
        DataError: The cache file cannot be opened, or the range is invalid.
    """
    with open_stems(cached) as reader:
        return reader.read(start=start, stop=stop)
