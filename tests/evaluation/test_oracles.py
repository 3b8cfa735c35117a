"""Oracle estimates: the ideal ratio mask beats the mixture; binary mask properties."""

from __future__ import annotations

import numpy as np
import pytest

from unmix.dsp.stft import StftOptions
from unmix.errors import ConfigurationError, DataError
from unmix.evaluation.bsseval import score
from unmix.evaluation.oracles import ORACLES, Oracle, oracle_estimates

SAMPLE_RATE = 8000
STFT = StftOptions(n_fft=256, hop_length=64)


@pytest.fixture
def stems(rng, tone):
    """Overlapping sources: a gated 880 Hz voice with noise, and a 220 Hz + 330 Hz bed with noise."""
    duration_s = 2.0
    n = int(duration_s * SAMPLE_RATE)
    gate = (np.sin(2 * np.pi * 1.5 * np.arange(n) / SAMPLE_RATE) > 0).astype(np.float32)
    vocals = tone(frequency_hz=880, duration_s=duration_s, sample_rate=SAMPLE_RATE) * gate
    vocals += 0.03 * rng.standard_normal(vocals.shape).astype(np.float32)
    instrumental = tone(frequency_hz=220, duration_s=duration_s, sample_rate=SAMPLE_RATE)
    instrumental += tone(frequency_hz=330, duration_s=duration_s, sample_rate=SAMPLE_RATE, amplitude=0.2)
    instrumental += 0.05 * rng.standard_normal(instrumental.shape).astype(np.float32)
    return vocals, instrumental


def _references(vocals, instrumental):
    return {"vocals": vocals, "instrumental": instrumental}


@pytest.mark.parametrize("metric", ["global", "museval"])
def test_irm_scores_higher_than_the_mixture(stems, metric):
    references = _references(*stems)
    sdr = {}
    for kind in ("irm", "mixture"):
        estimates = oracle_estimates(kind, *stems, stft=STFT)
        medians = score(references, estimates, sample_rate=SAMPLE_RATE, metric=metric).medians()
        sdr[kind] = (medians["vocals"]["SDR"], medians["instrumental"]["SDR"])
    assert sdr["irm"][0] > sdr["mixture"][0] + 10
    assert sdr["irm"][1] > sdr["mixture"][1] + 5


def test_estimates_have_the_input_shape_and_sum_to_the_mixture(stems):
    vocals, instrumental = stems
    for kind in ORACLES:
        estimates = oracle_estimates(kind, vocals, instrumental, stft=STFT)
        assert set(estimates) == {"vocals", "instrumental"}
        for stem in estimates.values():
            assert stem.shape == vocals.shape and stem.dtype == np.float32
        if kind != "mixture":
            np.testing.assert_allclose(estimates["vocals"] + estimates["instrumental"], vocals + instrumental, atol=1e-5)


def test_mixture_oracle_returns_the_mixture_for_both_sources(stems):
    vocals, instrumental = stems
    estimates = oracle_estimates("mixture", vocals, instrumental, stft=STFT)
    np.testing.assert_array_equal(estimates["vocals"], vocals + instrumental)
    np.testing.assert_array_equal(estimates["instrumental"], vocals + instrumental)


def test_ibm_separates_sources_in_disjoint_bands_almost_perfectly(tone):
    vocals = tone(frequency_hz=2000, duration_s=1.0, sample_rate=SAMPLE_RATE)
    instrumental = tone(frequency_hz=300, duration_s=1.0, sample_rate=SAMPLE_RATE)
    estimates = oracle_estimates("ibm", vocals, instrumental, stft=STFT)
    medians = score(_references(vocals, instrumental), estimates, sample_rate=SAMPLE_RATE, metric="global").medians()
    assert medians["vocals"]["SDR"] > 25
    assert medians["instrumental"]["SDR"] > 25


def test_ibm_gives_silent_vocals_nothing(tone):
    instrumental = tone(frequency_hz=300, duration_s=0.5, sample_rate=SAMPLE_RATE)
    vocals = np.zeros_like(instrumental)
    estimates = oracle_estimates("ibm", vocals, instrumental, stft=STFT)
    np.testing.assert_allclose(estimates["vocals"], 0.0, atol=1e-6)
    np.testing.assert_allclose(estimates["instrumental"], instrumental, atol=1e-5)


def test_oracle_object_labels_and_names_are_case_insensitive(stems):
    oracle = Oracle("IRM", stft=STFT)
    assert oracle.kind == "irm" and oracle.label == "oracle-irm"
    np.testing.assert_array_equal(oracle(*stems)["vocals"], oracle_estimates("irm", *stems, stft=STFT)["vocals"])


def test_unknown_oracle_names_the_known_ones_and_a_close_match(stems):
    with pytest.raises(ConfigurationError, match=r"^oracle: unknown oracle 'irn'; known: irm, ibm, mixture; did you mean 'irm'\?$"):
        oracle_estimates("irn", *stems, stft=STFT)
    with pytest.raises(ConfigurationError, match=r"^oracle: unknown oracle 'wiener'; known: irm, ibm, mixture$"):
        Oracle("wiener", stft=STFT)


def test_stems_of_different_shapes_are_rejected(stems):
    vocals, instrumental = stems
    with pytest.raises(DataError, match=r"stems of shapes \(2, 16000\) and \(2, 100\)"):
        oracle_estimates("irm", vocals, instrumental[:, :100], stft=STFT)
