"""Agreement of unmix.evaluation.bsseval with direct museval / mir_eval calls, and its edge cases."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

from unmix.errors import ConfigurationError, DataError
from unmix.evaluation.bsseval import score, score_global, score_mir_eval, score_museval

SAMPLE_RATE = 8000


@pytest.fixture
def signals(rng):
    """3 s of seeded stereo noise per source at 8 kHz and noisy estimates of them."""
    shape = (2, 3 * SAMPLE_RATE)
    references = {name: rng.standard_normal(shape).astype(np.float32) for name in ("vocals", "instrumental")}
    leak = {"vocals": references["instrumental"], "instrumental": references["vocals"]}
    estimates = {
        name: (audio + 0.3 * leak[name] + 0.2 * rng.standard_normal(shape)).astype(np.float32)
        for name, audio in references.items()
    }
    return references, estimates


def _as_museval(sources):
    return [np.moveaxis(np.asarray(sources[name], dtype=np.float64), 0, -1) for name in ("vocals", "instrumental")]


@pytest.mark.slow  # the first museval import (pandas, musdb) takes seconds
def test_museval_matches_direct_call_exactly(signals):
    import museval

    references, estimates = signals
    ours = score_museval(references, estimates, sample_rate=SAMPLE_RATE)
    sdr, isr, sir, sar = museval.evaluate(
        _as_museval(references), _as_museval(estimates), win=SAMPLE_RATE, hop=SAMPLE_RATE
    )
    assert ours.metric == "museval" and ours.n_windows == 3
    assert ours.n_nan_windows == {"vocals": 0, "instrumental": 0}
    for index, source in enumerate(("vocals", "instrumental")):
        direct = {"SDR": sdr[index], "SIR": sir[index], "SAR": sar[index], "ISR": isr[index]}
        for name, values in direct.items():
            np.testing.assert_array_equal(ours.frames[source][name], values)
            assert ours.medians()[source][name] == float(np.nanmedian(values))


def test_museval_window_and_hop_follow_museval_framing(signals):
    references, estimates = signals
    scores = score_museval(references, estimates, sample_rate=SAMPLE_RATE, window_s=1.0, hop_s=0.5)
    # museval.metrics.Framing: floor((24000 - 8000 + 4000) / 4000) = 5 whole windows.
    assert scores.n_windows == 5
    assert scores.frames["vocals"]["SDR"].shape == (5,)
    frames = scores.to_museval_json("t")["targets"][0]["frames"]
    assert [f["time"] for f in frames] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert {f["duration"] for f in frames} == {1.0}


def test_mir_eval_matches_direct_call_per_channel_averaged(signals):
    from mir_eval.separation import bss_eval_sources

    references, estimates = signals
    ours = score_mir_eval(references, estimates, sample_rate=SAMPLE_RATE)
    per_channel = []
    for channel in range(2):
        pair = [np.stack([m[n][channel].astype(np.float64) for n in ("vocals", "instrumental")])
                for m in (references, estimates)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            per_channel.append(np.stack(bss_eval_sources(*pair, compute_permutation=False)[:3]))
    expected = np.mean(per_channel, axis=0)
    assert ours.metric == "mir_eval" and ours.n_windows == 1
    for index, source in enumerate(("vocals", "instrumental")):
        assert set(ours.frames[source]) == {"SDR", "SIR", "SAR"}
        for row, name in enumerate(("SDR", "SIR", "SAR")):
            assert ours.medians()[source][name] == expected[row, index]


def test_global_sdr_known_answer(tone):
    reference = tone(frequency_hz=440.0, duration_s=0.5, sample_rate=SAMPLE_RATE)
    references = {"vocals": reference, "instrumental": reference[::-1].copy()}
    estimates = {name: audio * 0.5 for name, audio in references.items()}
    scores = score_global(references, estimates, sample_rate=SAMPLE_RATE)
    assert scores.metric == "global"
    for source in references:
        assert scores.medians()[source] == {"SDR": pytest.approx(10 * np.log10(4.0), abs=1e-6)}
    assert scores.to_museval_json("t")["targets"][0]["frames"][0]["duration"] == 0.5


def test_silent_reference_windows_are_nan_and_counted(signals):
    references, estimates = signals
    references = dict(references)
    vocals = references["vocals"].copy()
    vocals[:, SAMPLE_RATE : 2 * SAMPLE_RATE] = 0.0  # the middle second is silent
    references["vocals"] = vocals
    scores = score_museval(references, estimates, sample_rate=SAMPLE_RATE)
    # museval skips the window for every source when one reference is silent in it.
    assert scores.n_nan_windows == {"vocals": 1, "instrumental": 1}
    assert np.isnan(scores.frames["vocals"]["SDR"][1]) and np.isfinite(scores.frames["vocals"]["SDR"][0])
    finite = scores.frames["vocals"]["SDR"][[0, 2]]
    assert scores.medians()["vocals"]["SDR"] == float(np.median(finite))


@pytest.mark.parametrize("scorer", [score_museval, score_mir_eval, score_global])
def test_wholly_silent_reference_scores_nan_with_warning(signals, scorer, caplog):
    references, estimates = signals
    references = {**references, "vocals": np.zeros_like(references["vocals"])}
    with caplog.at_level(logging.WARNING, logger="unmix.evaluation.bsseval"):
        scores = scorer(references, estimates, sample_rate=SAMPLE_RATE)
    assert "silent" in caplog.text
    assert np.isnan(scores.medians()["vocals"]["SDR"])
    assert scores.n_nan_windows["vocals"] == scores.n_windows


def test_silent_estimate_does_not_crash(signals):
    references, estimates = signals
    estimates = {**estimates, "instrumental": np.zeros_like(estimates["instrumental"])}
    scores = score_museval(references, estimates, sample_rate=SAMPLE_RATE)
    assert scores.n_nan_windows == {"vocals": 3, "instrumental": 3}


def test_infinite_ratio_becomes_nan():
    # museval's TrackStore writes an infinite ratio (zero error energy) as NaN; frames do the same.
    from unmix.evaluation.bsseval import _track_scores

    values = np.array([[[np.inf, 3.0]], [[1.0, 2.0]], [[1.0, 2.0]], [[-np.inf, 2.0]]])
    scores = _track_scores("museval", ["vocals"], values, window_s=1.0, hop_s=1.0)
    assert np.isnan(scores.frames["vocals"]["SDR"][0]) and np.isnan(scores.frames["vocals"]["ISR"][0])
    assert scores.n_nan_windows == {"vocals": 1}
    assert scores.medians()["vocals"]["SDR"] == 3.0


def test_shape_mismatch_names_source_and_shapes():
    reference = np.zeros((2, 999), dtype=np.float32) + 0.1
    estimate = np.zeros((2, 1000), dtype=np.float32) + 0.1
    with pytest.raises(DataError, match=r"Received: vocals estimate \(2, 1000\) vs reference \(2, 999\)"):
        score_global({"vocals": reference}, {"vocals": estimate})


def test_reference_shapes_must_agree():
    references = {"vocals": np.ones((2, 100), np.float32), "instrumental": np.ones((2, 99), np.float32)}
    with pytest.raises(DataError, match=r"instrumental reference \(2, 99\) vs vocals reference \(2, 100\)"):
        score_global(references, dict(references))


@pytest.mark.parametrize(
    ("audio", "match"),
    [
        (np.ones(100, np.float32), r"vocals reference ndarray float32 \(100,\); expected a float \(channels, samp"),
        (np.ones((2, 100), np.int16), r"vocals reference ndarray int16 \(2, 100\)"),
        (np.ones((100, 2), np.float32), r"vocals reference \(100, 2\).*np.moveaxis"),
        (np.full((2, 100), np.nan, np.float32), r"vocals reference with 200 NaN or infinite samples"),
    ],
)
def test_invalid_arrays_raise_data_error(audio, match):
    with pytest.raises(DataError, match=match):
        score_global({"vocals": audio}, {"vocals": audio})


def test_source_keys_must_agree():
    audio = np.ones((2, 100), np.float32)
    with pytest.raises(DataError, match=r"references \['instrumental', 'vocals'\] vs estimates \['vocals'\]"):
        score_global({"vocals": audio, "instrumental": audio}, {"vocals": audio})


def test_non_positive_window_raises(signals):
    references, estimates = signals
    with pytest.raises(ConfigurationError, match=r"Received: window_s=0"):
        score_museval(references, estimates, sample_rate=SAMPLE_RATE, window_s=0)
    with pytest.raises(ConfigurationError, match=r"hop_s=1e-05 at 8000 Hz, under one sample"):
        score_museval(references, estimates, sample_rate=SAMPLE_RATE, hop_s=1e-5)


def test_dispatcher_is_case_insensitive_and_rejects_unknown(signals):
    references, estimates = signals
    assert score(references, estimates, sample_rate=SAMPLE_RATE, metric="GLOBAL").metric == "global"
    with pytest.raises(ConfigurationError, match=r"^metric: unknown metric 'mireval'; known: museval, mir_eval, global; did you mean 'mir_eval'\?$"):
        score(references, estimates, sample_rate=SAMPLE_RATE, metric="mireval")


@pytest.mark.slow
def test_metrics_and_scoring_never_import_tensorflow():
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, numpy as np\n"
        "from unmix.evaluation import bsseval, scores_io\n"
        "a = np.random.default_rng(0).standard_normal((2, 4000)).astype(np.float32)\n"
        "refs = {'vocals': a, 'instrumental': a[::-1].copy()}\n"
        "for m in bsseval.METRICS:\n"
        "    bsseval.score(refs, {k: v * 0.9 for k, v in refs.items()}, sample_rate=2000, metric=m)\n"
        "print(sorted(n for n in ('tensorflow', 'keras') if n in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
