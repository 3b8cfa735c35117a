"""Prepare a collection: decode every song once into the cache, in parallel.

Valid cache files are reused; missing or stale ones are built in worker
processes (``unmix.data.pool``: ``spawn``, so a parent that already loaded TensorFlow is never
forked, and they die with it). One bad song is a warning and an entry in ``failed``; it never stops
the others. A full disk does: it would fail every song, so it is one error.

Several processes may prepare into one cache at once (two trainings started
together): each song is built under its lock file (``unmix.data.lock``), and
a process that waited for it reuses what the other wrote.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from unmix.data.cache import CachedSong, cache_key, cache_path, open_cached, remove_stale_temporaries, write_cached
from unmix.data.disk import is_no_space, no_space_message
from unmix.data.lock import LOCK_TIMEOUT_S, file_lock, lock_path
from unmix.data.pool import process_pool
from unmix.data.songs import Song, load_song
from unmix.progress import count_bar, end_count_bar
from unmix.errors import ConfigurationError, DataError, UnmixError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedCollection:
    """The songs ready in the cache (input order) and those that failed.

    Args:
        cached: One record per prepared song.
        failed: ``(song_id, reason)`` per song that could not be prepared.
    """

    cached: tuple[CachedSong, ...]
    failed: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _Stop:
    """A build outcome that must end the whole preparation (a full disk), with its one line."""

    message: str


def prepare(
    songs: Sequence[Song],
    *,
    cache_dir: Path,
    sample_rate: int,
    n_channels: int,
    workers: int | None = None,
    progress: bool = True,
    collection_folder: Path | None = None,
) -> PreparedCollection:
    """Make sure every song has a valid cache file, building the missing ones.

    Args:
        songs: The songs to prepare (unique ids).
        cache_dir: Where the cache files live; created if needed. Must not lie
            inside the collection (the collection is only read).
        sample_rate: Sample rate of the cached stems, in Hz.
        n_channels: Channel count of the cached stems (1 or 2).
        workers: Worker processes; ``None``: one per available CPU core;
            ``1``: build in this process.
        progress: Show a progress bar on stderr while building.
        collection_folder: The collection root, checked against ``cache_dir``
            (roots are also inferred from the songs' ids and paths).

    Returns:
        The prepared songs and the failures.

    Raises:
        DataError: ``cache_dir`` lies inside the collection or cannot be created,
            song ids repeat, or the disk is full.
        ConfigurationError: ``workers`` is below 1 or ``n_channels`` is not 1 or 2.
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ConfigurationError(f"workers must be a whole number >= 1; received workers={workers!r}")
    if n_channels not in (1, 2):
        raise ConfigurationError(f"n_channels must be 1 or 2; received n_channels={n_channels!r}")
    songs = list(songs)
    cache_dir = Path(cache_dir).expanduser().resolve()
    _check_cache_location(cache_dir, songs, collection_folder)
    ids = [song.id for song in songs]
    if len(set(ids)) != len(ids):
        raise DataError("duplicate song ids given to prepare; each song needs a unique id")
    _make_cache_folder(cache_dir)

    results: dict[str, CachedSong] = {}
    failed: dict[str, str] = {}
    jobs: list[tuple[Song, Path, str]] = []
    for song in songs:
        path = cache_path(cache_dir, song.id)
        try:
            key = cache_key(song, sample_rate=sample_rate, n_channels=n_channels)
        except DataError as error:
            failed[song.id] = str(error)
            continue
        cached = open_cached(path, key=key)
        if cached is not None:
            results[song.id] = cached
        else:
            jobs.append((song, path, key))
    n_reused = len(results)

    built = _build_all(jobs, sample_rate=sample_rate, n_channels=n_channels, workers=workers, progress=progress)
    stop: _Stop | None = None
    for song_id, outcome in built:
        if isinstance(outcome, CachedSong):
            results[song_id] = outcome
        elif isinstance(outcome, _Stop):
            stop = stop or outcome
        else:
            failed[song_id] = outcome
    if stop is not None:
        raise DataError(stop.message)
    for song_id, reason in failed.items():
        logger.warning("song %r not prepared: %s", song_id, reason)
    logger.log(
        logging.WARNING if failed else logging.INFO,
        "prepared %d songs in %s (%d reused, %d built); %d failed",
        len(results),
        cache_dir,
        n_reused,
        len(results) - n_reused,
        len(failed),
    )
    return PreparedCollection(
        cached=tuple(results[i] for i in ids if i in results),
        failed=tuple((i, failed[i]) for i in ids if i in failed),
    )


def build_song(
    song: Song, path: Path, key: str, sample_rate: int, n_channels: int, lock_timeout_s: float = LOCK_TIMEOUT_S
) -> CachedSong | str | _Stop:
    """Decode one song into its cache file, under its lock; a reason string when it fails.

    Another process may have built the song while this one waited for the lock:
    its file is then reused, not rebuilt.
    """
    with file_lock(lock_path(path), timeout_s=lock_timeout_s) as held:
        if not held:
            logger.debug("song %r: its lock was not free within %.0f s; preparing it here too", song.id, lock_timeout_s)
        cached = open_cached(path, key=key)
        if cached is not None:
            return cached
        remove_stale_temporaries(path, exclusive=held)
        try:
            vocals, instrumental = load_song(song, sample_rate=sample_rate, n_channels=n_channels)
            return write_cached(path, song=song, key=key, vocals=vocals, instrumental=instrumental, sample_rate=sample_rate)
        except UnmixError as error:
            return _Stop(str(error)) if is_no_space(error) else str(error)
        except (OSError, ValueError, RuntimeError, MemoryError) as error:
            if is_no_space(error):
                return _Stop(no_space_message(path, then="prepare the collection again"))
            return f"{type(error).__name__}: {error}"


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))


