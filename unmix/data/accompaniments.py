"""Songs without vocals (``collection.accompaniments``): clean instrumentals for remixing.

An accompaniment is a whole instrumental with no singing in it (a backing track, a
karaoke version). Its true stems are known: silent vocals and the accompaniment itself.
In training, each window of an accompaniment takes the vocals of a random window of a
labelled song (``unmix.pipeline.generator``), so these songs add new instrumentals
under the collection's real vocals: more mixtures with exact targets, and no teacher
needed for them.

Each audio file under an accompaniment folder is one accompaniment, except in a folder
that holds a ``song.ini`` (the Frets on Fire layout: ``song.ogg`` backing plus
``guitar.ogg``, ``rhythm.ogg`` ... parts), whose audio files are summed into one.
Ids start with ``accompaniment:`` and the folder as configured, so they never collide
with the collection's and never enter its validation or test split.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from unmix import audio
from unmix.data.songs import ACCOMPANIMENT_LAYOUT as LAYOUT, Song, StemSource, configured_folder
from unmix.errors import ConfigurationError

ID_PREFIX = "accompaniment:"
FRETS_ON_FIRE_MARKER = "song.ini"


def accompaniment_songs(collection_folder: Path, folders: Sequence[str]) -> list[Song]:
    """The accompaniments under the configured folders, as songs with no vocal source.

    Args:
        collection_folder: the collection root; relative folders are read from it.
        folders: ``collection.accompaniments``: folders relative to the root, or absolute
            (``~`` allowed).

    Returns:
        The songs sorted by id (``accompaniment:<folder>/<relative path>``), layout
        ``"accompaniment"``, ``vocals=()``.

    Raises:
        ConfigurationError: a folder does not exist, or holds no audio.
    """
    songs: list[Song] = []
    for entry in folders:
        folder = configured_folder(entry, collection_folder)
        if not folder.is_dir():
            raise ConfigurationError(
                f"collection.accompaniments: folder {folder} not found (from {entry!r}); expected a folder of instrumental songs"
            )
        found = _songs_in(folder, entry)
        if not found:
            raise ConfigurationError(f"collection.accompaniments: no audio files in {folder} (from {entry!r})")
        songs.extend(found)
    return sorted(songs, key=lambda song: song.id)


def _songs_in(folder: Path, entry: str) -> list[Song]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not _hidden(p.relative_to(folder)))
    grouped = {p.parent for p in files if p.name.lower() == FRETS_ON_FIRE_MARKER}
    songs = []
    for parent in sorted(grouped):
        parts = [p for p in files if p.parent == parent and audio.is_audio_file(p)]
        if parts:
            songs.append(_song(folder, entry, parent, parts))
    for path in files:
        if path.parent not in grouped and audio.is_audio_file(path):
            songs.append(_song(folder, entry, path, [path]))
    return songs


def _song(folder: Path, entry: str, where: Path, parts: list[Path]) -> Song:
    relative = where.relative_to(folder).as_posix() if where != folder else folder.name
    name = where.name if where.is_dir() else where.stem
    return Song(
        id=f"{ID_PREFIX}{entry}/{relative}", name=name, layout=LAYOUT, vocals=(), instrumental=tuple(StemSource(p) for p in parts)
    )


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)
