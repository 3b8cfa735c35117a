"""The MIR-1K protocol on synthetic clips with known answers: NSDR, the G-values, the tables."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from unmix.data.cache import CachedSong, cache_path, write_cached
from unmix.data.songs import Song
from unmix.errors import DataError
from unmix.evaluation.mir1k import (
    SAMPLE_RATE,
    ClipScores,
    Mir1kResult,
    evaluate_mir1k,
    format_mir1k_table,
    global_scores,
    median_scores,
    score_clip,
    write_mir1k_tables,
)
from unmix.evaluation.oracles import Oracle
from unmix.dsp.stft import StftOptions

# White noises whose powers differ by 4: the mixture (their mean) is 10 log10(4) = 6.02 dB
# closer to the louder one. BSSEval's 512-tap distortion filter absorbs a share of the other
# noise of about 512 / n_samples (0.1 dB over two seconds), hence the tolerance.
RATIO_DB = 10 * math.log10(4.0)
TOLERANCE_DB = 0.3


def clip(rng: np.random.Generator, seconds: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """(voice, accompaniment), mono (1, samples): independent noises, the voice twice as loud."""
    n = int(seconds * SAMPLE_RATE)
    return (0.2 * rng.standard_normal((1, n))).astype(np.float32), (0.1 * rng.standard_normal((1, n))).astype(np.float32)


def test_the_mixture_as_the_estimate_has_an_nsdr_of_zero(rng):
    voice, accompaniment = clip(rng)
    mixture = 0.5 * (voice + accompaniment)
    scores = score_clip(voice, accompaniment, {"vocals": mixture, "instrumental": mixture}).scores
    assert scores["vocals"]["NSDR"] == pytest.approx(0.0, abs=1e-6)
    assert scores["instrumental"]["NSDR"] == pytest.approx(0.0, abs=1e-6)
    # The floor itself: the mixture is 6.02 dB nearer the louder voice, 6.02 dB from the accompaniment.
    assert scores["vocals"]["mixture_SDR"] == pytest.approx(RATIO_DB, abs=TOLERANCE_DB)
    assert scores["instrumental"]["mixture_SDR"] == pytest.approx(-RATIO_DB, abs=TOLERANCE_DB)


def test_the_sources_as_estimates_gain_their_sdr_over_the_mixture(rng):
    voice, accompaniment = clip(rng)
    scores = score_clip(voice, accompaniment, {"vocals": 3.0 * voice, "instrumental": accompaniment}).scores
    for source, floor in (("vocals", RATIO_DB), ("instrumental", -RATIO_DB)):
        assert scores[source]["SDR"] > 60, "a perfect estimate (up to a gain) is far above any mixture"
        assert scores[source]["NSDR"] == scores[source]["SDR"] - scores[source]["mixture_SDR"]
        assert scores[source]["mixture_SDR"] == pytest.approx(floor, abs=TOLERANCE_DB)


def test_the_g_values_weight_each_clip_by_its_length():
    short = ClipScores("short", 1000, {s: {"NSDR": 0.0, "SDR": 1.0, "SIR": 10.0, "SAR": 4.0, "mixture_SDR": 1.0} for s in ("vocals", "instrumental")})
    long = ClipScores("long", 3000, {s: {"NSDR": 4.0, "SDR": 5.0, "SIR": 2.0, "SAR": 8.0, "mixture_SDR": 1.0} for s in ("vocals", "instrumental")})
    overall = global_scores([short, long])
    assert overall["vocals"] == {"GNSDR": 3.0, "GSIR": 4.0, "GSAR": 7.0}
    assert median_scores([short, long])["instrumental"]["NSDR"] == 2.0
    with pytest.raises(DataError, match="no clip was scored"):
        global_scores([])


@pytest.mark.parametrize(
    ("estimates", "match"),
    [
        ({"vocals": np.zeros((1, 10))}, r"c: Received: estimates for \['vocals'\]; expected \['vocals', 'instrumental'\]"),
        ({"vocals": np.ones((1, 9)), "instrumental": np.ones((1, 9))}, r"c: Received: estimates of 9 samples; expected the clip's 10"),
        ({"vocals": np.ones((2, 10)), "instrumental": np.ones((1, 10))}, r"c: vocals estimate: Received: shape \(2, 10\); expected mono"),
    ],
)
def test_bad_estimates_name_the_clip(estimates, match):
    signal = np.linspace(-1, 1, 10)
    with pytest.raises(DataError, match=match):
        score_clip(signal, signal[::-1], estimates, name="c")


def cached(tmp_path: Path, name: str, voice: np.ndarray, accompaniment: np.ndarray, *, sample_rate: int = SAMPLE_RATE) -> CachedSong:
    song = Song(id=f"mir-1k/{name}.wav", name=name, layout="channel_split", vocals=(), instrumental=())
    return write_cached(cache_path(tmp_path, song.id), song=song, key="test", vocals=voice, instrumental=accompaniment, sample_rate=sample_rate)


def test_evaluate_separates_the_mean_of_the_channels_and_lists_bad_clips(tmp_path, rng):
    voice, accompaniment = clip(rng)
    seen = []

    def do_nothing(mixture, *, sample_rate):
        seen.append((mixture, sample_rate))
        return {"vocals": mixture, "instrumental": mixture}

    songs = [
        cached(tmp_path, "amy_1_01", voice, accompaniment),
        cached(tmp_path, "silent", np.zeros_like(voice), accompaniment),
        cached(tmp_path, "slow", voice, accompaniment, sample_rate=8000),
    ]
    result = evaluate_mir1k(do_nothing, songs, progress=False)
    np.testing.assert_array_equal(seen[0][0], 0.5 * (voice + accompaniment))
    assert seen[0][1] == SAMPLE_RATE
    assert [c.name for c in result.clips] == ["amy_1_01"] and result.clips[0].n_samples == voice.shape[1]
    assert global_scores(result.clips)["vocals"]["GNSDR"] == pytest.approx(0.0, abs=1e-6)
    assert [song_id for song_id, _ in result.failed] == ["mir-1k/silent.wav", "mir-1k/slow.wav"]
    assert "the vocals are silent" in result.failed[0][1] and "expected 16000 Hz mono" in result.failed[1][1]


def test_the_mixture_oracle_scores_zero_and_the_irm_oracle_above_it(tmp_path, rng):
    songs = [cached(tmp_path, "abjones_1_01", *clip(rng))]
    stft = StftOptions(n_fft=1024, hop_length=256)
    floor = evaluate_mir1k(Oracle("mixture", stft=stft), songs, progress=False)
    ceiling = evaluate_mir1k(Oracle("irm", stft=stft), songs, progress=False)
    assert global_scores(floor.clips)["vocals"]["GNSDR"] == pytest.approx(0.0, abs=1e-6)
    assert global_scores(ceiling.clips)["vocals"]["GNSDR"] > 1.0


def test_tables_hold_every_clip_and_the_g_values(tmp_path, rng):
    clips = []
    for k, seconds in enumerate((1.0, 2.0)):
        voice, accompaniment = clip(rng, seconds)
        estimates = {"vocals": voice + 0.1 * accompaniment, "instrumental": 0.5 * (voice + accompaniment)}
        clips.append(score_clip(voice, accompaniment, estimates, name=f"c{k}"))
    clips = tuple(clips)
    tracks, overall = write_mir1k_tables(Mir1kResult(clips), tmp_path / "model_mir1k")
    with tracks.open() as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert [r["track"] for r in rows] == ["c0", "c1"] and [int(r["n_samples"]) for r in rows] == [16000, 32000]
    assert float(rows[1]["voc_nsdr"]) == pytest.approx(clips[1].scores["vocals"]["NSDR"], abs=1e-5)
    assert {"inst_sir", "inst_sar", "voc_mixture_sdr"} <= set(rows[0])
    with overall.open() as handle:
        summary = {r["source"]: r for r in csv.DictReader(handle, delimiter=";")}
    assert float(summary["vocals"]["GNSDR"]) == pytest.approx(global_scores(clips)["vocals"]["GNSDR"], abs=1e-5)
    assert summary["instrumental"]["n_clips"] == "2"
    lines = format_mir1k_table(Mir1kResult(clips, failed=(("x", "broken"),)), title="t")
    assert lines[0] == "t" and lines[1].split() == ["GNSDR", "GSIR", "GSAR", "median", "NSDR", "median", "SIR", "median", "SAR"]
    assert lines[2].startswith("vocals") and lines[-1] == "  x: broken"
