"""Song-by-song comparison of two evaluations of the same songs.

A median over a handful of songs can rise while most songs get worse: on the 14 musdb18-7
valid clips a model 0.06 dB better in median vocals SDR was worse on 11 of them. So when two
models are compared, each song is compared with itself: how many songs each stem improved on,
and the median and mean of the per-song differences. The high-band SNR is compared the same
way when the baseline has it, scored above the same edge.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from unmix.errors import ConfigurationError
from unmix.evaluation.scores_io import HIGH_BAND_EDGE_COLUMN, SOURCE_PREFIXES, TRACKS_FILE, read_track_table, score_column
from unmix.evaluation.track_scores import HIGH_BAND_SNR, TrackScores


@dataclass(frozen=True)
class StemComparison:
    """One stem's per-song differences (this evaluation minus the baseline), in dB.

    Attributes:
        stem: "vocals" or "instrumental".
        differences: one per song scored in both and finite in both, in song order.
    """

    stem: str
    differences: tuple[float, ...]

    @property
    def n_better(self) -> int:
        return sum(d > 0 for d in self.differences)

    @property
    def n_worse(self) -> int:
        return sum(d < 0 for d in self.differences)

    @property
    def median(self) -> float:
        return statistics.median(self.differences) if self.differences else math.nan

    @property
    def mean(self) -> float:
        return statistics.fmean(self.differences) if self.differences else math.nan


def baseline_tracks(path: str | Path) -> Path:
    """The ``tracks.csv`` that ``--baseline`` names: the file, or the folder that holds it.

    Raises:
        ConfigurationError: neither (the message says where evaluate.py writes it).
    """
    path = Path(path).expanduser()
    if path.is_dir() and (path / TRACKS_FILE).is_file():
        return path / TRACKS_FILE
    if path.is_file():
        return path
    raise ConfigurationError(
        f"--baseline {path}: no {TRACKS_FILE} there; give the {TRACKS_FILE} (or its folder) of an earlier evaluate.py run, "
        "the folder it printed after 'scores:'"
    )


def compare(
    tracks: Sequence[tuple[str, TrackScores]], baseline: Mapping[str, Mapping[str, float]], *, metric_name: str = "SDR"
) -> tuple[tuple[StemComparison, ...], tuple[str, ...]]:
    """Per-song differences of ``metric_name`` between ``tracks`` and the baseline's rows.

    A song where either side lacks the score, or has NaN, is left out of that stem.

    Returns:
        ``(one StemComparison per stem, names of this evaluation's songs the baseline lacks)``.

    Raises:
        ConfigurationError: no song is in both.
    """
    shared = [(name, scores.medians()) for name, scores in tracks if name in baseline]  # medians once per song
    missing = tuple(name for name, _ in tracks if name not in baseline)
    if not shared:
        raise ConfigurationError(f"--baseline: none of the {len(tracks)} scored songs is in the baseline; compare evaluations of the same songs")
    stems = []
    for stem in SOURCE_PREFIXES:
        column = score_column(stem, metric_name)
        differences = []
        for name, medians in shared:
            now, before = medians[stem].get(metric_name, math.nan), baseline[name].get(column, math.nan)
            if math.isfinite(now) and math.isfinite(before):
                differences.append(now - before)
        stems.append(StemComparison(stem, tuple(differences)))
    return tuple(stems), missing


def read_baseline(path: str | Path, *, metric: str) -> tuple[Path, dict[str, dict[str, float]]]:
    """The rows of the ``tracks.csv`` that ``path`` names (``baseline_tracks``), read before any scoring.

    Raises:
        ConfigurationError: no such file, or the baseline was scored with another metric.
        DataError: the file is not a readable tracks.csv.
    """
    source = baseline_tracks(path)
    baseline_metric, rows = read_track_table(source)
    if baseline_metric != metric:
        raise ConfigurationError(f"--baseline {source} was scored with {baseline_metric}, this evaluation with {metric}; pass --metric {baseline_metric}")
    return source, rows


def format_comparison(
    source: Path, stems: Sequence[StemComparison], missing: Sequence[str], *, metric_label: str = "SDR"
) -> list[str]:
    """The lines of one metric's comparison, as evaluate.py prints them under its table."""
    n = max(len(s.differences) for s in stems)
    lines = [f"against {source}, song by song ({metric_label}, this minus baseline, {n} songs in both):"]
    for s in stems:
        lines.append(
            f"{s.stem:<13} better on {s.n_better:>3}, worse on {s.n_worse:>3}; "
            f"median difference {s.median:+.2f} dB, mean {s.mean:+.2f} dB"
        )
    if missing:
        lines.append(f"{len(missing)} song(s) not in the baseline, left out: {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
    return lines


def format_baseline_comparison(
    source: Path, tracks: Sequence[tuple[str, TrackScores]], baseline: Mapping[str, Mapping[str, float]]
) -> list[str]:
    """SDR, then the high-band SNR, song by song against the baseline's rows (``read_baseline``).

    The high-band SNR is compared only where it means the same thing: a baseline written
    before it was scored, or scored above another edge, gets one line saying so instead, and
    a sample rate with no band above the edge (NaN on both sides) gets nothing.

    Raises:
        ConfigurationError: no song is in both.
    """
    lines = format_comparison(source, *compare(tracks, baseline))
    shared = [baseline[name] for name, _ in tracks if name in baseline]
    edge_hz = tracks[0][1].high_band_edge_hz
    if not math.isfinite(edge_hz):  # this evaluation did not score it
        return lines
    baseline_edges = {row[HIGH_BAND_EDGE_COLUMN] for row in shared if math.isfinite(row.get(HIGH_BAND_EDGE_COLUMN, math.nan))}
    if not baseline_edges:
        return [*lines, "high-band SNR: not in the baseline (written before it was scored); not compared"]
    if not all(math.isclose(edge, edge_hz) for edge in baseline_edges):
        return [*lines, f"high-band SNR: the baseline scored it above {_hz(baseline_edges)}, this evaluation above {edge_hz:g} Hz; not compared"]
    stems, _ = compare(tracks, baseline, metric_name=HIGH_BAND_SNR)
    if not any(s.differences for s in stems):
        return lines
    return [*lines, *format_comparison(source, stems, (), metric_label=f"high-band SNR above {edge_hz:g} Hz")]


def _hz(edges: set[float]) -> str:
    return ", ".join(f"{edge:g}" for edge in sorted(edges)) + " Hz"
