"""Find the songs of a collection folder, whatever layouts it mixes.

The folder is searched recursively (hidden files and folders are ignored) and a
song is recognised by one of these layouts::

    collection/
      seed-song/                    unmix layout (the seed's)
        vocals_seed-song.wav
        instrumental_seed-song.wav
      dsd-song/                     track folders (MUSDB18-HQ, DSD100)
        vocals.wav  drums.wav  bass.wav  other.wav  mixture.wav
      musdb/Artist - Title.stem.mp4 STEMS: stream 4 vocals, streams 1-3 instrumental
      mir-1k/abjones_1_01.flac      channel-split, only with ``channel_split`` patterns

Track folders: the instrumental is ``accompaniment.*`` alone if present, else
``instrumental.*`` alone, else the sum of whichever of ``drums``, ``bass`` and
``other`` exist (an accompaniment is already that sum; adding the parts again
would double it). ``mixture.*`` is ignored: the training mix is vocals +
instrumental. A file matching a ``collection.channel_split`` pattern
(``ChannelSplitOptions``) is a channel-split song even if another rule would also claim it. The collection folder is only read.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from unmix import audio
from unmix.config.schema import ChannelSplitOptions
from unmix.data.songs import Song, StemSource
from unmix.errors import DataError

logger = logging.getLogger(__name__)

STEMS_SUFFIX = ".stem.mp4"
STEMS_VOCALS_STREAM = 4
STEMS_INSTRUMENTAL_STREAMS = (1, 2, 3)
TRACK_PARTS = ("drums", "bass", "other")
TRACK_WHOLE_INSTRUMENTAL = ("accompaniment", "instrumental")  # in order of preference
TRACK_NAMES = frozenset(("vocals", "mixture", *TRACK_PARTS, *TRACK_WHOLE_INSTRUMENTAL))


# The one type of a channel split is the configuration's section (patterns and channels).
ChannelSplit = ChannelSplitOptions


def channel_split_matcher(split: ChannelSplitOptions) -> Callable[[str], bool]:
    """Whether a posix path relative to the collection root matches one of ``split``'s patterns."""
    regexes = tuple(_glob_regex(pattern) for pattern in split.patterns)
    return lambda relative: any(regex.fullmatch(relative) for regex in regexes)


@dataclass(frozen=True)
class Discovery:
    """The songs found in a collection and the incomplete ones skipped.

    Args:
        songs: Complete songs, sorted by id.
        skipped: ``(id, reason)`` of each skipped song.
    """

    songs: tuple[Song, ...]
    skipped: tuple[tuple[str, str], ...]


