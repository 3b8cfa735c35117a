"""Ratio and binary masks, and masking with the mixture's phase."""

from __future__ import annotations

import numpy as np

from unmix.dsp.masks import apply_mask, binary_mask, ratio_mask, with_mix_phase


def test_ratio_mask_known_values():
    vocals = np.array([3.0, 0.0, 5.0, 0.0])
    instrumental = np.array([4.0, 2.0, 0.0, 0.0])
    mask = ratio_mask(vocals, instrumental)
    assert mask.dtype == np.float32
    np.testing.assert_allclose(mask, [3 / 7, 0.0, 1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(ratio_mask(vocals, instrumental, power=2.0), [9 / 25, 0.0, 1.0, 0.0], atol=1e-6)


def test_ratio_mask_stays_in_unit_range(rng):
    mask = ratio_mask(rng.uniform(0, 10, (4, 5, 2)), rng.uniform(0, 10, (4, 5, 2)))
    assert mask.min() >= 0.0 and mask.max() <= 1.0
    assert np.all(np.isfinite(mask))


def test_binary_mask_known_values():
    mask = binary_mask(np.array([3.0, 1.0, 2.0, 0.0]), np.array([1.0, 3.0, 2.0, 0.0]))
    assert mask.dtype == np.float32
    np.testing.assert_array_equal(mask, [1.0, 0.0, 1.0, 1.0])  # ties go to vocals


def test_apply_mask_keeps_the_mix_phase():
    mix = np.array([3 + 4j, -2j, 1 + 0j], dtype=np.complex64)
    masked = apply_mask(np.array([0.5, 1.0, 0.0]), mix)
    assert masked.dtype == np.complex64
    np.testing.assert_allclose(masked, [1.5 + 2j, -2j, 0], atol=1e-7)
    np.testing.assert_allclose(np.angle(masked[:2]), np.angle(mix[:2]), atol=1e-6)


def test_apply_mask_clips_and_silence_stays_silent():
    mix = np.array([1 + 1j, 0j], dtype=np.complex64)
    np.testing.assert_allclose(apply_mask(np.array([1.7, 0.3]), mix), [1 + 1j, 0j])
    np.testing.assert_allclose(apply_mask(np.array([-0.5, 1.0]), mix), [0j, 0j])
    out = apply_mask(ratio_mask(np.zeros(3), np.zeros(3)), np.zeros(3, dtype=np.complex64))
    assert not out.any() and not np.isnan(out).any()


def test_with_mix_phase():
    mix = np.array([3 + 4j, 0j, -1 + 0j], dtype=np.complex64)
    out = with_mix_phase(np.array([10.0, 2.0, -1.0]), mix)
    np.testing.assert_allclose(out, [6 + 8j, 2 + 0j, 0j], atol=1e-6)
    assert out.dtype == np.complex64
