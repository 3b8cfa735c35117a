"""The teacher of a distillation (``training.teacher``) and its cache of separations.

The teacher separates each whole training song once; its vocals and instrumental are
stored as h5 files in the layout of the preparation cache (``unmix.data.cache``), in
``<preparation cache>/teacher/``, written under a temporary name of this process and
renamed when whole, under the song's lock file. A file is reused only when its key
matches: a hash of the teacher's identity (sha256 of its weights, configuration and
statistics files), the cached song's own preparation key (or, for an unlabelled
song, its file's path, size and modification time) and the sample rate and channel
count. A changed teacher or song therefore rebuilds the file; nothing else does.

Songs of ``collection.unlabeled`` have no stems: their cache file holds the teacher's
separation, which sums to the mixture, and serves both as the training song (the model
input is exactly the mixture) and as its teacher, so its true-stem and teacher terms
coincide: the teacher has weight 1 there. Only training songs are separated: never a
validation or test song.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path

import h5py
import numpy as np

from unmix import audio
from unmix.config import Config, require_collection_folder
from unmix.data.cache import CachedSong, cache_key, cache_path, open_cached, read_stems, remove_stale_temporaries, write_cached
from unmix.data.collection import PreparedSplit, cache_folder
from unmix.data.lock import file_lock, lock_path
from unmix.data.songs import Song
from unmix.data.unlabeled import unlabeled_songs
from unmix.errors import AudioError, DataError
from unmix.runfolder import RunFolder

logger = logging.getLogger(__name__)

# Bump when what the teacher cache stores changes, so old files are rebuilt.
TEACHER_FORMAT_VERSION = 1
TEACHER_FOLDER = "teacher"


def teacher_folder(name: str) -> Path:
    """The run folder of ``training.teacher.name``: a built-in model or a run folder path.

    Raises:
        ModelError: a built-in model that is not installed (the message says what to run).
        ConfigurationError: not a run folder.
    """
    from unmix.pretrained import catalog

    if name in catalog.names():
        return catalog.folder(name)
    return RunFolder.open(Path(name).expanduser()).path


def separated_band(folder: Path) -> float | None:
    """The highest frequency (Hz) the teacher's network separates, or None for its whole band.

    A model whose options have ``band_hz`` (Spleeter: ``bins`` of its STFT, 11025 Hz at
    44.1 kHz) leaves the band above it to one stem; its estimates there are not targets.

    Raises:
        ConfigurationError: not a run folder, or a bad configuration.
    """
    from unmix.config import load_resolved
    from unmix.models.registry import options_class, options_from_mapping

    config = load_resolved(RunFolder.open(folder).configuration)
    model = config.training.model
    options = options_from_mapping(options_class(model.name), model.options)
    band = getattr(options, "band_hz", None)
    if band is None:
        return None
    return float(band(n_fft=config.transformation.fft_window, sample_rate=config.collection.sample_rate))


def teacher_bins(config: Config, *, n_fft: int, teacher: Path | None = None) -> int | None:
    """How many bins of the student's STFT, from DC, take the teacher's target; above them the true stems'.

    ``training.teacher.max_frequency`` if set, else the band the teacher separates
    (``separated_band``). None: every bin is the teacher's.

    Raises:
        ModelError, ConfigurationError: as ``teacher_folder`` and ``separated_band``.
    """
    hz = config.training.teacher.max_frequency
    if hz is None:
        hz = separated_band(teacher if teacher is not None else teacher_folder(config.training.teacher.name))
    if hz is None:
        return None
    n_bins = n_fft // 2 + 1
    return min(n_bins, math.ceil(hz * n_fft / config.collection.sample_rate))


def teacher_identity(folder: Path) -> str:
    """sha256 over the teacher's best weights, configuration and statistics files (hex): ``RunFolder.identity``.

    Raises:
        ConfigurationError, ModelError: not a run folder, or one without weights.
    """
    return RunFolder.open(folder).identity()


def teacher_cache_folder(config: Config, *, working_directory: Path) -> Path:
    """Where the teacher's separations live: beside the preparation cache files."""
    return cache_folder(config.environment, config.collection, working_directory=working_directory) / TEACHER_FOLDER


def _key(identity: str, song_key: str, *, sample_rate: int, n_channels: int) -> str:
    payload = json.dumps([identity, song_key, int(sample_rate), int(n_channels), TEACHER_FORMAT_VERSION])
    return hashlib.sha256(payload.encode()).hexdigest()


