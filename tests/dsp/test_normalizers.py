"""Normalizers: registry, factors derived from the mix, zmuv statistics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from unmix.dsp.normalizers import ZmuvStats, available_normalizers, get_normalizer, register_normalizer
from unmix.errors import ConfigurationError, DataError


def _window(values, n_bins=1, n_channels=1):
    return np.asarray(values, dtype=np.float32).reshape(n_bins, -1, n_channels)


def test_registry_names_case_and_aliases():
    assert available_normalizers() == ["none", "norm_max", "norm_min_max", "zmuv"]
    assert get_normalizer("NORM_MAX").name == "norm_max"
    assert get_normalizer("normalizer_zmuv").name == "zmuv"  # the seed's spelling
    assert get_normalizer("").name == "none"


def test_unknown_name_lists_names_and_suggests():
    with pytest.raises(ConfigurationError, match=r"^transformation\.options\.normalizer: unknown normalizer 'norm_maxx'; known: .*none, norm_max.*; did you mean 'norm_max'\?$"):
        get_normalizer("norm_maxx")
    with pytest.raises(ConfigurationError, match=r"^transformation\.options\.normalizer: unknown normalizer 'banana'; known: [^;]*$"):
        get_normalizer("banana")


def test_duplicate_registration_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        register_normalizer("norm_max")(lambda window, stats: (1.0, 0.0))


def test_norm_max_divides_mix_and_target_by_the_mix_maximum():
    mix = _window([1.0, 4.0, 2.0, 0.0], n_channels=2)
    target = _window([2.0, 1.0, 0.0, 8.0], n_channels=2)
    mix_n, target_n = get_normalizer("norm_max").normalize(mix, target)
    np.testing.assert_allclose(mix_n, mix / 4.0)
    np.testing.assert_allclose(target_n, target / 4.0)  # the mix's factor, not the target's
    assert mix_n.dtype == np.float32 and target_n.dtype == np.float32


def test_norm_max_silence_is_a_no_op_and_target_none_passes():
    silent = np.zeros((3, 4, 2), dtype=np.float32)
    mix_n, target_n = get_normalizer("norm_max").normalize(silent, None)
    assert target_n is None and not mix_n.any() and not np.isnan(mix_n).any()


def test_min_max_target_uses_the_mix_min_and_max():
    mix = _window([1.0, 5.0, 3.0])
    target = _window([2.0, 3.0, 0.0])
    mix_n, target_n = get_normalizer("norm_min_max").normalize(mix, target)
    np.testing.assert_allclose(mix_n, _window([0.0, 1.0, 0.5]))
    np.testing.assert_allclose(target_n, _window([0.25, 0.5, -0.25]))


@pytest.mark.parametrize("name", ["norm_max", "norm_min_max"])
def test_a_reference_sets_the_factors_instead_of_the_window(rng, name):
    """A song's (min, max) scales each of its windows alike (normalizer_scope "song")."""
    mix = rng.uniform(0.2, 1.0, (4, 3, 1)).astype(np.float32)
    target = 0.5 * mix
    normalizer = get_normalizer(name)
    low = 0.1 if name == "norm_min_max" else 0.0
    mix_n, target_n = normalizer.normalize(mix, target, reference=np.array([0.1, 4.0], np.float32))
    np.testing.assert_allclose(mix_n, (mix - low) / (4.0 - low), rtol=1e-6)
    np.testing.assert_allclose(target_n, (target - low) / (4.0 - low), rtol=1e-6)
    back = normalizer.denormalize(target_n, mix, reference=np.array([0.1, 4.0], np.float32))
    np.testing.assert_allclose(back, target, rtol=1e-5)


def test_min_max_constant_window_is_only_shifted():
    mix_n, target_n = get_normalizer("norm_min_max").normalize(_window([2.0, 2.0]), _window([3.0, 1.0]))
    np.testing.assert_allclose(mix_n, 0.0)
    np.testing.assert_allclose(target_n, _window([1.0, -1.0]))


def test_none_leaves_values_alone():
    mix = _window([1.0, 5.0])
    mix_n, target_n = get_normalizer("none").normalize(mix, mix * 2)
    np.testing.assert_array_equal(mix_n, mix)
    np.testing.assert_array_equal(target_n, mix * 2)


