"""The scores of one track (`TrackScores`) and their aggregation over tracks.

Kept apart from the scorers in `metrics` so that code which only reads, writes,
plots or aggregates scores (score files, plots, the evaluation report) needs
neither museval nor mir_eval, and so each module keeps one job. NumPy only, never
TensorFlow.
"""

from __future__ import annotations

import importlib.metadata
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from unmix.errors import DataError

log = logging.getLogger(__name__)

METRIC_NAMES = ("SDR", "SIR", "SAR", "ISR")
# One value per track and source (`evaluation.band_snr`), beside the BSSEval medians.
HIGH_BAND_SNR = "high_band_SNR"
# museval and MUSDB18 call the instrumental stem "accompaniment".
MUSEVAL_NAMES = {"instrumental": "accompaniment"}


@dataclass(frozen=True)
class TrackScores:
    """The scores of one track, per source and metric, window by window.

    Attributes:
        metric: "museval", "mir_eval" or "global".
        frames: `{source: {metric_name: float64 array of shape (n_windows,)}}`;
            metric names are "SDR", "SIR", "SAR" and "ISR" (mir_eval has no ISR,
            global has SDR only). NaN marks a window without score: a silent
            reference or estimate, or an infinite ratio, which museval's
            `TrackStore` also writes as NaN.
        n_windows: windows per source (1 for the whole-track metrics).
        n_nan_windows: `{source: windows whose SDR is NaN}`.
        window_s: window length in seconds (the track length for whole-track
            metrics; NaN when the sample rate was not given).
        hop_s: hop between windows in seconds.
        high_band_snr: `{source: dB}`, the whole track's high-band SNR
            (`evaluation.band_snr`; NaN where the sample rate has no band above the
            edge); empty when it was not scored.
        high_band_edge_hz: the edge it was scored above (NaN when not scored).
    """

    metric: str
    frames: dict[str, dict[str, np.ndarray]]
    n_windows: int
    n_nan_windows: dict[str, int]
    window_s: float
    hop_s: float
    high_band_snr: dict[str, float] = field(default_factory=dict)
    high_band_edge_hz: float = math.nan

    def medians(self) -> dict[str, dict[str, float]]:
        """Median over windows, NaN windows skipped (museval's `np.nanmedian`).

        The high-band SNR, one value per track, joins them as is under `HIGH_BAND_SNR`,
        so that `aggregate` takes its median over tracks like the others.

        Returns:
            `{source: {metric_name: float}}`; NaN where every window is NaN.
        """
        medians = {
            source: {name: _nanmedian(values) for name, values in metrics.items()}
            for source, metrics in self.frames.items()
        }
        for source, value in self.high_band_snr.items():
            medians.setdefault(source, {})[HIGH_BAND_SNR] = float(value)
        return medians

    def to_museval_json(self, track_name: str) -> dict:
        """The scores in museval's per-track JSON layout (`museval.TrackStore.scores`).

        Values are quantised to 5 decimals as museval does; "instrumental" becomes
        "accompaniment"; a metric this score lacks (ISR of mir_eval) is NaN, so
        `museval.aggregate.json2df` can read every file.

        Args:
            track_name: the track; museval keeps it out of the JSON (the file name
                carries it), so it only names the track in the log.

        Returns:
            `{"targets": [{"name", "frames": [{"time", "duration", "metrics"}]}],
            "museval_version"}`, ready for `json.dump(..., allow_nan=True)`.
        """
        targets = []
        for source, metrics in self.frames.items():
            frames = [
                {
                    "time": index * self.hop_s,
                    "duration": self.window_s,
                    "metrics": {
                        name: _quantize(metrics[name][index]) if name in metrics else float("nan")
                        for name in METRIC_NAMES
                    },
                }
                for index in range(self.n_windows)
            ]
            targets.append({"name": MUSEVAL_NAMES.get(source, source), "frames": frames})
        if any(self.n_nan_windows.values()):
            log.info("%s: windows without score written as NaN: %s", track_name, self.n_nan_windows)
        return {"targets": targets, "museval_version": importlib.metadata.version("museval")}


def aggregate(tracks: Sequence[TrackScores]) -> dict[str, dict[str, dict[str, float]]]:
    """Median (the published figure) and mean over tracks of the per-track medians.

    Tracks whose median is NaN (every window silent) are left out and counted.

    Args:
        tracks: scores of one metric for several tracks.

    Returns:
        `{source: {metric_name: {"median", "mean", "n_tracks", "n_nan_tracks"}}}`,
        where `n_tracks` counts the tracks that entered median and mean.

    Raises:
        DataError: no tracks, or tracks scored with different metrics.
    """
    if not tracks:
        raise DataError("aggregate: Received: no track scores; score at least one track first.")
    kinds = sorted({track.metric for track in tracks})
    if len(kinds) > 1:
        raise DataError(f"aggregate: Received: scores of metrics {kinds}; aggregate one metric at a time.")
    medians = [track.medians() for track in tracks]
    result: dict[str, dict[str, dict[str, float]]] = {}
    for source, metrics in medians[0].items():
        result[source] = {}
        for name in metrics:
            values = np.array([m.get(source, {}).get(name, np.nan) for m in medians], dtype=np.float64)
            finite = values[~np.isnan(values)]
            result[source][name] = {
                "median": float(np.median(finite)) if finite.size else float("nan"),
                "mean": float(np.mean(finite)) if finite.size else float("nan"),
                "n_tracks": int(finite.size),
                "n_nan_tracks": int(values.size - finite.size),
            }
    return result


def _nanmedian(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(np.median(finite)) if finite.size else float("nan")


def _quantize(value: float) -> float:
    # museval.TrackStore._q: 5 decimals, half-even on the exact binary value; inf -> NaN.
    if not np.isfinite(value):
        return float("nan")
    return float(Decimal(float(value)).quantize(Decimal(".00001")))
