"""The MIR-1K protocol (Huang et al. 2014; Park et al. 2018): NSDR per clip, GNSDR, GSIR, GSAR.

As the stacked-hourglass paper scores MIR-1K (its ``eval_mir_1k.py`` and ``util.bss_eval``):
each clip is scored whole, at 16 kHz, with mir_eval's BSSEval v3 ``bss_eval_sources``
(``compute_permutation=True``, as the authors call it) of both estimates against the clip's
original channels; the mixture is the mean of the two channels; NSDR = SDR(estimate) -
SDR(mixture as the estimate of both sources); GNSDR, GSIR and GSAR are the means over clips
weighted by each clip's length in samples. A separator is handed the 16 kHz mixture and
returns its stems at that rate (a model at 8 kHz resamples them up, as the paper did).

Songs are cached at :data:`SAMPLE_RATE` with one channel (a channel-split clip's vocals and
instrumental: its right and left channel). One clip that cannot be scored is logged and
listed, never fatal. TensorFlow-free.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unmix.data.cache import CachedSong, read_stems
from unmix.errors import DataError
from unmix.evaluation.evaluate import failure_lines, table_cell, track_name
from unmix.evaluation.oracles import Oracle
from unmix.evaluation.scores_io import format_number, write_table
from unmix.progress import count_bar

logger = logging.getLogger(__name__)

#: The rate every MIR-1K score is computed at: the clips' own.
SAMPLE_RATE = 16000
SOURCES = ("vocals", "instrumental")
#: Per source and clip; NSDR = SDR - mixture_SDR.
SCORE_NAMES = ("NSDR", "SDR", "SIR", "SAR", "mixture_SDR")
#: The length-weighted means over clips, and the score each averages.
GLOBAL_NAMES = {"GNSDR": "NSDR", "GSIR": "SIR", "GSAR": "SAR"}
#: The files of one MIR-1K evaluation, in ``<folder>/<label>_mir1k/``.
TRACKS_FILE, GLOBAL_FILE = "tracks.csv", "global.csv"
_PREFIXES = {"vocals": "voc", "instrumental": "inst"}
# (mixture (1, samples), sample rate) -> {"vocals", "instrumental"}.
Estimator = Callable[..., Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class ClipScores:
    """One clip's whole-clip scores in dB.

    Attributes:
        name: the clip (its song id's last part).
        n_samples: its length at :data:`SAMPLE_RATE`, the weight of its scores.
        scores: ``{source: {score name: dB}}`` for every name of :data:`SCORE_NAMES`.
    """

    name: str
    n_samples: int
    scores: Mapping[str, Mapping[str, float]]


@dataclass(frozen=True)
class Mir1kResult:
    """The clips scored, those that failed, and the time spent separating and scoring."""

    clips: tuple[ClipScores, ...]
    failed: tuple[tuple[str, str], ...] = ()
    separation_s: float = 0.0
    scoring_s: float = 0.0


def score_clip(vocals: np.ndarray, instrumental: np.ndarray, estimates: Mapping[str, np.ndarray], *, name: str = "clip") -> ClipScores:
    """NSDR, SDR, SIR and SAR of one clip's estimates, scored whole.

    Args:
        vocals: the true voice, mono: ``(samples,)`` or ``(1, samples)``.
        instrumental: the true accompaniment, the same length.
        estimates: ``{"vocals": ..., "instrumental": ...}`` of that length (any scale: BSSEval
            allows a gain).
        name: the clip, for messages and the table.

    Returns:
        The clip's scores; its mixture is ``(vocals + instrumental) / 2``.

    Raises:
        DataError: a signal that is not mono, lengths that differ, a missing estimate, values
            that are not finite, or a silent source (mir_eval cannot score it).
    """
    references = np.stack([_mono(vocals, f"{name}: vocals"), _mono(instrumental, f"{name}: instrumental")])
    missing = [s for s in SOURCES if s not in estimates]
    if missing:
        raise DataError(f"{name}: Received: estimates for {sorted(estimates)}; expected {list(SOURCES)}")
    estimated = np.stack([_mono(estimates[s], f"{name}: {s} estimate") for s in SOURCES])
    if estimated.shape != references.shape:
        raise DataError(f"{name}: Received: estimates of {estimated.shape[1]} samples; expected the clip's {references.shape[1]}")
    for source, signal in zip(SOURCES, references):
        if not np.any(signal):
            raise DataError(f"{name}: the {source} are silent; BSSEval cannot score a silent source")
    mixture = references.mean(axis=0)
    sdr, sir, sar = _bss_eval(references, estimated)
    mixture_sdr, _, _ = _bss_eval(references, np.stack([mixture, mixture]))
    scores = {
        source: {"NSDR": float(sdr[k] - mixture_sdr[k]), "SDR": float(sdr[k]), "SIR": float(sir[k]), "SAR": float(sar[k]), "mixture_SDR": float(mixture_sdr[k])}
        for k, source in enumerate(SOURCES)
    }
    return ClipScores(name=name, n_samples=int(references.shape[1]), scores=scores)


def global_scores(clips: Sequence[ClipScores]) -> dict[str, dict[str, float]]:
    """GNSDR, GSIR and GSAR per source: means over clips weighted by length.

    Raises:
        DataError: no clip.
    """
    if not clips:
        raise DataError("no clip was scored: GNSDR needs at least one")
    weights = np.array([clip.n_samples for clip in clips], dtype=np.float64)
    return {
        source: {g: float(np.dot(weights, [clip.scores[source][name] for clip in clips]) / weights.sum()) for g, name in GLOBAL_NAMES.items()}
        for source in SOURCES
    }


def median_scores(clips: Sequence[ClipScores]) -> dict[str, dict[str, float]]:
    """The median over clips of every score, per source.

    Raises:
        DataError: no clip.
    """
    if not clips:
        raise DataError("no clip was scored: no median")
    return {source: {name: float(np.median([clip.scores[source][name] for clip in clips])) for name in SCORE_NAMES} for source in SOURCES}


def evaluate_mir1k(estimator: Estimator | Oracle, songs: Iterable[CachedSong], *, progress: bool = True) -> Mir1kResult:
    """Separate every clip's mixture (the mean of its channels) and score it whole.

    Args:
        estimator: called as ``estimator(mixture, sample_rate=16000)`` with the float32
            ``(1, samples)`` mixture (e.g. ``Separator.separate``), returning
            ``{"vocals", "instrumental"}`` of that shape; or an ``Oracle``, given the true stems.
        songs: clips cached at :data:`SAMPLE_RATE` with one channel.
        progress: a progress bar over clips on stderr.

    Returns:
        The clips' scores, the failed clips and the time spent.
    """
    items = list(songs)
    bar = count_bar("scoring", len(items), unit="clips") if progress else None
    clips, failed = [], []
    separation_s = scoring_s = 0.0
    for position, song in enumerate(items):
        try:
            if song.sample_rate != SAMPLE_RATE or song.n_channels != 1:
                raise DataError(f"Received: a cache at {song.sample_rate} Hz with {song.n_channels} channel(s); expected {SAMPLE_RATE} Hz mono")
            vocals, instrumental = read_stems(song)
            start = time.perf_counter()
            if isinstance(estimator, Oracle):
                estimates = estimator(vocals, instrumental)
            else:
                estimates = estimator(0.5 * (vocals + instrumental), sample_rate=SAMPLE_RATE)
            middle = time.perf_counter()
            clips.append(score_clip(vocals, instrumental, estimates, name=track_name(song.song_id)))
            separation_s += middle - start
            scoring_s += time.perf_counter() - middle
        except Exception as error:  # one bad clip never ends an evaluation
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            logger.error("clip %r could not be scored: %s", song.song_id, reason)
            failed.append((song.song_id, reason))
        if bar is not None:
            bar.update(position + 1)
    if bar is not None:
        bar.finish()
    return Mir1kResult(tuple(clips), tuple(failed), separation_s, scoring_s)


def write_mir1k_tables(result: Mir1kResult, folder: str | Path) -> tuple[Path, Path]:
    """Write ``tracks.csv`` (one row per clip: its length and every score) and ``global.csv``
    (per source: the G-values, the medians, the clip count), ``;``-separated.

    Returns:
        The two paths.

    Raises:
        DataError: no clip was scored.
    """
    folder = Path(folder)
    overall, medians = global_scores(result.clips), median_scores(result.clips)
    columns = [f"{_PREFIXES[s]}_{name.lower()}" for s in SOURCES for name in SCORE_NAMES]
    rows = [[clip.name, str(clip.n_samples), *(format_number(clip.scores[s][n]) for s in SOURCES for n in SCORE_NAMES)] for clip in result.clips]
    summary = [
        [source, *(format_number(overall[source][g]) for g in GLOBAL_NAMES), *(format_number(medians[source][n]) for n in SCORE_NAMES), str(len(result.clips))]
        for source in SOURCES
    ]
    tracks, overall_path = folder / TRACKS_FILE, folder / GLOBAL_FILE
    write_table(tracks, ["track", "n_samples", *columns], rows)
    write_table(overall_path, ["source", *GLOBAL_NAMES, *(f"median_{n.lower()}" for n in SCORE_NAMES), "n_clips"], summary)
    return tracks, overall_path


def format_mir1k_table(result: Mir1kResult, *, title: str) -> list[str]:
    """G-values and medians per source as text lines for a terminal, then the failures."""
    lines = [title]
    if result.clips:
        overall, medians = global_scores(result.clips), median_scores(result.clips)
        names = [*GLOBAL_NAMES, "median NSDR", "median SIR", "median SAR"]
        lines.append(f"{'':<14}" + "".join(f"{name:>13}" for name in names))
        for source in SOURCES:
            cells = [overall[source][g] for g in GLOBAL_NAMES] + [medians[source][n] for n in ("NSDR", "SIR", "SAR")]
            lines.append(f"{source:<14}" + "".join(f"{table_cell(v):>13}" for v in cells))
        seconds = sum(clip.n_samples for clip in result.clips) / SAMPLE_RATE
        lines.append(
            f"{len(result.clips)} clip(s), {seconds / 60:.1f} min, whole-clip BSSEval v3 at {SAMPLE_RATE} Hz; "
            f"separation {result.separation_s:.1f} s, scoring {result.scoring_s:.1f} s"
        )
    return lines + failure_lines(result.failed, noun="clip")


def _bss_eval(references: np.ndarray, estimates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from mir_eval.separation import bss_eval_sources

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # mir_eval 0.8 deprecation notice
        sdr, sir, sar, _ = bss_eval_sources(references, estimates, compute_permutation=True)
    return sdr, sir, sar


def _mono(signal: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(signal, dtype=np.float64)
    if array.ndim == 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 1 or not array.size:
        raise DataError(f"{what}: Received: shape {np.shape(signal)}; expected mono (samples,) or (1, samples)")
    if not np.all(np.isfinite(array)):
        raise DataError(f"{what}: Received: values that are not finite")
    return array
