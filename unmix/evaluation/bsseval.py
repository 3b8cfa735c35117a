"""Separation scores: BSSEval v4 (museval), BSSEval v3 (mir_eval) and global SDR.

museval v4 is the headline (1 s windows, per-track median over windows, median over
tracks: the convention of SiSEC 2018 and most papers since); mir_eval v3 gives the
seed's whole-track numbers for comparison with older runs; global SDR is the MDX
challenge's filter-free measure, cheap enough for frequent checks. All three take
float `(channels, samples)` arrays keyed by source name ("vocals", "instrumental")
and never import TensorFlow. museval and mir_eval are imported when first used,
because museval pulls in pandas and musdb. The scorers return `TrackScores`, which
lives with its aggregation in `track_scores`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from unmix.errors import ConfigurationError, DataError, unknown_name
from unmix.evaluation.track_scores import METRIC_NAMES, TrackScores

log = logging.getLogger(__name__)

METRICS = ("museval", "mir_eval", "global")
# MDX challenge: keeps log10 finite for silent errors; negligible for real audio.
GLOBAL_SDR_EPSILON = 1e-7


def score_museval(
    references: Mapping[str, np.ndarray],
    estimates: Mapping[str, np.ndarray],
    *,
    sample_rate: int,
    window_s: float = 1.0,
    hop_s: float = 1.0,
) -> TrackScores:
    """BSSEval v4 scores of all sources evaluated together (`museval.evaluate`).

    Joint evaluation matters: museval fits its distortion filters on all estimates at
    once, and scoring vocals alone changes their SDR. Signals go to museval as
    float64 `(samples, channels)`, as `museval.eval_mus_track` receives them from
    musdb, in the references' order. A source that is silent over the whole track makes museval raise; here
    every window becomes NaN instead, with a warning.

    Args:
        references: `{source: float array (channels, samples)}`, the true stems.
        estimates: the separated stems, same keys and shapes.
        sample_rate: Hz; converts `window_s` and `hop_s` to samples as museval does.
        window_s: window length in seconds (museval default 1.0).
        hop_s: hop in seconds (museval default 1.0).

    Returns:
        `TrackScores` with SDR, SIR, SAR and ISR per window.

    Raises:
        DataError: the inputs disagree in keys or shape, or are not finite 2-D floats.
        ConfigurationError: `sample_rate`, `window_s` or `hop_s` is not positive.
    """
    names, n_samples = _validate(references, estimates)
    for key, value in (("sample_rate", sample_rate), ("window_s", window_s), ("hop_s", hop_s)):
        if not value > 0:
            raise ConfigurationError(f"score_museval: Received: {key}={value!r}; expected a positive number.")
    window, hop = int(window_s * sample_rate), int(hop_s * sample_rate)
    if window < 1 or hop < 1:
        raise ConfigurationError(
            f"score_museval: Received: window_s={window_s}, hop_s={hop_s} at {sample_rate} Hz, under one sample."
        )
    # museval.metrics.Framing: whole windows only, at least one.
    n_windows = (n_samples - window + hop) // hop if window < n_samples else 1
    silent = [n for n in names if _silent(references[n]) or _silent(estimates[n])]
    if silent:
        log.warning("museval: silent reference or estimate for %s; every window is NaN", silent)
        values = np.full((4, len(names), n_windows), np.nan)
    else:
        import museval

        as_museval = [[np.moveaxis(np.asarray(m[n], dtype=np.float64), 0, -1) for n in names]
                      for m in (references, estimates)]
        try:
            sdr, isr, sir, sar = museval.evaluate(*as_museval, win=window, hop=hop, mode="v4")
        except ValueError as error:
            raise DataError(f"museval rejected the signals of {names}: {error}") from error
        values = np.stack([sdr, sir, sar, isr]).astype(np.float64)
    return _track_scores("museval", names, values, window_s=window_s, hop_s=hop_s)


def score_mir_eval(
    references: Mapping[str, np.ndarray],
    estimates: Mapping[str, np.ndarray],
    *,
    sample_rate: int | None = None,
) -> TrackScores:
    """BSSEval v3 whole-track scores, the seed's measure (mir_eval `bss_eval_sources`).

    Each channel is scored on its own (`compute_permutation=False`), then SDR, SIR and
    SAR are averaged over channels. mir_eval raises on an all-zero source; here the
    track scores NaN instead, with a warning.

    Args:
        references: `{source: float array (channels, samples)}`.
        estimates: same keys and shapes.
        sample_rate: Hz; only sets the track duration written to JSON.

    Returns:
        `TrackScores` with one window holding SDR, SIR and SAR (no ISR).

    Raises:
        DataError: the inputs disagree in keys or shape, or are not finite 2-D floats.
    """
    names, n_samples = _validate(references, estimates)
    n_channels = references[names[0]].shape[0]
    silent = [n for n in names for c in range(n_channels)
              if not np.any(references[n][c]) or not np.any(estimates[n][c])]
    values = np.full((4, len(names), 1), np.nan)
    if silent:
        log.warning("mir_eval: silent channel of %s; the track scores NaN", sorted(set(silent)))
    else:
        from mir_eval.separation import bss_eval_sources

        per_channel = []
        for channel in range(n_channels):
            pair = [np.stack([np.asarray(m[n][channel], dtype=np.float64) for n in names])
                    for m in (references, estimates)]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # mir_eval 0.8 deprecation notice
                sdr, sir, sar, _ = bss_eval_sources(*pair, compute_permutation=False)
            per_channel.append(np.stack([sdr, sir, sar]))
        values[:3, :, 0] = np.mean(per_channel, axis=0)
    return _whole_track("mir_eval", names, values, n_samples, sample_rate, keep=("SDR", "SIR", "SAR"))


def score_global(
    references: Mapping[str, np.ndarray],
    estimates: Mapping[str, np.ndarray],
    *,
    sample_rate: int | None = None,
) -> TrackScores:
    """Global SDR: 10·log10(Σref² / Σ(ref − est)²) over both channels (MDX challenge).

    No distortion filter, so a gain error counts fully: an estimate of half the
    reference scores 6.02 dB. A silent reference has no meaningful ratio and scores
    NaN, as museval skips silent windows.

    Args:
        references: `{source: float array (channels, samples)}`.
        estimates: same keys and shapes.
        sample_rate: Hz; only sets the track duration written to JSON.

    Returns:
        `TrackScores` with one window holding SDR only.

    Raises:
        DataError: the inputs disagree in keys or shape, or are not finite 2-D floats.
    """
    names, n_samples = _validate(references, estimates)
    values = np.full((4, len(names), 1), np.nan)
    for index, name in enumerate(names):
        reference = np.asarray(references[name], dtype=np.float64)
        if not np.any(reference):
            log.warning("global SDR: silent %s reference; its SDR is NaN", name)
            continue
        error = reference - np.asarray(estimates[name], dtype=np.float64)
        ratio = (np.sum(reference**2) + GLOBAL_SDR_EPSILON) / (np.sum(error**2) + GLOBAL_SDR_EPSILON)
        values[0, index, 0] = 10.0 * np.log10(ratio)
    return _whole_track("global", names, values, n_samples, sample_rate, keep=("SDR",))


_SCORERS = {"museval": score_museval, "mir_eval": score_mir_eval, "global": score_global}


def check_metric(metric: str) -> str:
    """The metric name stripped and in lower case, so a typo fails before any work is done.

    Raises:
        ConfigurationError: the name is not one of `METRICS`.
    """
    key = str(metric).strip().lower()
    if key not in METRICS:
        raise unknown_name("metric", "metric", metric, METRICS)
    return key


def score(
    references: Mapping[str, np.ndarray],
    estimates: Mapping[str, np.ndarray],
    *,
    sample_rate: int,
    metric: str = "museval",
) -> TrackScores:
    """Score a track with the metric named in the configuration or on the command line.

    Args:
        references: `{source: float array (channels, samples)}`.
        estimates: same keys and shapes.
        sample_rate: Hz.
        metric: "museval", "mir_eval" or "global" (case-insensitive).

    Returns:
        The `TrackScores` of that metric.

    Raises:
        ConfigurationError: the metric is unknown.
        DataError: the inputs disagree in keys or shape, or are not finite 2-D floats.
    """
    return _SCORERS[check_metric(metric)](references, estimates, sample_rate=sample_rate)


def _validate(references: Mapping[str, np.ndarray], estimates: Mapping[str, np.ndarray]) -> tuple[list[str], int]:
    """Check keys, types and shapes before any scorer sees the arrays.

    Returns:
        The source names in the references' order and the number of samples.
    """
    names = list(references)
    if not names or set(names) != set(estimates):
        raise DataError(
            f"Cannot score: sources differ. Received: references {sorted(references)} vs estimates "
            f"{sorted(estimates)}; give an estimate for every reference source."
        )
    first = names[0]
    for name in names:
        for role, audio in (("reference", references[name]), ("estimate", estimates[name])):
            shape = getattr(audio, "shape", None)
            if not isinstance(audio, np.ndarray) or audio.ndim != 2 or not np.issubdtype(audio.dtype, np.floating):
                kind = f"{type(audio).__name__} {getattr(audio, 'dtype', '')} {shape}".strip()
                raise DataError(
                    f"Cannot score: Received: {name} {role} {kind}; expected a float (channels, samples) array."
                )
            if audio.shape[1] == 0 or audio.shape[0] > audio.shape[1]:
                raise DataError(
                    f"Cannot score: Received: {name} {role} {audio.shape}; expected (channels, samples) with "
                    f"samples > 0 (use np.moveaxis on (samples, channels) audio)."
                )
            if not np.all(np.isfinite(audio)):
                count = int(np.size(audio) - np.count_nonzero(np.isfinite(audio)))
                raise DataError(f"Cannot score: Received: {name} {role} with {count} NaN or infinite samples.")
        if estimates[name].shape != references[name].shape:
            raise DataError(
                f"Cannot score: Received: {name} estimate {estimates[name].shape} vs reference "
                f"{references[name].shape}; trim or pad the estimate to the reference."
            )
        if references[name].shape != references[first].shape:
            raise DataError(
                f"Cannot score: Received: {name} reference {references[name].shape} vs {first} reference "
                f"{references[first].shape}; all sources must have the same shape."
            )
    return names, references[first].shape[1]


def _silent(audio: np.ndarray) -> bool:
    # museval's test: the channel sum is zero at every sample.
    return not np.any(np.sum(audio, axis=0, dtype=np.float64))


def _track_scores(
    metric: str, names: list[str], values: np.ndarray, *, window_s: float, hop_s: float,
    keep: Sequence[str] = METRIC_NAMES,
) -> TrackScores:
    """Build a TrackScores from `values` of shape (SDR/SIR/SAR/ISR, source, window)."""
    values = np.where(np.isinf(values), np.nan, values)
    frames = {
        source: {name: values[row, index].copy() for row, name in enumerate(METRIC_NAMES) if name in keep}
        for index, source in enumerate(names)
    }
    n_nan = {source: int(np.count_nonzero(np.isnan(values[0, index]))) for index, source in enumerate(names)}
    return TrackScores(metric, frames, int(values.shape[2]), n_nan, float(window_s), float(hop_s))


def _whole_track(
    metric: str, names: list[str], values: np.ndarray, n_samples: int, sample_rate: int | None, *, keep: Sequence[str]
) -> TrackScores:
    duration_s = n_samples / sample_rate if sample_rate else float("nan")
    return _track_scores(metric, names, values, window_s=duration_s, hop_s=duration_s, keep=keep)
