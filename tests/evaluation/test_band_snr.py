"""The high-band SNR on synthesised signals whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from unmix.errors import ConfigurationError
from unmix.evaluation.band_snr import CAP_DB, high_band_snr

SAMPLE_RATE = 44100
DURATION_S = 2.0


def faded_tone(frequency_hz: float, *, amplitude: float = 0.3) -> np.ndarray:
    """A stereo sine under a Hann envelope: no onset click, so no energy far from its frequency."""
    n_samples = int(DURATION_S * SAMPLE_RATE)
    t = np.arange(n_samples) / SAMPLE_RATE
    envelope = np.hanning(n_samples)
    return np.stack([amplitude * envelope * np.sin(2 * np.pi * frequency_hz * t + k) for k in range(2)]).astype(np.float32)


@pytest.fixture
def noise(rng) -> np.ndarray:
    """Stereo white noise: energy in every bin, above and below the edge."""
    return (0.1 * rng.standard_normal((2, int(DURATION_S * SAMPLE_RATE)))).astype(np.float32)


def test_an_exact_estimate_scores_the_cap_not_infinity(noise):
    assert high_band_snr(noise, noise.copy(), sample_rate=SAMPLE_RATE) == CAP_DB == 100.0


def test_a_silent_estimate_scores_0_db(noise):
    assert high_band_snr(noise, np.zeros_like(noise), sample_rate=SAMPLE_RATE) == pytest.approx(0.0, abs=1e-9)


def test_half_the_reference_scores_6_02_db(noise):
    assert high_band_snr(noise, 0.5 * noise, sample_rate=SAMPLE_RATE) == pytest.approx(20 * math.log10(2), abs=0.01)


def test_differences_below_the_edge_do_not_count(noise):
    half = high_band_snr(noise, 0.5 * noise, sample_rate=SAMPLE_RATE)
    with_a_low_tone = high_band_snr(noise, 0.5 * noise + faded_tone(1000.0, amplitude=0.5), sample_rate=SAMPLE_RATE)
    assert with_a_low_tone == pytest.approx(half, abs=1e-4)


def test_a_reference_silent_in_the_band_scores_0_db_whatever_the_estimate(noise):
    low_only = faded_tone(1000.0)
    assert high_band_snr(low_only, noise, sample_rate=SAMPLE_RATE) == 0.0
    assert high_band_snr(np.zeros_like(noise), noise, sample_rate=SAMPLE_RATE) == 0.0


def test_the_edge_picks_the_bins():
    # The estimate misses a 13 kHz tone and keeps a 17 kHz one of the same level.
    reference = faded_tone(13000.0) + faded_tone(17000.0)
    estimate = faded_tone(17000.0)
    assert high_band_snr(reference, estimate, sample_rate=SAMPLE_RATE) == pytest.approx(10 * math.log10(2), abs=0.01)
    assert high_band_snr(reference, estimate, sample_rate=SAMPLE_RATE, edge_hz=15000.0) > 60.0


@pytest.mark.parametrize("sample_rate", [16000, 22050])  # Nyquist below and at the 11,025 Hz edge
def test_no_bin_above_the_edge_is_nan(sample_rate, noise):
    assert math.isnan(high_band_snr(noise, 0.5 * noise, sample_rate=sample_rate))


@pytest.mark.parametrize(
    ("estimate_shape", "message"),
    [((2, 100), r"reference \(2, 88200\) and estimate \(2, 100\)"), ((1, 2, 88200), r"estimate \(1, 2, 88200\)")],
)
def test_arrays_of_other_shapes_are_a_value_error(noise, estimate_shape, message):
    with pytest.raises(ValueError, match=message + r"; expected two \(channels, samples\) arrays of one shape$"):
        high_band_snr(noise, np.zeros(estimate_shape, dtype=np.float32), sample_rate=SAMPLE_RATE)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"edge_hz": 0.0}, r"^high_band_edge: Received: 0\.0; expected a frequency in Hz above 0, e\.g\. 11025$"),
     ({"edge_hz": float("nan")}, r"^high_band_edge: Received: nan"),
     ({"sample_rate": 0}, r"^high_band_snr: Received: sample_rate=0; expected a positive number of Hz$"),
     ({"n_fft": 1000, "hop_length": 2000}, r"Received: hop_length=2000")],
)  # fmt: skip
def test_bad_parameters_are_configuration_errors(noise, options, message):
    with pytest.raises(ConfigurationError, match=message):
        high_band_snr(noise, noise, **{"sample_rate": SAMPLE_RATE, **options})
