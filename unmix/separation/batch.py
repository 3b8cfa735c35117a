"""Many songs → one report: what ``predict.py`` does once its model is loaded.

Songs come from files, folders (searched recursively for every extension ``unmix.audio``
decodes) and YouTube links (downloaded into a temporary folder first). One bad song is an error
line and the others go on; the report names the failures and the real-time factor. Which model
separates is the caller's choice: this module takes a loaded separator.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unmix.errors import AudioError, UnmixError
from unmix.progress import SecondsBar
from unmix.separation.outputs import OutputSpec, song_name_of

logger = logging.getLogger(__name__)


@dataclass
class SeparationReport:
    """The outcome of a batch of songs.

    Attributes:
        done: ``(song, {stem: written file})`` for every separated song.
        failed: ``(song, one-line reason)`` for every song that could not be separated.
        audio_seconds: seconds of audio separated.
        wall_seconds: wall time of the separation (model load excluded).
    """

    done: list[tuple[str, dict[str, Path]]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0

    @property
    def real_time_factor(self) -> float:
        """Seconds of audio per second of wall time."""
        return self.audio_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def summary_lines(self) -> list[str]:
        """One line per written song, one naming the failed songs (if any), and the real-time factor."""
        lines = [f"{song}: " + ", ".join(f"{stem} {path}" for stem, path in paths.items()) for song, paths in self.done]
        if self.failed:
            total = len(self.done) + len(self.failed)
            lines.append(f"{len(self.failed)} of {total} songs failed: " + ", ".join(song for song, _ in self.failed))
        lines.append(
            f"separated {len(self.done)} song{'s' if len(self.done) != 1 else ''} "
            f"({self.audio_seconds:.1f} s of audio) in {self.wall_seconds:.1f} s: "
            f"{self.real_time_factor:.1f}x real time"
        )
        return lines


def find_songs(folder: Path) -> list[Path]:
    """Every decodable file under ``folder`` (recursively), in a stable order.

    Raises:
        AudioError: the folder does not exist.
    """
    from unmix import audio

    if not folder.is_dir():
        raise AudioError(f"song folder not found: {folder}")
    return sorted(p for p in folder.rglob("*") if p.is_file() and audio.is_audio_file(p) and not p.name.startswith("."))


def separate_songs(
    separator: Any,
    output: OutputSpec,
    *,
    songs: Sequence[Path] = (),
    folders: Sequence[Path] = (),
    youtube: Sequence[str] = (),
    show_progress: bool = True,
    downloader: Any = None,
) -> SeparationReport:
    """Separate songs, folders and YouTube links with one loaded separator; per-song errors are reported, not raised.

    Args:
        separator: a loaded ``Separator``.
        output: where and how the stems are written.
        songs: song files (a folder given here is searched like ``folders``).
        folders: folders searched recursively.
        youtube: links downloaded with yt-dlp.
        show_progress: draw a progressbar2 bar per song on stderr.
        downloader: passed to ``unmix.audio.youtube.download`` (tests).

    Returns:
        A :class:`SeparationReport`.
    """
    report = SeparationReport()
    started = time.perf_counter()
    used: set[str] = set()
    for label, path in _local_songs(songs, folders, report):
        _separate_one(separator, label, path, output, report, used, show_progress=show_progress)
    if youtube:
        from unmix.audio import youtube as youtube_audio

        with tempfile.TemporaryDirectory(prefix="unmix-youtube-") as temporary:
            for url in youtube:
                try:
                    path = youtube_audio.download(url, Path(temporary), downloader=downloader)
                except UnmixError as error:
                    _fail(report, url, str(error))
                    continue
                _separate_one(separator, url, path, output, report, used, show_progress=show_progress)
    report.wall_seconds = time.perf_counter() - started
    return report


def _local_songs(songs: Sequence[Path], folders: Sequence[Path], report: SeparationReport) -> Iterator[tuple[str, Path]]:
    """``(label, path)`` of every song file; a song given as a folder is searched like ``--songs``."""
    for song in songs:
        if Path(song).is_dir():
            folders = [*folders, Path(song)]
        else:
            yield str(song), Path(song)
    for folder in folders:
        try:
            found = find_songs(Path(folder))
        except UnmixError as error:
            _fail(report, str(folder), str(error))
            continue
        if not found:
            logger.warning("no audio files found in %s", folder)
        for path in found:
            yield str(path), path


def _separate_one(separator: Any, label: str, path: Path, output: OutputSpec, report: SeparationReport, used: set[str], *, show_progress: bool) -> None:
    name = unique_name(song_name_of(path), used)
    bar = SecondsBar(name, show=show_progress)
    complete = False
    try:
        written = separator.separate_file(path, output.folder, file_format=output.file_format, filename=output.filename, stems=output.stems, song_name=name, progress=bar, bit_depth=output.bit_depth)
        complete = True
    except (UnmixError, OSError, RuntimeError, ValueError, MemoryError) as error:
        # Anything a broken file can make a decoder or encoder raise; a bug still fails loudly in --verbose.
        _fail(report, label, str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__, error=error)
        return
    finally:
        bar.finish(complete=complete)  # an interrupted or failed song never shows 100 %
    report.done.append((label, written))
    report.audio_seconds += bar.done_seconds


def unique_name(name: str, used: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3`` … when songs of one call share a name (they would overwrite each other)."""
    candidate, number = name, 1
    while candidate.lower() in used:
        number += 1
        candidate = f"{name}-{number}"
    if candidate != name:
        logger.warning("two songs are named %s: writing the second as %s", name, candidate)
    used.add(candidate.lower())
    return candidate


def _fail(report: SeparationReport, song: str, reason: str, *, error: BaseException | None = None) -> None:
    logger.error("%s: %s", song, reason)
    if error is not None:
        logger.debug("traceback of %s", song, exc_info=error)
    report.failed.append((song, reason))
