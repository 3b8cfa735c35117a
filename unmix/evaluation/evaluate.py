"""Score a separator (or an oracle) on songs and write the score files.

`evaluate_songs` drives any estimator over cached songs: a `Separator`'s `separate`,
an oracle, or a test double. The mixture it separates is `vocals + instrumental`, as in
training, so the references are exactly the stems the mixture is made of. One bad song
is logged and listed, never fatal: an evaluation of 50 songs should not be lost to one
unreadable cache file. Beside the chosen BSSEval metric, each stem's high-band SNR
(`band_snr`) is scored, for what SDR hardly sees. TensorFlow-free: TensorFlow comes in
only with a model.

Files of one evaluation, under `<folder>/<label>_<metric>/` for the test songs (e.g.
`runs/R/evaluation/musdb18-7/model_museval/`) and `<folder>/<label>_<metric>_<split>/` for
another split (`model_museval_validation/`)::

    tracks.csv              per-track medians (`;`), one row per song
    sdr.png                 box plot of per-track SDR, vocals and instrumental
    test/<track>.json       museval's per-track JSON; `museval.MethodStore().add_eval_dir`
                            reads the folder (museval looks only under `test/`)
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Union

import numpy as np

from unmix.data.cache import CachedSong, read_stems
from unmix.progress import count_bar
from unmix.errors import DataError
from unmix.evaluation import bsseval, scores_io, track_scores
from unmix.evaluation.band_snr import DEFAULT_EDGE_HZ, check_edge_hz, high_band_snr
from unmix.evaluation.oracles import Oracle
from unmix.evaluation.plots import sdr_box_plot

logger = logging.getLogger(__name__)

SOURCES = ("vocals", "instrumental")
# (song id, vocals, instrumental) with float (channels, samples) stems.
SongStems = tuple[str, np.ndarray, np.ndarray]
SongItem = Union[CachedSong, SongStems]
# (mixture (channels, samples), sample rate) -> {"vocals", "instrumental"}.
Estimator = Callable[..., Mapping[str, np.ndarray]]
# (index of the scored song, track name, estimates); e.g. saves the first songs' audio.
EstimatesHook = Callable[[int, str, Mapping[str, np.ndarray]], None]
_AUDIO_SUFFIXES = (".stem.mp4", ".wav", ".flac", ".mp3", ".ogg", ".m4a", ".aac", ".mp4", ".aiff", ".aif", ".webm", ".opus")


@dataclass(frozen=True)
class EvaluationResult:
    """The scores of one evaluation.

    Attributes:
        metric: "museval", "mir_eval" or "global".
        tracks: `(track name, TrackScores)` of every scored song, in song order.
        failed: `(song id, reason)` of every song that could not be scored.
        separation_s: seconds spent separating (or building oracle estimates).
        scoring_s: seconds spent in the metric.
    """

    metric: str
    tracks: tuple[tuple[str, track_scores.TrackScores], ...]
    failed: tuple[tuple[str, str], ...] = ()
    separation_s: float = 0.0
    scoring_s: float = 0.0

    def aggregated(self) -> dict[str, dict[str, dict[str, float]]]:
        """`track_scores.aggregate` of the tracks: median and mean over tracks of track medians.

        Raises:
            DataError: no song was scored.
        """
        return self._aggregate

    @functools.cached_property
    def _aggregate(self) -> dict[str, dict[str, dict[str, float]]]:
        return track_scores.aggregate([scores for _, scores in self.tracks])

    def medians(self) -> dict[str, dict[str, float]]:
        """`{source: {metric_name: median over tracks}}`, the published figure.

        Raises:
            DataError: no song was scored.
        """
        return scores_io.median_table(self.aggregated())


# Re-exported: callers check the metric here before any song is separated.
check_metric = bsseval.check_metric


def track_name(song_id: str) -> str:
    """The track name of a song id: its last path part without an audio extension.

    "train/ANiMAL - Rockshow.stem.mp4" gives "ANiMAL - Rockshow", "seed/Song A" gives
    "Song A"; museval names its JSON files after the track the same way.
    """
    name = PurePosixPath(str(song_id)).name or str(song_id)
    for suffix in _AUDIO_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def evaluate_songs(
    estimator: Estimator | Oracle,
    songs: Iterable[SongItem],
    *,
    sample_rate: int,
    metric: str = "museval",
    progress: bool = True,
    on_estimates: EstimatesHook | None = None,
    high_band_edge_hz: float = DEFAULT_EDGE_HZ,
) -> EvaluationResult:
    """Separate every song with `estimator` and score the estimates against its stems.

    Args:
        estimator: called as `estimator(mixture, sample_rate=sample_rate)` with the float32
            `(channels, samples)` mixture, returning `{"vocals", "instrumental"}` arrays of
            the mixture's shape (e.g. `Separator.separate`); or an `Oracle`, which is given
            the true stems instead.
        songs: `CachedSong`s (read here, so an unreadable file fails only its song) or
            `(song id, vocals, instrumental)` tuples of float `(channels, samples)` arrays.
        sample_rate: Hz of the stems; a cached song at another rate fails.
        metric: "museval", "mir_eval" or "global".
        progress: show a progress bar over songs on stderr.
        on_estimates: called with `(index, track name, estimates)` after each scored song;
            an exception in it is logged and the song still counts.
        high_band_edge_hz: each stem's high-band SNR scores the bins above this frequency
            (`TrackScores.high_band_snr`).

    Returns:
        The per-track scores, the failed songs and the time spent.

    Raises:
        ConfigurationError: an unknown metric or an edge that is not a positive frequency
            (checked before any song is separated).
    """
    metric = check_metric(metric)
    high_band_edge_hz = check_edge_hz(high_band_edge_hz)
    items = list(songs) if not isinstance(songs, Sequence) else songs
    bar = count_bar("scoring", len(items), unit="songs") if progress else None
    tracks: list[tuple[str, track_scores.TrackScores]] = []
    failed: list[tuple[str, str]] = []
    names: set[str] = set()
    separation_s = scoring_s = 0.0
    for position, item in enumerate(items):
        song_id = item.song_id if isinstance(item, CachedSong) else str(item[0])
        try:
            references = _references(item, sample_rate=sample_rate)
            start = time.perf_counter()
            estimates = _estimate(estimator, references, sample_rate=sample_rate)
            middle = time.perf_counter()
            scores = bsseval.score(references, estimates, sample_rate=sample_rate, metric=metric)
            high_band = {
                s: high_band_snr(references[s], estimates[s], sample_rate=sample_rate, edge_hz=high_band_edge_hz) for s in SOURCES
            }
            scores = dataclasses.replace(scores, high_band_snr=high_band, high_band_edge_hz=high_band_edge_hz)
            separation_s += middle - start
            scoring_s += time.perf_counter() - middle
        except Exception as error:  # one bad song never ends an evaluation
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            logger.error("song %r could not be scored: %s", song_id, reason)
            logger.debug("traceback of %r", song_id, exc_info=error)
            failed.append((song_id, reason))
        else:
            name = _unique(track_name(song_id), names)
            tracks.append((name, scores))
            if on_estimates is not None:
                try:
                    on_estimates(len(tracks) - 1, name, estimates)
                except Exception as error:
                    logger.warning("song %r: could not handle its estimates: %s", song_id, error)
            del estimates, references
        if bar is not None:
            bar.update(position + 1)
    if bar is not None:
        bar.finish()
    if failed:
        logger.warning("%d of %d song(s) could not be scored: %s", len(failed), len(items), ", ".join(i for i, _ in failed))
    return EvaluationResult(metric, tuple(tracks), tuple(failed), separation_s, scoring_s)


@dataclass(frozen=True)
class EvaluationFiles:
    """Where `write_evaluation` put the files of one evaluation."""

    folder: Path
    tracks_csv: Path
    box_plot: Path | None
    json_files: tuple[Path, ...]


def write_evaluation(
    result: EvaluationResult, folder: str | Path, *, label: str, split: str = "test", title: str = ""
) -> EvaluationFiles:
    """Write the per-track CSV, the museval JSON files and the SDR box plot.

    Args:
        result: from `evaluate_songs`.
        folder: e.g. `RunFolder.evaluation(collection)`; the files go to
            `<folder>/<label>_<metric>/` (`<label>_<metric>_<split>/` for a split other than
            the test songs), so models, oracles, metrics and splits never overwrite each other.
        label: what was scored, e.g. "model" or "oracle-irm".
        split: which songs were scored: "test" (the default, whose folder keeps the name it
            always had), "validation" or "all".
        title: the box plot's title.

    Returns:
        The paths written. A box plot that fails is a warning and `box_plot` is None.

    Raises:
        DataError: no song was scored.
    """
    if not result.tracks:
        raise DataError(f"nothing to write to {folder}: no song was scored ({len(result.failed)} failed)")
    target = Path(folder) / (f"{label}_{result.metric}" if split == "test" else f"{label}_{result.metric}_{split}")
    tracks_csv = target / scores_io.TRACKS_FILE
    scores_io.write_track_table(tracks_csv, result.tracks)
    json_files = []
    for name, scores in result.tracks:
        path = target / "test" / f"{_safe_file_name(name)}.json"
        scores_io.write_museval_json(path, scores, name)
        json_files.append(path)
    box_plot: Path | None = target / "sdr.png"
    try:
        sdr_box_plot(box_plot, result.tracks, title=title or f"{label}: per-track SDR ({result.metric})")
    except Exception as error:  # a plot never costs the scores
        logger.warning("could not write %s: %s", box_plot, error)
        box_plot = None
    return EvaluationFiles(target, tracks_csv, box_plot, tuple(json_files))


def write_accuracy(result: EvaluationResult, path: str | Path, *, epoch: int, kind: str) -> None:
    """Append the median over tracks as one row of `accuracy_<collection>.csv`.

    Raises:
        DataError: no song was scored, or the file has another header.
    """
    scores_io.write_accuracy_row(path, epoch=epoch, kind=kind, medians=result.medians(), metric=result.metric)


def format_table(result: EvaluationResult, *, title: str) -> list[str]:
    """The scores as text lines for a terminal: aggregate medians, means, songs, failures."""
    lines = [title]
    if result.tracks:
        aggregated = result.aggregated()
        names = [n for n in track_scores.METRIC_NAMES if any(n in aggregated[s] for s in SOURCES if s in aggregated)]
        high_band = [aggregated[s][track_scores.HIGH_BAND_SNR] for s in SOURCES if track_scores.HIGH_BAND_SNR in aggregated.get(s, {})]
        edge_hz = result.tracks[0][1].high_band_edge_hz
        if any(v["n_tracks"] for v in high_band):  # NaN for every song: no band at this sample rate, said below
            names.append(track_scores.HIGH_BAND_SNR)
        widths = {n: max(9, len(_HEADINGS.get(n, n)) + 2) for n in names}
        lines.append(f"{'median over songs':<20}" + "".join(f"{_HEADINGS.get(n, n):>{widths[n]}}" for n in names))
        for statistic in ("median", "mean"):
            for source in SOURCES:
                values = aggregated.get(source, {})
                cells = "".join(f"{table_cell(values.get(n, {}).get(statistic, math.nan)):>{widths[n]}}" for n in names)
                label = source if statistic == "median" else f"{source} (mean)"
                lines.append(f"{label:<20}{cells}")
        if track_scores.HIGH_BAND_SNR in names:
            lines.append(f"high-band SNR: the STFT bins above {edge_hz:g} Hz, whole song")
        elif high_band:
            lines.append(f"high-band SNR: no STFT bin above {edge_hz:g} Hz at this sample rate; not scored")
        lines.append("")
        lines.append(f"{'song':<40}{'vocals SDR':>12}{'instr. SDR':>12}")
        for name, scores in result.tracks:
            medians = scores.medians()
            short = name if len(name) <= 38 else name[:35] + "..."
            lines.append(
                f"{short:<40}{table_cell(medians['vocals']['SDR']):>12}{table_cell(medians['instrumental']['SDR']):>12}"
            )
        lines.append(
            f"{len(result.tracks)} song(s) scored ({result.metric}); separation {result.separation_s:.1f} s, "
            f"scoring {result.scoring_s:.1f} s"
        )
    return lines + failure_lines(result.failed, noun="song")


def failure_lines(failed: Sequence[tuple[str, str]], *, noun: str) -> list[str]:
    """``N <noun>(s) failed:`` and one indented ``id: reason`` line each; nothing when none failed."""
    if not failed:
        return []
    return [f"{len(failed)} {noun}(s) failed:", *(f"  {song_id}: {reason}" for song_id, reason in failed)]


# Column headings of the table where the metric's key is not the heading.
_HEADINGS = {track_scores.HIGH_BAND_SNR: "high-band SNR"}


def _references(item: SongItem, *, sample_rate: int) -> dict[str, np.ndarray]:
    if isinstance(item, CachedSong):
        if item.sample_rate != sample_rate:
            raise DataError(
                f"song {item.song_id!r}: Received: a cache at {item.sample_rate} Hz; expected {sample_rate} Hz."
            )
        vocals, instrumental = read_stems(item)
    else:
        _, vocals, instrumental = item
    return {"vocals": np.asarray(vocals, dtype=np.float32), "instrumental": np.asarray(instrumental, dtype=np.float32)}


def _estimate(estimator: Any, references: Mapping[str, np.ndarray], *, sample_rate: int) -> dict[str, np.ndarray]:
    if isinstance(estimator, Oracle):
        estimates = estimator(references["vocals"], references["instrumental"])
    else:
        mix = references["vocals"] + references["instrumental"]
        estimates = estimator(mix, sample_rate=sample_rate)
    missing = [s for s in SOURCES if s not in estimates]
    if missing:
        raise DataError(f"Received: estimates for {sorted(estimates)}; expected {list(SOURCES)}.")
    return {s: np.asarray(estimates[s], dtype=np.float32) for s in SOURCES}


def _unique(name: str, taken: set[str]) -> str:
    candidate, count = name, 1
    while candidate in taken:
        count += 1
        candidate = f"{name} ({count})"
    taken.add(candidate)
    return candidate


def _safe_file_name(name: str) -> str:
    return "".join("_" if c in '/\\:*?"<>|' or ord(c) < 32 else c for c in name).strip() or "track"


def table_cell(value: float) -> str:
    """A score as the printed tables show it: two decimals, or nan."""
    return "nan" if value is None or not math.isfinite(float(value)) else f"{float(value):.2f}"
