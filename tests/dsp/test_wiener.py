"""Multichannel Wiener filter: soft-mask case, sum to mix, silence, EM refinement."""

from __future__ import annotations

import numpy as np
import pytest

from unmix.dsp.stft import StftOptions, stft
from unmix.dsp.wiener import wiener

OPTIONS = StftOptions(n_fft=256, hop_length=64)


def _sdr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(np.abs(reference) ** 2) / np.sum(np.abs(reference - estimate) ** 2)))


@pytest.fixture
def panned_sources(rng):
    """Vocals mostly left, instrumental mostly right: spatial images EM can learn."""
    first, second = rng.standard_normal(8000), rng.standard_normal(8000)
    vocals = stft(np.stack([first, 0.2 * first]).astype(np.float32), options=OPTIONS)
    instrumental = stft(np.stack([0.2 * second, second]).astype(np.float32), options=OPTIONS)
    return vocals, instrumental


def test_zero_iterations_is_the_power_soft_mask_and_sums_to_the_mix(rng):
    mix = (rng.standard_normal((2, 5, 7)) + 1j * rng.standard_normal((2, 5, 7))).astype(np.complex64)
    vocals_mag, instrumental_mag = rng.uniform(0, 2, mix.shape), rng.uniform(0, 2, mix.shape)
    vocals, instrumental = wiener(vocals_mag, instrumental_mag, mix, iterations=0)
    assert vocals.dtype == np.complex64 and vocals.shape == mix.shape
    mask = vocals_mag**2 / (vocals_mag**2 + instrumental_mag**2)
    np.testing.assert_allclose(vocals, mask * mix, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(vocals + instrumental, mix, atol=1e-6)


def test_known_answer_for_one_bin():
    mix = np.array([[[3 + 4j]]], dtype=np.complex64)
    vocals, instrumental = wiener(np.array([[[1.0]]]), np.array([[[2.0]]]), mix, iterations=0)
    np.testing.assert_allclose(vocals, [[[0.2 * (3 + 4j)]]], atol=1e-6)  # 1 / (1 + 4)
    np.testing.assert_allclose(instrumental, [[[0.8 * (3 + 4j)]]], atol=1e-6)


def test_bins_without_estimates_split_the_mix_evenly():
    mix = np.array([[[2 + 2j]]], dtype=np.complex64)
    vocals, instrumental = wiener(np.zeros((1, 1, 1)), np.zeros((1, 1, 1)), mix, iterations=0)
    np.testing.assert_allclose(vocals, [[[1 + 1j]]])
    np.testing.assert_allclose(instrumental, [[[1 + 1j]]])


@pytest.mark.parametrize("iterations", [0, 1, 3])
@pytest.mark.parametrize("n_channels", [1, 2, 6])
def test_silence_gives_zeros(iterations, n_channels):
    silent = np.zeros((n_channels, 17, 9), dtype=np.complex64)
    vocals, instrumental = wiener(np.abs(silent), np.abs(silent), silent, iterations=iterations)
    assert not vocals.any() and not instrumental.any()
    assert np.all(np.isfinite(vocals)) and np.all(np.isfinite(instrumental))


def test_em_uses_the_stereo_image_to_improve_estimates(rng, panned_sources):
    vocals, instrumental = panned_sources
    mix = vocals + instrumental
    error = rng.uniform(0.5, 1.5, mix.shape)  # imperfect magnitude estimates
    vocals_mag, instrumental_mag = np.abs(vocals) * error, np.abs(instrumental) / error
    soft_v, _ = wiener(vocals_mag, instrumental_mag, mix, iterations=0)
    refined_v, refined_i = wiener(vocals_mag, instrumental_mag, mix, iterations=2)
    assert _sdr_db(vocals, refined_v) > _sdr_db(vocals, soft_v) + 2.0
    assert refined_v.dtype == np.complex64 and refined_v.shape == mix.shape
    # The refined estimates still add up to the mixture up to the regularisation.
    assert np.max(np.abs(refined_v + refined_i - mix)) < 1e-3 * np.max(np.abs(mix))


def test_channel_order_is_kept(panned_sources):
    vocals, _ = panned_sources
    mix = vocals.copy()
    mix[1] = 0  # only the left channel sounds
    out_v, out_i = wiener(np.abs(mix), np.zeros(mix.shape), mix, iterations=1)
    assert np.abs(out_v[0]).max() > 1.0
    assert np.abs(out_v[1]).max() < 1e-6 * np.abs(out_v[0]).max()
    assert np.abs(out_i).max() < 1e-3 * np.abs(out_v[0]).max()


def test_mono_runs_em(panned_sources):
    vocals, instrumental = panned_sources
    mix = (vocals + instrumental)[:1]
    out_v, out_i = wiener(np.abs(vocals[:1]), np.abs(instrumental[:1]), mix, iterations=1)
    assert out_v.shape == mix.shape and np.all(np.isfinite(out_v))
    assert np.max(np.abs(out_v + out_i - mix)) < 1e-3 * np.max(np.abs(mix))


def test_errors():
    mix = np.zeros((2, 3, 4), dtype=np.complex64)
    with pytest.raises(ValueError, match=r"expected three arrays of one shape"):
        wiener(np.zeros((2, 3, 5)), np.zeros((2, 3, 4)), mix)
    with pytest.raises(ValueError, match="iterations=-1"):
        wiener(np.zeros((2, 3, 4)), np.zeros((2, 3, 4)), mix, iterations=-1)