def build_song_in_worker(
    song: Song, path: Path, key: str, sample_rate: int, n_channels: int
) -> tuple[CachedSong | str | _Stop, list[tuple[str, int, str]]]:
    """``build_song`` in a worker process, returning its log records for the parent to log.

    Top level (picklable) so that ``spawn`` workers can run it; a worker has no
    logging setup, so its warnings (e.g. trimmed stems) would otherwise be lost.
    """
    package = logging.getLogger("unmix")
    collector = _Collector()
    package.addHandler(collector)
    package.setLevel(logging.INFO)
    package.propagate = False
    try:
        return build_song(song, path, key, sample_rate, n_channels), collector.records
    finally:
        package.removeHandler(collector)


def _build_all(jobs, *, sample_rate: int, n_channels: int, workers: int | None, progress: bool):
    """Yield ``(song_id, CachedSong | reason)`` for every job, inline or in a process pool."""
    if not jobs:
        return
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = min(workers, len(jobs))
    bar = count_bar("preparing", len(jobs), unit="songs") if progress else None
    try:
        if workers == 1:
            for done, (song, path, key) in enumerate(jobs, start=1):
                yield song.id, build_song(song, path, key, sample_rate, n_channels)
                if bar is not None:
                    bar.update(done)
            return
        with process_pool(workers) as pool:
            futures = {
                pool.submit(build_song_in_worker, song, path, key, sample_rate, n_channels): song.id
                for song, path, key in jobs
            }
            for done, future in enumerate(as_completed(futures), start=1):
                try:
                    outcome, records = future.result()
                except BrokenProcessPool:
                    outcome, records = "a worker died (out of memory?); prepare again with fewer workers", []
                for name, level, message in records:
                    logging.getLogger(name).log(level, "%s", message)
                yield futures[future], outcome
                if bar is not None:
                    bar.update(done)
    finally:
        if bar is not None:
            end_count_bar(bar)  # Ctrl-C while preparing keeps the count it reached, not 100 %


def _make_cache_folder(cache_dir: Path) -> None:
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        if is_no_space(error):
            raise DataError(no_space_message(cache_dir, then="prepare the collection again")) from None
        raise DataError(
            f"cannot create the cache folder {cache_dir}: {error.strerror or error}; "
            f"use a writable working directory (--workingdir) or set environment.cache_folder"
        ) from None


def _check_cache_location(cache_dir: Path, songs: Sequence[Song], collection_folder: Path | None) -> None:
    """Refuse a cache inside a collection: the collection folder is only ever read."""
    roots = {Path(collection_folder).expanduser().resolve()} if collection_folder is not None else set()
    for song in songs:
        root = _inferred_root(song)
        if root is not None:
            roots.add(root)
    for root in roots:
        if cache_dir == root or root in cache_dir.parents:
            raise DataError(
                f"cache folder {cache_dir} lies inside the collection {root}; the collection is only read: "
                f"choose a cache folder outside it (the default lives in the working directory)"
            )


def _inferred_root(song: Song) -> Path | None:
    """The collection root implied by a song's id and first source, if they agree."""
    if not song.sources:
        return None
    parts = PurePosixPath(song.id).parts
    path = Path(os.path.abspath(Path(song.sources[0].path).expanduser()))
    anchor = path if song.layout in ("stems", "channel_split") else path.parent
    if song.id == ".":
        return anchor.resolve()
    if not parts or anchor.parts[-len(parts) :] != parts or len(anchor.parts) <= len(parts):
        return None
    return Path(*anchor.parts[: -len(parts)]).resolve()
