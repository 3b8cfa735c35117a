"""Representations and normalisers on hand-made windows with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from unmix.config.schema import TransformOptions
from unmix.dsp.normalizers import ZmuvStats
from unmix.dsp.stft import StftOptions
from unmix.errors import ConfigurationError
from unmix.pipeline.representations import available_representations, get_representation

STFT = StftOptions(n_fft=16, hop_length=4)  # 9 bins
BINS, SIZE, CH = 9, 4, 2
NORMALIZERS = ("norm_max", "norm_min_max", "zmuv", "none")


def make(name: str, normalizer: str = "norm_max", *, size: int = SIZE, step: int = 2):
    return get_representation(name, options=TransformOptions(size=size, step=step, normalizer=normalizer), stft=STFT)


@pytest.fixture
def windows(rng):
    """|V| and |I| windows; |mix| >= |V| (so ideal masks reproduce |V| exactly)."""
    vocals = rng.uniform(0.0, 2.0, (BINS, SIZE, CH)).astype(np.float32)
    instrumental = rng.uniform(0.0, 3.0, (BINS, SIZE, CH)).astype(np.float32)
    mix = (vocals + instrumental * rng.uniform(0.5, 1.0, (BINS, SIZE, CH))).astype(np.float32)
    return mix, vocals, instrumental


@pytest.fixture
def stats():
    return ZmuvStats(mean=np.linspace(0.5, 1.5, BINS).astype(np.float32), std=np.linspace(1.0, 3.0, BINS).astype(np.float32))


def expected_normalised(normalizer, mix, target, stats):
    """The contract's normalisers written out: the target uses the mix window's factors."""
    if normalizer == "norm_max":
        return mix / mix.max(), target / mix.max()
    if normalizer == "norm_min_max":
        low, high = mix.min(), mix.max()
        return (mix - low) / (high - low), (target - low) / (high - low)
    if normalizer == "zmuv":
        mean, std = stats.mean[:, None, None], stats.std[:, None, None]
        return (mix - mean) / std, (target - mean) / std
    return mix, target


def test_registry_lists_the_five_representations():
    assert available_representations() == ["mask", "mask_ibm", "stems", "train_window_predict_mask", "window"]


@pytest.mark.parametrize("spelling", ["Window", "TRAIN_WINDOW_PREDICT_MASK", "mask-ibm", "Mask_IBM"])
def test_names_are_case_insensitive(spelling):
    assert make(spelling).name == spelling.lower().replace("-", "_")


def test_seed_hann_name_is_an_alias():
    assert make("train_window_predict_mask_hann").name == "train_window_predict_mask"


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ConfigurationError, match=r"^transformation\.name: unknown representation 'windw'; known: mask, .*; did you mean 'window'\?$"):
        make("windw")


@pytest.mark.parametrize(("size", "step"), [(0, 1), (4, 0), (4, 5), (4.0, 2)])
def test_bad_size_or_step(size, step):
    with pytest.raises(ConfigurationError, match=r"transformation\.options\.(size|step)"):
        make("window", size=size, step=step)


def test_geometry_and_output_kinds():
    representation = make("window")
    assert (representation.size, representation.step, representation.normalizer_name) == (SIZE, 2, "norm_max")
    assert representation.input_shape(2) == (BINS, SIZE, 2)
    kinds = {name: make(name).output_kind for name in available_representations()}
    assert kinds == {"window": "magnitude", "stems": "magnitude", "train_window_predict_mask": "mask", "mask": "mask", "mask_ibm": "mask"}


@pytest.mark.parametrize("normalizer", NORMALIZERS)
def test_window_normalises_input_and_target_with_the_mix_factors(normalizer, windows, stats):
    mix, vocals, instrumental = windows
    x, y = make("window", normalizer).make_item(mix, vocals, instrumental, packs_mix=False, stats=stats)
    want_x, want_y = expected_normalised(normalizer, mix, vocals, stats)
    assert x.dtype == y.dtype == np.float32
    np.testing.assert_allclose(x, want_x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y, want_y, rtol=1e-5, atol=1e-6)


def test_norm_max_known_numbers():
    mix = np.zeros((BINS, SIZE, CH), np.float32)
    mix[0, 0, 1] = 4.0
    mix[1, 2, 0] = 2.0
    vocals = mix / 2
    x, y = make("window").make_item(mix, vocals, mix - vocals, packs_mix=False, stats=None)
    assert x[0, 0, 1] == 1.0 and x[1, 2, 0] == 0.5 and y[0, 0, 1] == 0.5 and y[1, 2, 0] == 0.25


def test_silent_window_does_not_make_nans():
    zeros = np.zeros((BINS, SIZE, CH), np.float32)
    for name in available_representations():
        for normalizer in ("norm_max", "norm_min_max"):
            x, y = make(name, normalizer).make_item(zeros, zeros, zeros, packs_mix=False, stats=None)
            targets = list(y.values()) if isinstance(y, dict) else [y]
            assert np.isfinite(x).all() and all(np.isfinite(t).all() for t in targets)


@pytest.mark.parametrize("normalizer", NORMALIZERS)
def test_stems_targets_every_stem_with_the_mix_factors(normalizer, windows, stats):
    mix, vocals, instrumental = windows
    representation = make("stems", normalizer)
    x, y = representation.make_item(mix, vocals, instrumental, packs_mix=False, stats=stats)
    assert representation.output_kind == "magnitude" and set(y) == {"vocals", "instrumental"}
    want_x, want_vocals = expected_normalised(normalizer, mix, vocals, stats)
    _, want_instrumental = expected_normalised(normalizer, mix, instrumental, stats)
    assert x.dtype == y["vocals"].dtype == y["instrumental"].dtype == np.float32
    np.testing.assert_allclose(x, want_x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y["vocals"], want_vocals, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y["instrumental"], want_instrumental, rtol=1e-5, atol=1e-6)
    # Each named output comes back on |mix|'s scale, clipped to [0, |mix|].
    np.testing.assert_allclose(representation.to_vocals_magnitude(y["vocals"], mix, stats=stats), np.minimum(vocals, mix), rtol=1e-4, atol=1e-4)
    with pytest.raises(ConfigurationError, match="'stems' makes the model output one magnitude per stem"):
        representation.make_item(mix, vocals, instrumental, packs_mix=True, stats=None)


def test_window_rejects_a_packing_loss(windows):
    with pytest.raises(ConfigurationError, match="'window' makes the model output a vocal magnitude"):
        make("window").make_item(*windows, packs_mix=True, stats=None)


def test_predict_mask_packs_vocals_and_mix(windows):
    mix, vocals, instrumental = windows
    x, y = make("train_window_predict_mask").make_item(mix, vocals, instrumental, packs_mix=True, stats=None)
    assert x.shape == (BINS, SIZE, CH) and y.shape == (BINS, SIZE, 2 * CH) and y.dtype == np.float32
    np.testing.assert_allclose(y[..., :CH], vocals / mix.max(), rtol=1e-6)
    np.testing.assert_array_equal(y[..., CH:], x)


def test_predict_mask_without_packing_targets_the_ratio_mask():
    vocals = np.full((BINS, SIZE, CH), 1.0, np.float32)
    instrumental = np.full((BINS, SIZE, CH), 3.0, np.float32)
    _, y = make("train_window_predict_mask").make_item(vocals + instrumental, vocals, instrumental, packs_mix=False, stats=None)
    np.testing.assert_allclose(y, 0.25)


def test_stacked_targets_follow_the_configured_order(windows):
    """Park et al. 2018: accompaniment then voice on the channels, the packed mix after them."""
    mix, vocals, instrumental = windows
    representation = get_representation(
        "train_window_predict_mask", options=TransformOptions(size=SIZE, step=2, targets=("instrumental", "vocals")), stft=STFT
    )
    x, y = representation.make_item(mix, vocals, instrumental, packs_mix=True, stats=None)
    assert y.shape == (BINS, SIZE, 3 * CH)
    np.testing.assert_allclose(y[..., :CH], instrumental / mix.max(), rtol=1e-6)
    np.testing.assert_allclose(y[..., CH : 2 * CH], vocals / mix.max(), rtol=1e-6)
    np.testing.assert_array_equal(y[..., 2 * CH :], x)
    parts = representation.split_targets(y[..., : 2 * CH])
    assert list(parts) == ["instrumental", "vocals"]
    np.testing.assert_array_equal(parts["vocals"], y[..., CH : 2 * CH])
    _, masks = representation.make_item(mix, vocals, instrumental, packs_mix=False, stats=None)
    np.testing.assert_allclose(masks[..., :CH] + masks[..., CH:], 1.0, rtol=1e-6)


def test_a_linear_mask_is_clipped_only_below(windows):
    mix = windows[0]
    prediction = np.where(np.arange(BINS)[:, None, None] % 2, 1.8, -0.5) * np.ones((BINS, SIZE, CH))
    linear = get_representation("train_window_predict_mask", options=TransformOptions(size=SIZE, step=2, mask_activation="linear"), stft=STFT)
    assert linear.model_output == "linear_mask" and make("train_window_predict_mask").model_output == "mask"
    np.testing.assert_allclose(linear.to_vocals_magnitude(prediction, mix, stats=None), np.maximum(prediction, 0) * mix, rtol=1e-6)
    np.testing.assert_allclose(make("train_window_predict_mask").to_vocals_magnitude(prediction, mix, stats=None), np.clip(prediction, 0, 1) * mix, rtol=1e-6)


@pytest.mark.parametrize(
    ("name", "options", "match"),
    [
        ("train_window_predict_mask", {"targets": ()}, r"transformation\.options\.targets: expected distinct stems of vocals, instrumental; received \[\]"),
        ("train_window_predict_mask", {"targets": ("vocals", "drums")}, r"transformation\.options\.targets: expected distinct stems"),
        ("mask", {"targets": ("instrumental", "vocals")}, r"transformation\.options\.targets: transformation\.name 'mask' predicts the vocals only"),
        ("train_window_predict_mask", {"mask_activation": "relu"}, r"transformation\.options\.mask_activation: expected 'sigmoid' or 'linear'; received 'relu'"),
        ("window", {"mask_activation": "linear"}, r"transformation\.options\.mask_activation: expected 'sigmoid' \(transformation\.name 'window' outputs a magnitude\)"),
    ],
)
def test_bad_targets_or_mask_activation_name_their_key(name, options, match):
    with pytest.raises(ConfigurationError, match=match):
        get_representation(name, options=TransformOptions(size=SIZE, step=2, **options), stft=STFT)


def test_song_scope_scales_every_window_by_the_song(windows):
    mix, vocals, instrumental = windows
    song = get_representation("train_window_predict_mask", options=TransformOptions(size=SIZE, step=2, normalizer_scope="song"), stft=STFT)
    whole_song = np.concatenate([mix, 3.0 * mix], axis=1)  # a louder stretch elsewhere in the song
    reference = song.song_reference(whole_song)
    np.testing.assert_allclose(reference, [mix.min(), 3.0 * mix.max()])
    assert make("train_window_predict_mask").song_reference(whole_song) is None
    x, y = song.make_item(mix, vocals, instrumental, packs_mix=True, stats=None, reference=reference)
    np.testing.assert_allclose(x, mix / (3.0 * mix.max()), rtol=1e-6)
    np.testing.assert_allclose(y[..., :CH], vocals / (3.0 * mix.max()), rtol=1e-6)
    np.testing.assert_allclose(song.prepare(np.stack([mix, mix]), stats=None, reference=reference)[1], x, rtol=1e-6)
    with pytest.raises(ValueError, match="normalizer_scope 'song' needs the song's reference"):
        song.prepare(mix, stats=None)


@pytest.mark.parametrize(
    ("normalizer", "scope", "match"),
    [
        ("norm_max", "track", r"transformation\.options\.normalizer_scope: expected 'window' or 'song'; received 'track'"),
        ("zmuv", "song", r"transformation\.options\.normalizer_scope: expected 'window' for normalizer 'zmuv' \(a song scope sets the factors of norm_max and norm_min_max\); received 'song'"),
    ],
)
def test_a_bad_normalizer_scope_names_its_key(normalizer, scope, match):
    with pytest.raises(ConfigurationError, match=match):
        get_representation("train_window_predict_mask", options=TransformOptions(size=SIZE, step=2, normalizer=normalizer, normalizer_scope=scope), stft=STFT)


@pytest.mark.parametrize("normalizer", NORMALIZERS)
def test_mask_targets_are_never_normalised(normalizer, windows, stats):
    mix, vocals, instrumental = windows
    x, y = make("mask", normalizer).make_item(mix * 10, vocals, instrumental, packs_mix=False, stats=stats)
    np.testing.assert_allclose(y, vocals / (vocals + instrumental), rtol=1e-5)
    np.testing.assert_allclose(x, expected_normalised(normalizer, mix * 10, mix, stats)[0], rtol=1e-5, atol=1e-6)


def test_mask_is_built_from_vocals_and_instrumental_not_the_mix():
    vocals = np.ones((BINS, SIZE, CH), np.float32)
    instrumental = np.ones((BINS, SIZE, CH), np.float32)
    _, y = make("mask").make_item(vocals + instrumental, vocals, instrumental, packs_mix=False, stats=None)
    np.testing.assert_allclose(y, 0.5)  # the seed's target was a constant 1


def test_mask_with_packing_weights_the_mask_by_the_mix(windows):
    mix, vocals, instrumental = windows
    x, y = make("mask").make_item(mix, vocals, instrumental, packs_mix=True, stats=None)
    np.testing.assert_allclose(y[..., :CH], vocals / (vocals + instrumental) * x, rtol=1e-5)
    np.testing.assert_array_equal(y[..., CH:], x)


def test_binary_mask_known_answer():
    vocals = np.zeros((BINS, SIZE, CH), np.float32)
    instrumental = np.ones((BINS, SIZE, CH), np.float32)
    vocals[2, 1, 0] = 5.0
    vocals[3, 3, 1] = 1.0  # a tie counts as vocals
    _, y = make("mask_ibm").make_item(vocals + instrumental, vocals, instrumental, packs_mix=False, stats=None)
    assert y.sum() == 2 and y[2, 1, 0] == 1 and y[3, 3, 1] == 1 and set(np.unique(y)) == {0.0, 1.0}


@pytest.mark.parametrize("name", ["window", "train_window_predict_mask", "mask", "mask_ibm"])
def test_channel_zero_stays_channel_zero(name):
    """Left (channel 0) holds the vocals, right only instrumental: nothing may move across."""
    ramp = np.arange(BINS * SIZE, dtype=np.float32).reshape(BINS, SIZE) + 1
    mix = np.stack([ramp, np.full_like(ramp, 0.5)], axis=-1)
    vocals = np.stack([ramp * 0.75, np.zeros_like(ramp)], axis=-1)
    instrumental = np.stack([ramp * 0.25, np.full_like(ramp, 0.5)], axis=-1)
    x, y = make(name, "none").make_item(mix, vocals, instrumental, packs_mix=False, stats=None)
    np.testing.assert_array_equal(x, mix)
    assert y[..., 0].all() and not y[..., 1].any()


def test_make_item_checks_shapes(windows):
    mix, vocals, instrumental = windows
    with pytest.raises(ValueError, match=r"vocals_mag of shape \(9, 3, 2\)"):
        make("mask").make_item(mix, vocals[:, :3], instrumental, packs_mix=False, stats=None)
    with pytest.raises(ValueError, match=r"expected \(9, 4, channels\)"):
        make("mask").make_item(mix[:8], vocals[:8], instrumental[:8], packs_mix=False, stats=None)


@pytest.mark.parametrize("normalizer", NORMALIZERS)
def test_prepare_is_the_training_input_and_is_vectorised(normalizer, windows, stats):
    mix, vocals, instrumental = windows
    representation = make("train_window_predict_mask", normalizer)
    x, _ = representation.make_item(mix, vocals, instrumental, packs_mix=True, stats=stats)
    np.testing.assert_array_equal(representation.prepare(mix, stats=stats), x)
    batch = representation.prepare(np.stack([mix, mix * 3]), stats=stats)
    assert batch.shape == (2, BINS, SIZE, CH) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[0], x, rtol=1e-6)
    # Each window is normalised on its own.
    np.testing.assert_allclose(batch[1], representation.prepare(mix * 3, stats=stats), rtol=1e-6)


@pytest.mark.parametrize("name", ["train_window_predict_mask", "mask", "mask_ibm"])
def test_ideal_mask_gives_back_the_exact_vocals(name, windows):
    mix, vocals, _ = windows
    representation = make(name)
    ideal = vocals / mix
    np.testing.assert_allclose(representation.to_vocals_magnitude(ideal, mix, stats=None), vocals, rtol=1e-6)
    batch = representation.to_vocals_magnitude(np.stack([ideal, np.full_like(ideal, 2.0)]), np.stack([mix, mix]), stats=None)
    np.testing.assert_allclose(batch[0], vocals, rtol=1e-6)
    np.testing.assert_allclose(batch[1], mix)  # masks are clipped to [0, 1]


@pytest.mark.parametrize("normalizer", NORMALIZERS)
def test_window_target_gives_back_the_exact_vocals(normalizer, windows, stats):
    mix, vocals, instrumental = windows
    representation = make("window", normalizer)
    _, y = representation.make_item(mix, vocals, instrumental, packs_mix=False, stats=stats)
    np.testing.assert_allclose(representation.to_vocals_magnitude(y, mix, stats=stats), vocals, rtol=1e-4, atol=1e-5)
    batch = representation.to_vocals_magnitude(np.stack([y, y + 100.0]), np.stack([mix, mix]), stats=stats)
    np.testing.assert_allclose(batch[0], vocals, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(batch[1], mix)  # clipped to the mix


def test_to_vocals_magnitude_checks_shapes(windows):
    mix = windows[0]
    with pytest.raises(ValueError, match="prediction of shape"):
        make("mask").to_vocals_magnitude(mix[..., :1], mix, stats=None)
