"""Writers for scores: the run's accuracy CSV, a per-track table and museval JSON files.

The CSVs are `;`-separated like the seed's `accuracy_<collection>.csv`, with ISR and
the metric name added so rows of different metrics can share a file. The per-track table
also carries each stem's high-band SNR and its edge, in columns after the older ones, so a
table written before them still reads. The JSON files use museval's per-track layout, so
museval's own aggregation tools read them.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

from unmix.errors import DataError
from unmix.evaluation.track_scores import HIGH_BAND_SNR, METRIC_NAMES, TrackScores

# The per-track table's file name in an evaluation folder (written by evaluate.py, read by --baseline).
TRACKS_FILE = "tracks.csv"
# Column prefix per source, in column order.
SOURCE_PREFIXES = {"vocals": "voc", "instrumental": "inst"}


def score_column(source: str, metric_name: str) -> str:
    """The CSV column of one source's score, e.g. ``("vocals", "SDR")`` -> ``voc_sdr``."""
    return f"{SOURCE_PREFIXES[source]}_{metric_name.lower()}"


SCORE_COLUMNS = tuple(score_column(source, name) for source in SOURCE_PREFIXES for name in METRIC_NAMES)
ACCURACY_COLUMNS = ("epoch", "type", *SCORE_COLUMNS, "metric")
HIGH_BAND_COLUMNS = tuple(score_column(source, HIGH_BAND_SNR) for source in SOURCE_PREFIXES)  # voc_high_band_snr, ...
HIGH_BAND_EDGE_COLUMN = "high_band_edge_hz"
# The table before the high-band SNR (still read, e.g. as a --baseline); today's appends its columns.
LEGACY_TRACK_COLUMNS = (
    "track", *SCORE_COLUMNS, "metric", "n_windows", *(f"{p}_nan_windows" for p in SOURCE_PREFIXES.values())
)
TRACK_COLUMNS = (*LEGACY_TRACK_COLUMNS, *HIGH_BAND_COLUMNS, HIGH_BAND_EDGE_COLUMN)


def write_accuracy_row(
    path: str | Path,
    *,
    epoch: int,
    kind: str,
    medians: Mapping[str, Mapping[str, float]],
    metric: str,
) -> None:
    """Append one row of aggregated scores to the accuracy CSV, writing the header once.

    Args:
        path: the CSV file (`accuracy_<collection>.csv`); created with its parent folder
            when missing.
        epoch: the training epoch the scores belong to.
        kind: what was scored, e.g. "test" or "valid" (the seed's `type` column).
        medians: `{source: {metric_name: float}}` for "vocals" and "instrumental",
            e.g. `TrackScores.medians()` or `median_table(aggregate(...))`; a missing
            metric (ISR of mir_eval) is written as NaN.
        metric: "museval", "mir_eval" or "global".

    Raises:
        DataError: a source is missing from `medians`, or the file exists with
            another header (an older layout: start a new file).
    """
    path = Path(path)
    row = [str(int(epoch)), kind, *_score_cells(medians, where=str(path)), metric]
    _append_rows(path, ACCURACY_COLUMNS, [row])


def write_track_table(path: str | Path, rows: Iterable[tuple[str, TrackScores]]) -> None:
    """Write the per-track medians of one evaluation to a `;`-separated CSV (overwrites).

    Args:
        path: the CSV file; created with its parent folder when missing.
        rows: `(track name, TrackScores)` pairs, in the order to write them.

    Raises:
        DataError: a track lacks "vocals" or "instrumental" scores.
    """
    path = Path(path)
    lines = []
    for track_name, scores in rows:
        nan_windows = [str(scores.n_nan_windows.get(source, 0)) for source in SOURCE_PREFIXES]
        cells = _score_cells(scores.medians(), where=f"{path} ({track_name})")
        high_band = [format_number(scores.high_band_snr.get(source, math.nan)) for source in SOURCE_PREFIXES]
        lines.append(
            [track_name, *cells, scores.metric, str(scores.n_windows), *nan_windows, *high_band, format_number(scores.high_band_edge_hz)]
        )
    write_table(path, TRACK_COLUMNS, lines)


