"""From a configuration to prepared songs and their training/validation/test split.

TensorFlow-free: training, ``train.py --prepare_only`` and evaluation share it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from unmix.config import require_collection_folder
from unmix.config.schema import CollectionOptions, EnvironmentOptions
from unmix.data.accompaniments import accompaniment_songs
from unmix.data.cache import CachedSong
from unmix.data.layouts import discover
from unmix.data.prepare import prepare
from unmix.data.split import Split, match_names, read_split_file, split_songs
from unmix.errors import DataError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedSplit:
    """Cached songs by role; ``split`` holds the ids. ``accompaniments``: the cached songs of
    ``collection.accompaniments`` (training only, outside the split)."""

    split: Split
    cached: dict[str, CachedSong]
    collection_name: str
    accompaniments: tuple[CachedSong, ...] = ()

    def songs(self, role: str) -> list[CachedSong]:
        return [self.cached[i] for i in getattr(self.split, role)]


def collection_name(collection: CollectionOptions) -> str:
    """``collection.name``, else the folder's name (it names ``accuracy_<name>.csv``)."""
    folder = Path(collection.folder or "collection")
    return collection.name or folder.resolve().name or "collection"


def cache_folder(environment: EnvironmentOptions, collection: CollectionOptions, *, working_directory: Path) -> Path:
    """Cache files per sample rate and channel count, so configurations never rebuild each other's."""
    return (working_directory / environment.cache_folder / f"sr{collection.sample_rate}-ch{collection.n_channels}").resolve()


def prepare_collection(
    collection: CollectionOptions, *, cache_dir: Path, workers: int | None = None, progress: bool = True, accompaniments: bool = False
) -> PreparedSplit:
    """Discover, cache (in parallel) and split the ``collection`` section's songs.

    Args:
        collection: the configuration's ``collection`` section.
        cache_dir: from ``cache_folder``.
        workers: decoding processes (``training.workers``; None: one per CPU).
        progress: show a progress bar.
        accompaniments: also prepare ``collection.accompaniments`` (training needs them;
            an evaluation does not, and must not fail where they are absent).

    Raises:
        ConfigurationError: the collection folder is not set or missing.
        DataError: no usable song was found.
    """
    folder = require_collection_folder(collection)
    discovery = discover(folder, channel_split=collection.channel_split)
    if not discovery.songs:
        raise DataError(f"no songs with vocals and instrumental stems found in {folder}: see the README for the layouts unmix reads")
    prepared = prepare(
        discovery.songs,
        cache_dir=cache_dir,
        sample_rate=collection.sample_rate,
        n_channels=collection.n_channels,
        workers=workers,
        progress=progress,
        collection_folder=folder,
    )
    if prepared.failed:
        logger.warning("%d song(s) could not be prepared and are left out: %s", len(prepared.failed), ", ".join(i for i, _ in prepared.failed))
    cached = {c.song_id: c for c in prepared.cached}
    if not cached:
        raise DataError(f"none of the {len(discovery.songs)} songs in {folder} could be decoded")
    ids = sorted(cached)
    validation_ids = _validation_ids(collection, ids, folder)
    split = split_songs(
        ids,
        test_data_count=collection.test_data_count,
        song_limit=collection.song_limit,
        validation_ratio=collection.validation_ratio,
        validation_ids=validation_ids,
    )
    logger.info("songs: %d training, %d validation, %d test", len(split.training), len(split.validation), len(split.test))
    if not split.training:
        raise DataError(f"no training songs left in {folder} after the test and validation split: lower test_data_count or validation_ratio")
    extra = _prepare_accompaniments(collection, folder, cache_dir=cache_dir, workers=workers, progress=progress) if accompaniments else ()
    return PreparedSplit(split=split, cached=cached, collection_name=collection_name(collection), accompaniments=extra)


def _prepare_accompaniments(collection: CollectionOptions, folder: Path, *, cache_dir: Path, workers: int | None, progress: bool) -> tuple[CachedSong, ...]:
    """The cached songs of ``collection.accompaniments``; one that fails is left out with a warning.

    Raises:
        ConfigurationError: a folder is missing or holds no audio.
        DataError: none of its songs could be decoded.
    """
    if not collection.accompaniments:
        return ()
    songs = accompaniment_songs(folder, collection.accompaniments)
    prepared = prepare(songs, cache_dir=cache_dir, sample_rate=collection.sample_rate, n_channels=collection.n_channels,
                       workers=workers, progress=progress, collection_folder=folder)  # fmt: skip
    if not prepared.cached:
        raise DataError(f"none of the {len(songs)} songs of collection.accompaniments could be decoded: {prepared.failed[0][1]}")
    if prepared.failed:
        logger.warning("%d accompaniment(s) could not be prepared and are left out: %s", len(prepared.failed), ", ".join(i for i, _ in prepared.failed))
    seconds = sum(song.n_samples for song in prepared.cached) / collection.sample_rate
    logger.info("accompaniments: %d songs, %.1f minutes, for training only", len(prepared.cached), seconds / 60)
    return prepared.cached


def _validation_ids(collection: CollectionOptions, ids: list[str], folder: Path) -> set[str] | None:
    names: set[str] = set(collection.validation_songs)
    if collection.validation_split_file:
        path = Path(collection.validation_split_file)
        names |= read_split_file(path if path.is_absolute() else folder / path)
    if not names:
        return None
    chosen = {i for i in ids if i in names} | match_names(ids, names)
    logger.info("validation: %d songs named by the configuration", len(chosen))
    return chosen
