"""The spleeter model's ``high_band`` extensions: what each one puts above the U-Nets' edge."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from unmix.errors import ConfigurationError
from unmix.models import build_model
from unmix.models.high_band import HEAD, TOP_BINS
from unmix.models.registry import copy_layers_by_name

# 257 bins (FFT 512), the U-Nets on the first 128 (the head's top band is then all of them),
# 64 frames, 2 filters per level.
TINY = {"bins": 128, "filters": [2, 2, 2, 2, 2, 2], "dropout": 0.0}
SHAPE = (257, 64, 2)
EDGE = 128


def _model(method: str, *, targets=("vocals", "instrumental"), **options) -> keras.Model:
    return build_model("spleeter", {**TINY, "high_band": method, "targets": list(targets), **options}, input_shape=SHAPE, output="magnitude")


def _predict(model: keras.Model, x: np.ndarray) -> dict[str, np.ndarray]:
    y = model(x, training=False)
    return {n: keras.ops.convert_to_numpy(v) for n, v in y.items()} if isinstance(y, dict) else {"vocals": keras.ops.convert_to_numpy(y)}


@pytest.fixture
def mix(rng) -> np.ndarray:
    return (rng.random((2, *SHAPE), dtype=np.float32) + 0.1) * 3.0  # > 0 everywhere: the mask is estimate / mix


def test_none_keeps_spleeter_s_silence_above_the_edge(mix) -> None:
    y = _predict(_model("none"), mix)
    assert np.all(y["vocals"][:, EDGE:] == 0)
    np.testing.assert_array_equal(y["instrumental"][:, EDGE:], mix[:, EDGE:])


@pytest.mark.parametrize("targets", [("vocals", "instrumental"), ("vocals",)])
def test_average_applies_each_frame_s_mean_mask_below_the_edge(mix, targets) -> None:
    y = _predict(_model("average", targets=targets), mix)
    for target, estimate in y.items():
        below = estimate[:, :EDGE] / mix[:, :EDGE]  # the U-Net's sigmoid mask
        expected = below.mean(axis=1, keepdims=True) * mix[:, EDGE:]
        np.testing.assert_allclose(estimate[:, EDGE:], expected, rtol=1e-5, atol=1e-6, err_msg=target)


def test_instrumental_average_extends_the_instrumental_s_top_band_mask_and_keeps_the_vocals_silent(mix) -> None:
    """The vocals U-Net over 192 bins, the instrumental's over 128; above 128 its mask is its mean over the top TOP_BINS."""
    model = _model("instrumental_average", vocals_bins=192, bins=128)
    y = _predict(model, mix)
    assert np.all(y["vocals"][:, 192:] == 0)
    assert np.all(y["vocals"][:, EDGE:192] > 0)  # the vocals U-Net's own estimate
    assert TOP_BINS >= EDGE  # this band is no wider than the top bins: its whole mask is averaged
    mask = y["instrumental"][:, :EDGE] / mix[:, :EDGE]
    np.testing.assert_allclose(y["instrumental"][:, EDGE:], mask.mean(axis=1, keepdims=True) * mix[:, EDGE:], rtol=1e-5, atol=1e-6)


def test_instrumental_average_averages_only_the_top_bins_of_a_wide_band(rng) -> None:
    """With a band wider than TOP_BINS, the bins below the top ones do not count."""
    shape = (513, 64, 2)  # FFT 1024; the instrumental U-Net over 384 bins, the vocals' over 448
    options = {**TINY, "bins": 384, "vocals_bins": 448, "high_band": "instrumental_average"}
    model = build_model("spleeter", options, input_shape=shape, output="magnitude")
    x = (rng.random((1, *shape), dtype=np.float32) + 0.1) * 3.0
    y = _predict(model, x)
    mask = y["instrumental"][:, 384 - TOP_BINS : 384] / x[:, 384 - TOP_BINS : 384]
    np.testing.assert_allclose(y["instrumental"][:, 384:], mask.mean(axis=1, keepdims=True) * x[:, 384:], rtol=1e-5, atol=1e-6)
    whole = y["instrumental"][:, :384] / x[:, :384]
    assert not np.allclose(whole.mean(axis=1, keepdims=True) * x[:, 384:], y["instrumental"][:, 384:], rtol=1e-3)
    assert np.all(y["vocals"][:, 448:] == 0)


def test_network_runs_the_u_nets_over_every_bin_but_nyquist(mix) -> None:
    model = _model("network")
    assert model.get_layer("band").output.shape[1] == 256
    y = _predict(model, mix)
    assert np.all(y["vocals"][:, 256:] == 0)
    assert np.all(y["vocals"][:, EDGE:256] > 0)
    # The same weights as with the band: the U-Nets are convolutional in frequency.
    assert model.count_params() == _model("none").count_params()