def write_table(path: str | Path, header: Iterable[str], rows: Iterable[Iterable[str]]) -> None:
    """Write a ``;``-separated table with its header (the layout of every score table), creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def read_track_table(path: str | Path) -> tuple[str, dict[str, dict[str, float]]]:
    """Read a per-track table that `write_track_table` wrote.

    Returns:
        ``(metric, {track name: {column: value}})`` with the score columns as floats
        (``voc_sdr``, ``inst_sdr``, ..., ``voc_high_band_snr``, ``inst_high_band_snr``,
        ``high_band_edge_hz``); a table written before the high-band SNR lacks its three.

    Raises:
        DataError: the file is missing or unreadable, has another header, mixes metrics or holds no track.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle, delimiter=";"))
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot read scores {path}: {getattr(error, 'strerror', None) or error}") from None
    header = tuple(rows[0]) if rows else ()
    if header not in (TRACK_COLUMNS, LEGACY_TRACK_COLUMNS):
        raise DataError(f"{path} is not a tracks.csv of evaluate.py: its header is not {';'.join(TRACK_COLUMNS)!r}")
    numbers = (*SCORE_COLUMNS, *HIGH_BAND_COLUMNS, HIGH_BAND_EDGE_COLUMN) if header == TRACK_COLUMNS else SCORE_COLUMNS
    tracks, metrics = {}, set()
    for row in rows[1:]:
        if len(row) != len(header):
            raise DataError(f"{path}: a row has {len(row)} cells; expected {len(header)}")
        cells = dict(zip(header, row))
        try:
            tracks[cells["track"]] = {column: float(cells[column]) for column in numbers}
        except ValueError:
            raise DataError(f"{path}: track {cells['track']!r} has a score that is not a number") from None
        metrics.add(cells["metric"])
    if not tracks:
        raise DataError(f"{path} holds no track")
    if len(metrics) > 1:
        raise DataError(f"{path} mixes metrics {sorted(metrics)}")
    return metrics.pop(), tracks


def write_museval_json(path: str | Path, track_scores: TrackScores, track_name: str) -> None:
    """Write one track's scores as a museval JSON file (`museval.TrackStore` layout).

    museval names these files `<track name>.json` and reads them with
    `museval.EvalStore.add_eval_dir` / `museval.aggregate.json2df`.

    Args:
        path: the JSON file; created with its parent folder when missing.
        track_scores: the scores to write.
        track_name: the track (see `TrackScores.to_museval_json`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = track_scores.to_museval_json(track_name)
    # NaN is written as the bare token NaN, as museval's simplejson output does.
    path.write_text(json.dumps(document, indent=2, allow_nan=True), encoding="utf-8")


def median_table(aggregated: Mapping[str, Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, float]]:
    """Pick the medians out of `track_scores.aggregate`'s result for `write_accuracy_row`.

    Args:
        aggregated: `{source: {metric_name: {"median": float, ...}}}`.

    Returns:
        `{source: {metric_name: median}}`.
    """
    return {source: {name: float(v["median"]) for name, v in m.items()} for source, m in aggregated.items()}


def _score_cells(medians: Mapping[str, Mapping[str, float]], *, where: str) -> list[str]:
    missing = [source for source in SOURCE_PREFIXES if source not in medians]
    if missing:
        raise DataError(f"{where}: Received: scores for {sorted(medians)}; expected {list(SOURCE_PREFIXES)}.")
    return [format_number(medians[source].get(name, math.nan)) for source in SOURCE_PREFIXES for name in METRIC_NAMES]


def format_number(value: float) -> str:
    """A score as the tables store it: five decimals, or NaN."""
    value = float(value)
    return "NaN" if math.isnan(value) else f"{value:.5f}"


def _append_rows(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> None:
    expected = ";".join(header)
    if path.is_file() and path.stat().st_size > 0:
        with path.open(encoding="utf-8") as handle:
            found = handle.readline().rstrip("\r\n")
        if found != expected:
            raise DataError(
                f"{path}: Received: header {found!r}; expected {expected!r}. Write to a new file instead."
            )
        write_header = False
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_header = True
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        if write_header:
            writer.writerow(header)
        writer.writerows(rows)
