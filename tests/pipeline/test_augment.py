"""Augmentation: remix, gain, channel swap, and mix == vocals + instrumental."""

from __future__ import annotations

import numpy as np
import pytest

from unmix.config.schema import AugmentationOptions
from unmix.errors import ConfigurationError
from unmix.pipeline.augment import augment_segments, check_augmentation, remix_partners


@pytest.fixture
def segments(rng):
    vocals = rng.standard_normal((6, 2, 500)).astype(np.float32)
    instrumental = rng.standard_normal((6, 2, 500)).astype(np.float32)
    return vocals, instrumental


def test_mix_is_vocals_plus_instrumental(segments):
    vocals, instrumental = segments
    before = (vocals.copy(), instrumental.copy())
    out_v, out_i, mix = augment_segments(
        vocals, instrumental, rng=np.random.default_rng(0), options=AugmentationOptions(enabled=True)
    )
    np.testing.assert_array_equal(mix, out_v + out_i)
    assert mix.dtype == np.float32 and mix.shape == vocals.shape
    np.testing.assert_array_equal(vocals, before[0])  # inputs untouched
    np.testing.assert_array_equal(instrumental, before[1])


def test_gains_lie_in_the_range(segments):
    vocals, instrumental = segments
    options = AugmentationOptions(enabled=True, remix_probability=0.0, channel_swap=False, gain_min=0.5, gain_max=0.75)
    out_v, out_i, _ = augment_segments(vocals, instrumental, rng=np.random.default_rng(1), options=options)
    for out, source in ((out_v, vocals), (out_i, instrumental)):
        gains = out[:, 0, 0] / source[:, 0, 0]
        assert np.all((gains >= 0.5 - 1e-6) & (gains <= 0.75 + 1e-6)) and len(np.unique(gains.round(6))) > 1
        np.testing.assert_allclose(out, source * gains[:, None, None], rtol=1e-5)


def test_remix_takes_the_instrumental_of_another_song(segments):
    vocals, instrumental = segments
    options = AugmentationOptions(enabled=True, remix_probability=1.0, channel_swap=False, gain_min=1.0, gain_max=1.0)
    ids = ["a", "a", "b", "b", "c", "c"]
    out_v, out_i, _ = augment_segments(vocals, instrumental, rng=np.random.default_rng(2), options=options, song_ids=ids)
    np.testing.assert_array_equal(out_v, vocals)
    for k in range(6):
        (source,) = [j for j in range(6) if np.array_equal(out_i[k], instrumental[j])]
        assert ids[source] != ids[k]


def test_remix_partners():
    rng = np.random.default_rng(3)
    assert remix_partners(["a"], rng=rng, probability=1.0).tolist() == [0]
    assert remix_partners(["a", "b", "c"], rng=rng, probability=0.0).tolist() == [0, 1, 2]
    partners = remix_partners(["a", "a", "a"], rng=rng, probability=1.0)  # one song: any other window
    assert all(p != k for k, p in enumerate(partners))


def test_channel_swap_flips_whole_stems(segments):
    vocals, instrumental = segments
    options = AugmentationOptions(enabled=True, remix_probability=0.0, gain_min=1.0, gain_max=1.0)
    out_v, out_i, _ = augment_segments(vocals, instrumental, rng=np.random.default_rng(4), options=options)
    flips = 0
    for out, source in ((out_v, vocals), (out_i, instrumental)):
        for k in range(6):
            flipped = np.array_equal(out[k], source[k, ::-1])
            assert flipped or np.array_equal(out[k], source[k])
            flips += flipped
    assert 0 < flips < 12
    mono_v, _, _ = augment_segments(vocals[:, :1], instrumental[:, :1], rng=np.random.default_rng(4), options=options)
    np.testing.assert_array_equal(mono_v, vocals[:, :1])


def test_same_rng_same_result(segments):
    options = AugmentationOptions(enabled=True)
    a = augment_segments(*segments, rng=np.random.default_rng(5), options=options)
    b = augment_segments(*segments, rng=np.random.default_rng(5), options=options)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_shape_errors(segments):
    vocals, instrumental = segments
    with pytest.raises(ValueError, match=r"expected two equal \(n, channels, samples\)"):
        augment_segments(vocals, instrumental[:, :, :10], rng=np.random.default_rng(), options=AugmentationOptions())


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"remix_probability": 1.5}, r"remix_probability must lie in \[0, 1\]; received 1.5"),
        ({"silent_keep_rate": -0.1}, r"silent_keep_rate must lie in \[0, 1\]"),
        ({"gain_min": 2.0, "gain_max": 1.0}, r"gain_min <= gain_max"),
        ({"gain_min": -1.0}, r"0 <= gain_min"),
    ],
)
def test_check_augmentation(changes, match):
    check_augmentation(AugmentationOptions())
    with pytest.raises(ConfigurationError, match=match):
        check_augmentation(AugmentationOptions(**changes))