@pytest.mark.parametrize("targets", [("vocals", "instrumental"), ("vocals",)])
def test_an_untrained_learned_head_is_the_top_band_s_mean_mask(mix, targets) -> None:
    y = _predict(_model("learned", targets=targets), mix)
    below = y["vocals"][:, :EDGE] / mix[:, :EDGE]
    top = np.clip(below[:, -TOP_BINS:].mean(axis=1, keepdims=True), 1e-4, 1 - 1e-4)
    above = y["vocals"][:, EDGE:]
    n_pooled = (SHAPE[0] - EDGE) // 8 * 8
    np.testing.assert_allclose(above[:, :n_pooled], top * mix[:, EDGE : EDGE + n_pooled], rtol=1e-4, atol=1e-6)
    assert np.all(above[:, n_pooled:] == 0)  # the Nyquist bin
    if "instrumental" in y:
        np.testing.assert_allclose(y["instrumental"][:, EDGE:], mix[:, EDGE:] - above, rtol=1e-5, atol=1e-5)


def test_a_trained_head_changes_only_the_band_above_the_edge(mix) -> None:
    model = _model("learned")
    before = _predict(model, mix)
    head = model.get_layer(HEAD)
    head.get_layer("correction").set_weights([np.full_like(w, 0.5) for w in head.get_layer("correction").get_weights()])
    after = _predict(model, mix)
    np.testing.assert_array_equal(after["vocals"][:, :EDGE], before["vocals"][:, :EDGE])
    assert np.all(after["vocals"][:, EDGE:-1] > before["vocals"][:, EDGE:-1])
    assert np.all(after["vocals"][:, EDGE:] <= mix[:, EDGE:] + 1e-5)


def test_freezing_the_u_nets_leaves_only_the_head_to_train() -> None:
    model = _model("learned", freeze_unets=True)
    head_weights = {id(w) for w in model.get_layer(HEAD).trainable_weights}
    assert model.trainable_weights and {id(w) for w in model.trainable_weights} == head_weights


def test_a_head_starts_fresh_when_copied_from_u_nets_without_one(mix) -> None:
    source = _model("none")
    target = _model("learned", freeze_unets=True)
    copied = copy_layers_by_name(target, source, target_name="learned", source_name="none")
    assert copied == sum(1 for layer in source.layers if layer.get_weights())
    np.testing.assert_allclose(_predict(target, mix)["vocals"][:, :EDGE], _predict(source, mix)["vocals"][:, :EDGE], rtol=1e-6)


@pytest.mark.parametrize("method", ["average", "learned", "instrumental_average"])
def test_keras_file_round_trip(mix, method, tmp_path) -> None:
    model = _model(method)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    for name, value in _predict(model, mix).items():
        np.testing.assert_allclose(_predict(loaded, mix)[name], value, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"high_band": "zeros"}, r"high_band must be one of none, average, network, learned, instrumental_average; received 'zeros'"),
        ({"high_band": "average", "freeze_unets": True}, r"freeze_unets trains the learned high band alone"),
        ({"vocals_bins": 64}, r"vocals_bins must be at least bins=128"),
        ({"vocals_bins": 200}, r"vocals_bins must be a multiple of 64"),
        ({"vocals_bins": 320}, r"vocals_bins=320 is more than the STFT's 257 bins"),
        ({"vocals_bins": 192, "high_band": "learned"}, r"learned\" needs one band for both U-Nets"),
    ],
)
def test_bad_high_band_options_are_configuration_errors(options, match) -> None:
    with pytest.raises(ConfigurationError, match=match):
        build_model("spleeter", {**TINY, **options}, input_shape=SHAPE, output="magnitude")


def test_a_wider_vocals_band_feeds_the_vocals_u_net_alone(mix) -> None:
    """vocals_bins widens the vocals U-Net's band; the instrumental keeps ``bins``, and the average extends each above its own edge."""
    model = _model("average", vocals_bins=192)
    y = _predict(model, mix)
    vocals_mask = y["vocals"][:, :192] / mix[:, :192]
    np.testing.assert_allclose(y["vocals"][:, 192:], vocals_mask.mean(axis=1, keepdims=True) * mix[:, 192:], rtol=1e-5, atol=1e-6)
    instrumental_mask = y["instrumental"][:, :EDGE] / mix[:, :EDGE]
    np.testing.assert_allclose(y["instrumental"][:, EDGE:], instrumental_mask.mean(axis=1, keepdims=True) * mix[:, EDGE:], rtol=1e-5, atol=1e-6)
    # The same weights as with one band: only the crops differ.
    assert model.count_params() == _model("average").count_params()
    changed = mix.copy()
    changed[:, EDGE:192] *= 10.0  # seen by the vocals U-Net only
    again = _predict(model, changed)
    np.testing.assert_array_equal(again["instrumental"][:, :EDGE], y["instrumental"][:, :EDGE])
    assert not np.allclose(again["vocals"][:, :EDGE], y["vocals"][:, :EDGE])