def test_zmuv_normalizes_per_bin_with_the_stats():
    stats = ZmuvStats(mean=np.array([1.0, 10.0]), std=np.array([2.0, 0.0]))
    mix = np.array([[[3.0], [1.0]], [[10.0], [12.0]]], dtype=np.float32)  # (2 bins, 2 frames, 1)
    mix_n, target_n = get_normalizer("zmuv").normalize(mix, mix + 2, stats=stats)
    np.testing.assert_allclose(mix_n[0, :, 0], [1.0, 0.0])
    np.testing.assert_allclose(mix_n[1, :, 0], [0.0, 2.0])  # std 0: centred only
    np.testing.assert_allclose(target_n[0, :, 0], [2.0, 1.0])


def test_zmuv_needs_matching_stats():
    with pytest.raises(ConfigurationError, match="needs per-bin statistics; received stats=None"):
        get_normalizer("zmuv").normalize(np.ones((2, 3, 1)))
    stats = ZmuvStats(mean=np.zeros(3), std=np.ones(3))
    with pytest.raises(ConfigurationError, match="statistics for 3 bins; expected 2"):
        get_normalizer("zmuv").normalize(np.ones((2, 3, 1)), stats=stats)


@pytest.mark.parametrize("name", ["none", "norm_max", "norm_min_max", "zmuv"])
def test_denormalize_inverts_the_target_transform(rng, name):
    stats = ZmuvStats(mean=rng.uniform(0, 1, 4), std=rng.uniform(0.5, 2, 4))
    mix = rng.uniform(0, 3, (4, 6, 2)).astype(np.float32)
    target = rng.uniform(0, 3, (4, 6, 2)).astype(np.float32)
    normalizer = get_normalizer(name)
    _, target_n = normalizer.normalize(mix, target, stats=stats)
    np.testing.assert_allclose(normalizer.denormalize(target_n, mix, stats=stats), target, rtol=1e-5, atol=1e-6)


def test_zmuv_accumulate_matches_numpy_over_all_songs(rng):
    songs = [rng.uniform(0, 5, (6, frames, 2)) + rng.uniform(0, 100) for frames in (7, 1, 30, 0)]
    stats = ZmuvStats.accumulate(iter(songs))  # a one-pass iterator is enough
    flat = np.concatenate([song.reshape(6, -1) for song in songs], axis=1)
    np.testing.assert_allclose(stats.mean, flat.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(stats.std, flat.std(axis=1), rtol=1e-9)
    assert stats.mean.shape == (6,) and not stats.mean.flags.writeable


def test_zmuv_accumulate_errors():
    with pytest.raises(DataError, match="no magnitude frames"):
        ZmuvStats.accumulate([])
    with pytest.raises(DataError, match="no magnitude frames"):
        ZmuvStats.accumulate([np.zeros((3, 0, 1))])
    with pytest.raises(DataError, match="with 4 bins; expected 3"):
        ZmuvStats.accumulate([np.ones((3, 2, 1)), np.ones((4, 2, 1))])
    with pytest.raises(DataError, match=r"array 0 of shape \(3, 2\)"):
        ZmuvStats.accumulate([np.ones((3, 2))])


def test_zmuv_stats_validation():
    with pytest.raises(DataError, match="expected two non-empty arrays"):
        ZmuvStats(mean=np.zeros(3), std=np.ones(4))
    with pytest.raises(DataError, match="negative std"):
        ZmuvStats(mean=np.zeros(2), std=np.array([1.0, -1.0]))
    with pytest.raises(DataError, match="NaN"):
        ZmuvStats(mean=np.array([np.nan, 0.0]), std=np.ones(2))


def test_zmuv_json_round_trip(tmp_path, rng):
    stats = ZmuvStats(mean=rng.uniform(0, 1, 769), std=rng.uniform(0, 1, 769))
    path = tmp_path / "zmuv.json"
    stats.to_json(path)
    loaded = ZmuvStats.from_json(path)
    np.testing.assert_array_equal(loaded.mean, stats.mean)
    np.testing.assert_array_equal(loaded.std, stats.std)


def test_zmuv_from_json_errors(tmp_path):
    with pytest.raises(DataError, match="zmuv statistics file not found"):
        ZmuvStats.from_json(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match="broken.json: unreadable zmuv statistics"):
        ZmuvStats.from_json(broken)
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"mean": [1.0]}), encoding="utf-8")
    with pytest.raises(DataError, match="expected JSON with 'mean' and 'std'"):
        ZmuvStats.from_json(partial)
