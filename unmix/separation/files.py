"""What ``predict.py`` does: load one model, separate every song given, report what happened.

Songs come from files, folders (searched recursively for every extension ``unmix.audio``
decodes) and YouTube links (downloaded into a temporary folder first). One bad song is an error
line and the others go on; the report names the failures and the real-time factor.
"""

from __future__ import annotations

import logging
import string
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unmix.progress import CurrentStderr
from unmix.errors import ConfigurationError, UnmixError

logger = logging.getLogger(__name__)

FORMATS = ("wav", "flac", "mp3")
STEMS = ("vocals", "instrumental")
TEMPLATE_FIELDS = ("song", "stem", "ext")


@dataclass
class SeparationReport:
    """The outcome of a separation command.

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


def song_name_of(path: Path) -> str:
    """The ``{song}`` of a file: its name without the extension (and without ``.stem`` of ``x.stem.mp4``)."""
    return path.name[: -len(path.suffix)].removesuffix(".stem") if path.suffix else path.name


def check_template(template: str, stems: Sequence[str]) -> None:
    """Reject a file name template that names unknown fields or writes every stem to one file.

    Raises:
        ConfigurationError: unknown field, bad syntax, an absolute path or ``..``, or no
            ``{stem}`` while several stems are written.
    """
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as error:
        raise ConfigurationError(f"--filename {template!r}: {error}; use fields {{song}}, {{stem}}, {{ext}}") from None
    unknown = sorted(names - set(TEMPLATE_FIELDS))
    if unknown:
        raise ConfigurationError(f"--filename {template!r}: unknown field {{{unknown[0]}}}; use {{song}}, {{stem}} and {{ext}}")
    if len(stems) > 1 and "stem" not in names:
        raise ConfigurationError(f"--filename {template!r} has no {{stem}}: every stem would be written to the same file")
    parts = Path(template).parts
    if Path(template).is_absolute() or ".." in parts:
        raise ConfigurationError(f"--filename {template!r} must be a relative path inside the output folder")


def stem_paths(output_dir: Path, song: str, *, template: str, stems: Sequence[str], file_format: str) -> dict[str, Path]:
    """Where each stem of ``song`` is written.

    Raises:
        ConfigurationError: unknown format or stem, or a bad template (see ``check_template``).
    """
    if file_format not in FORMATS:
        raise ConfigurationError(f"unknown output format {file_format!r}; expected one of {', '.join(FORMATS)}")
    unknown = [stem for stem in stems if stem not in STEMS]
    if not stems or unknown:
        raise ConfigurationError(f"stems must be vocals and/or instrumental, received {', '.join(stems) or 'none'}")
    check_template(template, stems)
    return {stem: Path(output_dir) / template.format(song=song, stem=stem, ext=file_format) for stem in stems}


def find_songs(folder: Path) -> list[Path]:
    """Every decodable file under ``folder`` (recursively), in a stable order.

    Raises:
        AudioError: the folder does not exist.
    """
    from unmix import audio
    from unmix.errors import AudioError

    if not folder.is_dir():
        raise AudioError(f"song folder not found: {folder}")
    return sorted(p for p in folder.rglob("*") if p.is_file() and audio.is_audio_file(p) and not p.name.startswith("."))


def separate_command(
    *,
    run_folder: Path | None,
    weights: Path | None,
    configuration: Path | None,
    working_directory: Path,
    sample_rate: int | None,
    songs: Sequence[Path],
    song_folders: Sequence[Path],
    youtube: Sequence[str],
    output: Path | None,
    file_format: str = "wav",
    filename: str = "{song}/{stem}.{ext}",
    stems: Sequence[str] = STEMS,
    batch_size: int | None = None,
    wiener_iterations: int | None = None,
    overlap: float | None = None,
    progress_bar: bool = True,
    downloader: Any = None,
) -> SeparationReport:
    """Separate songs, folders and YouTube links with one model load; per-song errors are reported, not raised.

    Args:
        run_folder: a training run (configuration, best weights; outputs default to its
            ``predictions/``).
        weights: a weights file, with ``configuration``, instead of a run folder.
        configuration: the configuration the weights were trained with.
        working_directory: outputs go here without ``run_folder`` or ``output``; a ``.env`` is
            read from here.
        sample_rate: the rate the model runs at (default: the configuration's).
        songs: song files.
        song_folders: folders searched recursively.
        youtube: links downloaded with yt-dlp.
        output: output folder (overrides the defaults above).
        file_format: "wav", "flac" or "mp3".
        filename: template with ``{song}``, ``{stem}``, ``{ext}``, relative to the output folder.
        stems: which stems to write.
        batch_size: windows per model call (default: the configuration's batch size × 4).
        wiener_iterations: -1 off, 0 soft masks, >= 1 Wiener filter (default: the configuration's).
        overlap: window overlap in [0, 1) (default: the configuration's).
        progress_bar: show a progressbar2 bar per song on stderr.
        downloader: passed to ``unmix.audio.youtube.download`` (tests).

    Returns:
        A :class:`SeparationReport`.

    Raises:
        ConfigurationError: no model given, a bad template, format or option.
        ModelError: the model cannot be loaded.
    """
    stems = tuple(stems)
    stem_paths(Path("."), "song", template=filename, stems=stems, file_format=file_format)  # fail before the model loads
    overrides = {"batch_size": batch_size, "wiener_iterations": wiener_iterations, "overlap": overlap, "sample_rate": sample_rate}
    overrides = {key: value for key, value in overrides.items() if value is not None}
    from unmix.separation.separator import Separator

    if run_folder is not None:
        separator = Separator.from_run_folder(run_folder, **overrides)
        from unmix.runfolder import RunFolder

        output_dir = output or RunFolder.open(run_folder).predictions
    elif weights is not None and configuration is not None:
        separator = Separator.from_weights(weights, configuration, working_directory=working_directory, **overrides)
        output_dir = output or working_directory
    else:
        from unmix.default_model import default_model_folder

        folder = default_model_folder()
        logger.info("using the built-in default model (%s); pass --run_folder or --weights for another", folder.name)
        separator = Separator.from_run_folder(folder, **overrides)
        output_dir = output or working_directory
    report = SeparationReport()
    started = time.perf_counter()
    used: set[str] = set()
    for label, path in _local_songs(songs, song_folders, report):
        _separate_one(separator, label, path, output_dir, report, used, file_format=file_format, filename=filename, stems=stems, progress_bar=progress_bar)
    if youtube:
        from unmix.audio import youtube as youtube_audio

        with tempfile.TemporaryDirectory(prefix="unmix-youtube-") as temporary:
            for url in youtube:
                try:
                    path = youtube_audio.download(url, Path(temporary), downloader=downloader)
                except UnmixError as error:
                    _fail(report, url, str(error))
                    continue
                _separate_one(separator, url, path, output_dir, report, used, file_format=file_format, filename=filename, stems=stems, progress_bar=progress_bar)
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


def _separate_one(separator: Any, label: str, path: Path, output_dir: Path, report: SeparationReport, used: set[str], **options: Any) -> None:
    name = _unique(song_name_of(path), used)
    bar = _ProgressBar(name, show=options.pop("progress_bar"))
    try:
        written = separator.separate_file(path, output_dir, song_name=name, progress=bar, **options)
    except (UnmixError, OSError, RuntimeError, ValueError, MemoryError) as error:
        # Anything a broken file can make a decoder or encoder raise; a bug still fails loudly in --verbose.
        _fail(report, label, str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__, error=error)
        return
    finally:
        bar.finish()
    report.done.append((label, written))
    report.audio_seconds += bar.done_seconds


def _unique(name: str, used: set[str]) -> str:
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


class _ProgressBar:
    """``progress(done_seconds, total_seconds)``: counts the seconds done and draws a progressbar2 bar on stderr."""

    def __init__(self, name: str, *, show: bool) -> None:
        self.name = name
        self.show = show
        self.done_seconds = 0.0
        self._bar: Any = None

    def __call__(self, done_seconds: float, total_seconds: float) -> None:
        self.done_seconds = done_seconds
        if not self.show:
            return
        if self._bar is None:
            import progressbar

            widgets = [f"{self.name[:40]} ", progressbar.Percentage(), " ", progressbar.Bar(), " ", progressbar.SimpleProgress(format="%(value)d/%(max_value)d s"), " ", progressbar.ETA()]
            self._bar = progressbar.ProgressBar(max_value=max(1, int(total_seconds)), widgets=widgets, fd=CurrentStderr(), max_error=False)
            self._bar.start()
        self._bar.update(min(int(done_seconds), self._bar.max_value))

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.finish()

