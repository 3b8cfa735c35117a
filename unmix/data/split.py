"""The deterministic training / validation / test split of a collection.

Songs are ordered by the md5 hash of their id, so the split depends neither on
the order files are listed in nor on the machine. The last
``test_data_count`` songs are test songs; ``song_limit`` then keeps a prefix of
the rest, and ``validation_ratio`` of that prefix (its first songs) are
validation. An explicit list of validation ids (e.g. MUSDB's official ``valid``
split) replaces the ratio: those songs are validation whenever ``song_limit``
keeps them, and they are never chosen as test songs.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import math
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from unmix.errors import ConfigurationError, DataError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Split:
    """Song ids of each part, in hash order."""

    training: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]


def hash_order(song_ids: Iterable[str]) -> list[str]:
    """Song ids sorted by the md5 hex digest of their utf-8 bytes (ties: by id)."""
    return sorted(song_ids, key=lambda i: (hashlib.md5(i.encode("utf-8", "surrogatepass")).hexdigest(), i))


def split_songs(
    song_ids: Sequence[str],
    *,
    test_data_count: int,
    song_limit: float,
    validation_ratio: float,
    validation_ids: Collection[str] | None = None,
) -> Split:
    """Split song ids into training, validation and test.

    Args:
        song_ids: Ids of the collection's songs (any order, no duplicates).
        test_data_count: How many songs (the last in hash order) are test songs.
        song_limit: ``0``: every remaining song; ``0 < N <= 1``: that fraction
            (``int(len * N)``, at least one); ``N > 1``: the first N songs (a
            whole number).
        validation_ratio: Fraction (``0 <= r < 1``) of the kept songs that are
            validation: the first ``int(len * r)`` in hash order. Ignored when
            ``validation_ids`` is given.
        validation_ids: Ids that are validation songs (those the limit keeps),
            never test songs; ids not in ``song_ids`` are ignored.

    Returns:
        The split, each part in hash order.

    Raises:
        ConfigurationError: A count or ratio is out of range, or ``song_limit``
            above 1 is not a whole number.
        DataError: ``song_ids`` holds duplicates.
    """
    counts = Counter(song_ids)
    if len(counts) != len(song_ids):
        duplicates = sorted(i for i, n in counts.items() if n > 1)
        raise DataError(f"duplicate song ids in the collection: {duplicates[:5]}; each song needs a unique id")
    if isinstance(test_data_count, bool) or not isinstance(test_data_count, int) or test_data_count < 0:
        raise ConfigurationError(
            f"collection.test_data_count must be a whole number >= 0; received test_data_count={test_data_count!r}"
        )
    if not 0 <= validation_ratio < 1:
        raise ConfigurationError(
            f"collection.validation_ratio must be in [0, 1); received validation_ratio={validation_ratio!r}"
        )
    ordered = hash_order(song_ids)
    chosen = set(validation_ids) if validation_ids is not None else set()
    test_candidates = [i for i in ordered if i not in chosen]
    test = test_candidates[len(test_candidates) - test_data_count :] if test_data_count else []
    if test_data_count > len(test_candidates):
        logger.warning(
            "collection.test_data_count=%d but only %d songs can be test songs; all of them are",
            test_data_count,
            len(test_candidates),
        )
    test_set = set(test)
    pool = [i for i in ordered if i not in test_set]
    pool = pool[: _limit(len(pool), song_limit)]
    if validation_ids is None:
        n_validation = int(len(pool) * validation_ratio)
        validation, training = pool[:n_validation], pool[n_validation:]
    else:
        missing = chosen.difference(song_ids)
        if missing:
            logger.warning("%d validation ids are not in the collection, e.g. %r", len(missing), sorted(missing)[0])
        validation = [i for i in pool if i in chosen]
        training = [i for i in pool if i not in chosen]
    if not training:
        logger.warning("no training songs: the collection has %d songs after the test split and song_limit", len(pool))
    if not validation:
        logger.warning("no validation songs: raise collection.validation_ratio or name validation songs")
    return Split(training=tuple(training), validation=tuple(validation), test=tuple(test))


def _limit(n_songs: int, song_limit: float) -> int:
    """How many songs ``song_limit`` keeps out of ``n_songs``."""
    if isinstance(song_limit, bool) or not isinstance(song_limit, (int, float)) or not math.isfinite(song_limit):
        raise ConfigurationError(f"collection.song_limit must be a number; received song_limit={song_limit!r}")
    if song_limit < 0:
        raise ConfigurationError(
            f"collection.song_limit must be 0 (all), a fraction in (0, 1] or a song count > 1; "
            f"received song_limit={song_limit!r}"
        )
    if song_limit == 0:
        return n_songs
    if song_limit <= 1:
        return min(n_songs, max(1, int(n_songs * song_limit)))
    if song_limit != int(song_limit):
        raise ConfigurationError(
            f"collection.song_limit above 1 is a song count and must be a whole number; "
            f"received song_limit={song_limit!r}"
        )
    return min(n_songs, int(song_limit))


def read_split_file(path: Path, *, split_name: str = "valid") -> set[str]:
    """Track names of one split in a MUSDB-style ``splits.tsv``.

    The file is tab-separated with a ``subset``/``track`` header, one track
    per line (``valid<TAB>ANiMAL - Rockshow``).

    Args:
        path: The split file.
        split_name: The subset to return (``"valid"`` or ``"train"``).

    Returns:
        Track names of that subset.

    Raises:
        DataError: The file is missing or malformed, or has no such subset.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle, delimiter="\t"))
    except OSError as error:
        raise DataError(
            f"cannot read split file {path}: {error.strerror}; check the path of the validation split file"
        ) from error
    if not rows or [cell.strip().lower() for cell in rows[0]] != ["subset", "track"]:
        header = rows[0] if rows else []
        raise DataError(f"split file {path}: expected a 'subset<TAB>track' header; received {header!r}")
    names: set[str] = set()
    subsets: set[str] = set()
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 2:
            raise DataError(f"split file {path} line {number}: expected 'subset<TAB>track'; received {row!r}")
        subset, track = row[0].strip(), row[1].strip()
        subsets.add(subset)
        if subset == split_name:
            names.add(track)
    if not names:
        raise DataError(
            f"split file {path} has no track in subset {split_name!r}; subsets present: {sorted(subsets)}"
        )
    return names


def song_names(song_id: str) -> set[str]:
    """Names a song id may be listed under: its last part with and without suffixes."""
    last = PurePosixPath(song_id).name
    names = {song_id, last}
    if last.lower().endswith(".stem.mp4"):
        names.add(last[: -len(".stem.mp4")])
    names.add(PurePosixPath(last).stem)
    return names


def match_names(song_ids: Iterable[str], names: Collection[str]) -> set[str]:
    """The song ids whose name is in ``names`` (e.g. from ``read_split_file``).

    ``"train/Artist - Title.stem.mp4"``, ``"train/Artist - Title"`` (a track
    folder) and ``"train/Artist - Title.flac"`` all match ``"Artist - Title"``.
    Names matching no song are logged.
    """
    wanted = set(names)
    matched: set[str] = set()
    found: set[str] = set()
    for song_id in song_ids:
        hits = song_names(song_id) & wanted
        if hits:
            matched.add(song_id)
            found |= hits
    unmatched = wanted - found
    if unmatched:
        logger.warning("%d listed song names match no song, e.g. %r", len(unmatched), sorted(unmatched)[0])
    return matched