def _preparation_key(song: CachedSong) -> str:
    with h5py.File(song.path, "r") as file:
        return str(file.attrs["key"])


class _Teacher:
    """The teacher's separator, loaded on first use (a fully cached run never loads it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._separator = None

    def separate(self, mix: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
        if self._separator is None:
            from unmix.separation.separator import Separator

            self._separator = Separator.from_run_folder(self.folder)
            logger.info("teacher: %s", self.folder)
        stems = self._separator.separate(mix, sample_rate)
        return stems["vocals"], stems["instrumental"]


def teacher_songs(
    config: Config, prepared: PreparedSplit, *, working_directory: Path, teacher: Path | None = None
) -> tuple[list[CachedSong], list[CachedSong]]:
    """The training songs (the split's, then the unlabelled ones) and the teacher's separation of each.

    Args:
        config: the configuration (``training.teacher``, ``collection.unlabeled``).
        prepared: the prepared split; only its training songs are separated.
        working_directory: holds the cache.
        teacher: the teacher's run folder (default: from ``training.teacher.name``).

    Returns:
        ``(songs, teachers)``, parallel lists of equal lengths in samples.

    Raises:
        DataError: no unlabelled song could be decoded while some were given, or the disk is full.
    """
    folder = teacher if teacher is not None else teacher_folder(config.training.teacher.name)
    identity = teacher_identity(folder)
    model = _Teacher(folder)
    collection = config.collection
    directory = teacher_cache_folder(config, working_directory=working_directory)
    directory.mkdir(parents=True, exist_ok=True)
    songs, teachers = [], []
    for song in prepared.songs("training"):
        key = _key(identity, _preparation_key(song), sample_rate=song.sample_rate, n_channels=song.n_channels)
        record = Song(id=song.song_id, name=song.song_id, layout="teacher", vocals=(), instrumental=())

        def separate(song: CachedSong = song) -> tuple[np.ndarray, np.ndarray]:
            vocals, instrumental = read_stems(song)
            return model.separate(vocals + instrumental, song.sample_rate)

        songs.append(song)
        teachers.append(_cached(directory, record, key, separate, sample_rate=song.sample_rate))
    unlabeled = unlabeled_songs(require_collection_folder(collection), collection.unlabeled) if collection.unlabeled else []
    n_unlabeled = 0
    for song in unlabeled:
        key = _key(identity, cache_key(song, sample_rate=collection.sample_rate, n_channels=collection.n_channels),
                   sample_rate=collection.sample_rate, n_channels=collection.n_channels)  # fmt: skip

        def separate(song: Song = song) -> tuple[np.ndarray, np.ndarray]:
            mix, rate = audio.load(song.vocals[0].path, sample_rate=collection.sample_rate, n_channels=collection.n_channels)
            return model.separate(np.asarray(mix, np.float32), rate)

        try:
            cached = _cached(directory, song, key, separate, sample_rate=collection.sample_rate)
        except AudioError as error:
            logger.warning("unlabelled song %r left out: %s", song.id, error)
            continue
        songs.append(cached)
        teachers.append(cached)  # its stems are the teacher's: both terms agree, the teacher weighs 1
        n_unlabeled += 1
    if unlabeled and not n_unlabeled:
        raise DataError(f"none of the {len(unlabeled)} unlabelled songs of collection.unlabeled could be decoded")
    logger.info("teacher targets for %d training songs (%d unlabelled) in %s", len(songs), n_unlabeled, directory)
    return songs, teachers


def _cached(directory: Path, song: Song, key: str, separate, *, sample_rate: int) -> CachedSong:
    """The cache file of ``song`` if it matches ``key``; else ``separate()`` it and write it under its lock."""
    path = cache_path(directory, song.id)
    cached = open_cached(path, key=key)
    if cached is not None:
        return cached
    with file_lock(lock_path(path)) as held:
        remove_stale_temporaries(path, exclusive=held)
        cached = open_cached(path, key=key)  # another process may have written it meanwhile
        if cached is not None:
            return cached
        vocals, instrumental = separate()
        logger.debug("teacher separated %r", song.id)
        return write_cached(path, song=song, key=key, vocals=vocals, instrumental=instrumental, sample_rate=sample_rate)

