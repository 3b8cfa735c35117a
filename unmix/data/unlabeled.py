"""Songs without stems (``collection.unlabeled``): plain mixtures a teacher labels.

Each audio file under an unlabelled folder is one song whose only source is the
mixture (recorded as its ``vocals`` source, with no instrumental source: nothing here
decodes it). Ids start with ``unlabeled:`` and the folder as configured, so they never
collide with the collection's ids and never enter its validation/test split.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from unmix import audio
from unmix.data.songs import Song, StemSource, configured_folder
from unmix.errors import ConfigurationError

ID_PREFIX = "unlabeled:"


def unlabeled_songs(collection_folder: Path, folders: Sequence[str]) -> list[Song]:
    """Every audio file under the unlabelled folders, as a song of one mixture source.

    Args:
        collection_folder: the collection root; relative folders are read from it.
        folders: ``collection.unlabeled``: folders relative to the root, or absolute.

    Returns:
        The songs sorted by id (``unlabeled:<folder>/<relative path>``), layout ``"unlabeled"``.

    Raises:
        ConfigurationError: a folder does not exist.
    """
    songs = []
    for entry in folders:
        folder = configured_folder(entry, collection_folder)
        if not folder.is_dir():
            raise ConfigurationError(f"collection.unlabeled: folder {folder} not found (from {entry!r}); expected a folder of songs")
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and audio.is_audio_file(p)):
            relative = path.relative_to(folder).as_posix()
            songs.append(
                Song(id=f"{ID_PREFIX}{entry}/{relative}", name=path.stem, layout="unlabeled", vocals=(StemSource(path),), instrumental=())
            )
    return sorted(songs, key=lambda song: song.id)