def discover(folder: Path, *, channel_split: ChannelSplitOptions | None = None) -> Discovery:
    """Find every song under a collection folder.

    Args:
        folder: The collection root; song ids are paths relative to it.
        channel_split: ``collection.channel_split``: enables channel-split songs for the files its
            patterns match (none without patterns).

    Returns:
        The songs (sorted by id) and the skipped incomplete ones, each skip
        logged once as a warning, plus one summary line.

    Raises:
        DataError: The folder does not exist or is not a folder.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise DataError(
            f"collection folder {folder} {what}; set collection.folder in the configuration "
            f"or the UNMIX_COLLECTION_DIR variable to a folder of songs"
        )
    root = folder.resolve()
    split_matches = channel_split_matcher(channel_split) if channel_split is not None and channel_split.patterns else None
    songs: list[Song] = []
    skipped: list[tuple[str, str]] = []
    for directory, files in _walk(root):
        relative_dir = directory.relative_to(root).as_posix()
        rest = []
        for name in files:
            relative = name if relative_dir == "." else f"{relative_dir}/{name}"
            if split_matches is not None and split_matches(relative):
                songs.append(_channel_split_song(directory / name, relative, channel_split))
            elif name.lower().endswith(STEMS_SUFFIX):
                songs.append(_stems_song(directory / name, relative))
            elif audio.is_audio_file(directory / name):
                rest.append(name)
        song, skip = _folder_song(directory, relative_dir, rest)
        if song is not None:
            songs.append(song)
        if skip is not None:
            logger.warning("skipped song %r: %s", *skip)
            skipped.append(skip)
    songs.sort(key=lambda song: song.id)
    counts = {layout: sum(song.layout == layout for song in songs) for layout in ("unmix", "tracks", "stems")}
    logger.info(
        "found %d songs (%d unmix, %d tracks, %d stems, %d channel-split) in %s; skipped %d incomplete",
        len(songs),
        counts["unmix"],
        counts["tracks"],
        counts["stems"],
        len(songs) - sum(counts.values()),
        root,
        len(skipped),
    )
    return Discovery(songs=tuple(songs), skipped=tuple(skipped))


def _walk(root: Path):
    """Yield ``(folder, sorted file names)``; follows links once, skips hidden entries."""
    seen: set[str] = set()
    for directory, folders, files in os.walk(root, followlinks=True):
        real = os.path.realpath(directory)
        if real in seen:  # a link back up the tree
            folders[:] = []
            continue
        seen.add(real)
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        yield Path(directory), sorted(name for name in files if not name.startswith("."))


def _stems_song(path: Path, relative: str) -> Song:
    return Song(
        id=relative,
        name=path.name[: -len(STEMS_SUFFIX)],
        layout="stems",
        vocals=(StemSource(path, stream=STEMS_VOCALS_STREAM),),
        instrumental=tuple(StemSource(path, stream=k) for k in STEMS_INSTRUMENTAL_STREAMS),
    )


def _channel_split_song(path: Path, relative: str, split: ChannelSplitOptions) -> Song:
    return Song(
        id=relative,
        name=path.stem,
        layout="channel_split",
        vocals=(StemSource(path, channel=split.vocals_channel),),
        instrumental=(StemSource(path, channel=split.instrumental_channel),),
    )


def _folder_song(
    directory: Path, relative_dir: str, names: list[str]
) -> tuple[Song | None, tuple[str, str] | None]:
    """The unmix-layout or track-folder song of one folder, or why it is incomplete."""
    vocals = [n for n in names if n.lower().startswith("vocals_")]
    instrumental = [n for n in names if n.lower().startswith("instrumental_")]
    song_name = directory.name
    if vocals or instrumental:
        if not (vocals and instrumental):
            missing = "instrumental_*" if vocals else "vocals_*"
            return None, (relative_dir, f"unmix layout without a {missing} file in {directory}")
        song = Song(
            id=relative_dir,
            name=song_name,
            layout="unmix",
            vocals=(StemSource(directory / vocals[0]),),
            instrumental=(StemSource(directory / instrumental[0]),),
        )
        return song, None
    tracks: dict[str, Path] = {}
    for name in names:  # sorted, so the first extension wins when a stem has several
        stem = name.split(".", 1)[0].lower()
        if stem in TRACK_NAMES and "." in name:
            tracks.setdefault(stem, directory / name)
    instrumental_parts = _instrumental_tracks(tracks)
    if "vocals" not in tracks and not instrumental_parts:
        return None, None  # not a song folder (or only a mixture)
    if "vocals" not in tracks:
        return None, (relative_dir, f"track folder without a vocals file in {directory}")
    if not instrumental_parts:
        return None, (
            relative_dir,
            f"track folder without drums, bass, other, accompaniment or instrumental in {directory}",
        )
    song = Song(
        id=relative_dir,
        name=song_name,
        layout="tracks",
        vocals=(StemSource(tracks["vocals"]),),
        instrumental=tuple(StemSource(path) for path in instrumental_parts),
    )
    return song, None


def _instrumental_tracks(tracks: dict[str, Path]) -> list[Path]:
    for whole in TRACK_WHOLE_INSTRUMENTAL:
        if whole in tracks:
            return [tracks[whole]]
    return [tracks[part] for part in TRACK_PARTS if part in tracks]


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Translate a glob (``**/``, ``*``, ``?``, ``[...]``) to a regex over posix paths."""
    pattern = PurePosixPath(pattern.replace("\\", "/")).as_posix()
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))
