"""The fixed plan of a catalogue: which songs, under which names, and what each file held.

The first run lists the source (a folder searched recursively, or a text/CSV list of paths),
hashes every file and writes the plan once; every later run of the same destination reads it
back instead of listing again, so song names (the ``{song}`` of the file name template, made
unique the way ``predict.py`` does) and the set of songs never change between runs. A file
listed but missing is planned all the same, with no size and no hash: it fails on its own
when its turn comes, and the others go on.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from unmix.atomic import atomic_write_text
from unmix.errors import ConfigurationError, UnmixError
from unmix.separation.batch import find_songs, unique_name
from unmix.separation.outputs import song_name_of

PLAN_VERSION = 1
#: Suffixes of a source that is a list of paths rather than a song.
LIST_SUFFIXES = (".txt", ".csv", ".tsv", ".lst", ".m3u")


@dataclass(frozen=True)
class PlannedSong:
    """One song of the plan.

    Attributes:
        id: a stable key of the song (sha256 of its absolute path, 16 hex digits): receipt names.
        path: the file, absolute.
        name: the ``{song}`` of the file name template, unique within the plan.
        size: bytes when planned; None for a file that was missing.
        sha256: the content hash when planned; None for a file that was missing.
    """

    id: str
    path: str
    name: str
    size: int | None
    sha256: str | None


@dataclass(frozen=True)
class Plan:
    """The songs of a catalogue and where they came from."""

    source: str
    created: str
    songs: tuple[PlannedSong, ...]


def song_id(path: Path) -> str:
    """The plan's key of a song file: its absolute path, hashed (16 hex digits)."""
    return hashlib.sha256(str(Path(path).absolute()).encode()).hexdigest()[:16]


def content_hash(path: Path) -> str:
    """sha256 (hex) of a file's bytes.

    Raises:
        OSError: it cannot be read.
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def list_source(source: Path) -> list[Path]:
    """The song files of ``source``: a folder (recursively, every decodable file) or a list file.

    A list file (``.txt``, ``.csv``, ...) holds one path per line, or a CSV/TSV whose header has a
    ``path`` column (else its first column is the path); ``#`` lines and blank lines are skipped,
    and relative paths are relative to the list's folder.

    Raises:
        ConfigurationError: the source is missing, not a folder or list, or lists nothing.
    """
    source = Path(source)
    if source.is_dir():
        return find_songs(source)
    if not source.is_file():
        raise ConfigurationError(f"SOURCE {source} not found: give a folder of songs or a text/CSV list of paths")
    if source.suffix.lower() not in LIST_SUFFIXES:
        raise ConfigurationError(f"SOURCE {source} is a file, not a folder or a list ({', '.join(LIST_SUFFIXES)}): for one song use predict.py --song {source}")
    try:
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"SOURCE {source} cannot be read as a UTF-8 list of paths: {error}") from None
    paths = [source.parent / entry for entry in _entries(text, delimiter="\t" if source.suffix.lower() == ".tsv" else ",", is_csv=source.suffix.lower() in (".csv", ".tsv"))]
    return paths


def _entries(text: str, *, delimiter: str, is_csv: bool) -> Iterable[str]:
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not is_csv:
        return [line.strip() for line in lines]
    rows = list(csv.reader(lines, delimiter=delimiter))
    column = 0
    if rows and "path" in [cell.strip().lower() for cell in rows[0]]:
        column = [cell.strip().lower() for cell in rows[0]].index("path")
        rows = rows[1:]
    return [row[column].strip() for row in rows if len(row) > column and row[column].strip()]


def build_plan(source: Path, *, progress: Callable[[int, int], None] | None = None) -> Plan:
    """List and hash the songs of ``source``.

    Args:
        source: a folder or a list file (see ``list_source``).
        progress: called as ``progress(hashed, total)`` after each file.

    Raises:
        ConfigurationError: a bad source, or one with no songs.
    """
    paths = list_source(source)
    if not paths:
        raise ConfigurationError(f"SOURCE {source} holds no audio files (wav, flac, mp3, ogg, m4a, ...)")
    songs, used, seen = [], set(), set()
    for number, path in enumerate(paths, start=1):
        path = path.absolute()
        key = song_id(path)
        if key in seen:  # a list may name a file twice: one song, one set of stems
            continue
        seen.add(key)
        try:
            size, digest = path.stat().st_size, content_hash(path)
        except OSError:
            size, digest = None, None
        songs.append(PlannedSong(id=key, path=str(path), name=unique_name(song_name_of(path), used), size=size, sha256=digest))
        if progress is not None:
            progress(number, len(paths))
    return Plan(source=str(Path(source).absolute()), created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), songs=tuple(songs))


def write_plan(path: Path, plan: Plan) -> None:
    """Write the plan atomically (it is written once per destination).

    Raises:
        OSError: it cannot be written (``ENOSPC`` names ``path``).
    """
    document = {"version": PLAN_VERSION, "source": plan.source, "created": plan.created, "songs": [asdict(song) for song in plan.songs]}
    atomic_write_text(path, json.dumps(document, indent=1) + "\n")


def read_plan(path: Path) -> Plan:
    """The plan written by ``write_plan``.

    Raises:
        UnmixError: an unreadable or foreign file (one line naming it).
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        if document.get("version") != PLAN_VERSION:
            raise ValueError(f"version {document.get('version')!r}, expected {PLAN_VERSION}")
        songs = tuple(PlannedSong(**song) for song in document["songs"])
        return Plan(source=document["source"], created=document["created"], songs=songs)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UnmixError(f"the catalogue's plan {path} cannot be read ({error}); move the destination's .unmix-catalog folder away to plan again") from None
