"""The spleeter model: two named magnitude outputs of the input's shape, the band rule, its checks, saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from unmix.errors import ConfigurationError
from unmix.models import build_model

# 129 bins (FFT 256), the U-Nets on the first 64, 64 frames, 2 filters per level.
TINY = {"bins": 64, "filters": [2, 2, 2, 2, 2, 2]}
SHAPE = (129, 64, 2)


@pytest.fixture(scope="module")
def tiny() -> keras.Model:
    return build_model("spleeter", TINY, input_shape=SHAPE, output="magnitude")


def _predict(model: keras.Model, x: np.ndarray) -> dict[str, np.ndarray]:
    return {name: keras.ops.convert_to_numpy(y) for name, y in model(x, training=False).items()}


def test_outputs_are_named_targets_of_the_full_input_shape(tiny, rng) -> None:
    x = rng.random((2, *SHAPE), dtype=np.float32) * 5.0
    y = _predict(tiny, x)
    assert set(y) == {"vocals", "instrumental"}
    for estimate in y.values():
        assert estimate.shape == x.shape and estimate.dtype == np.float32
        # Inside the band: sigmoid mask x input, so between 0 and the input.
        assert np.all(estimate[:, :64] >= 0) and np.all(estimate[:, :64] <= x[:, :64] + 1e-6)


def test_above_the_band_the_vocals_are_zero_and_the_instrumental_is_the_input(tiny, rng) -> None:
    x = rng.random((1, *SHAPE), dtype=np.float32)
    y = _predict(tiny, x)
    assert np.all(y["vocals"][:, 64:] == 0)
    np.testing.assert_array_equal(y["instrumental"][:, 64:], x[:, 64:])


def test_the_band_is_cropped_from_dc_up_and_the_rest_never_reaches_the_networks(tiny, rng) -> None:
    x = rng.random((1, *SHAPE), dtype=np.float32)
    changed = x.copy()
    changed[:, 64:] *= 10.0
    a, b = _predict(tiny, x), _predict(tiny, changed)
    np.testing.assert_array_equal(a["vocals"], b["vocals"])
    np.testing.assert_array_equal(a["instrumental"][:, :64], b["instrumental"][:, :64])


def test_no_crop_when_the_stft_has_exactly_the_band(rng) -> None:
    model = build_model("spleeter", TINY, input_shape=(64, 64, 2), output="magnitude")
    y = _predict(model, rng.random((1, 64, 64, 2), dtype=np.float32))
    assert {k: v.shape for k, v in y.items()} == {"vocals": (1, 64, 64, 2), "instrumental": (1, 64, 64, 2)}


def test_the_sixth_encoder_batch_norm_is_kept_but_has_no_effect(tiny, rng) -> None:
    x = rng.random((1, *SHAPE), dtype=np.float32)
    before = _predict(tiny, x)
    layer = tiny.get_layer("vocals_bn_6")
    saved = layer.get_weights()
    try:
        layer.set_weights([rng.normal(size=w.shape).astype(np.float32) + 2.0 for w in saved])
        after = _predict(tiny, x)
    finally:
        layer.set_weights(saved)
    for target in before:
        np.testing.assert_array_equal(before[target], after[target])


def test_the_full_size_model_has_the_checkpoint_s_148_weights() -> None:
    model = build_model("spleeter", None, input_shape=(2049, 512, 2), output="magnitude")
    assert len(model.weights) == 148
    assert model.count_params() == 19_653_518  # two U-Nets of 9.83 M, batch norm statistics included
    assert model.get_layer("vocals_conv_1").kernel.shape == (5, 5, 2, 16)
    assert model.get_layer("instrumental_deconv_1").kernel.shape == (5, 5, 256, 512)
    assert model.get_layer("vocals_mask_conv").kernel.shape == (4, 4, 1, 2)


@pytest.mark.parametrize(
    ("options", "shape", "output", "match"),
    [
        ({}, (2049, 100, 2), "magnitude", r"transformation\.options\.size must be a multiple of 64 .*received 100"),
        ({"bins": 100}, (2049, 64, 2), "magnitude", r"bins must be a multiple of 64"),
        ({}, (769, 64, 2), "magnitude", r"bins=1024 is more than the STFT's 769 bins"),
        ({}, (2049, 64, 2), "mask", r"use transformation\.name 'stems'"),
        ({"dropout": 1.5}, (2049, 64, 2), "magnitude", r"dropout"),
    ],
)
def test_bad_shapes_and_options_are_configuration_errors(options, shape, output, match) -> None:
    with pytest.raises(ConfigurationError, match=match):
        build_model("spleeter", options, input_shape=shape, output=output)


def test_get_config_and_keras_file_round_trip(tiny, rng, tmp_path) -> None:
    clone = keras.Model.from_config(tiny.get_config())
    assert [layer.name for layer in clone.layers] == [layer.name for layer in tiny.layers]
    assert clone.count_params() == tiny.count_params()

    x = rng.random((1, *SHAPE), dtype=np.float32)
    tiny.save(tmp_path / "spleeter.keras")
    loaded = keras.saving.load_model(tmp_path / "spleeter.keras", safe_mode=True)
    expected, got = _predict(tiny, x), _predict(loaded, x)
    assert set(got) == set(expected)
    for target in expected:
        np.testing.assert_array_equal(got[target], expected[target])


def test_frozen_batch_norms_do_not_train():
    from unmix.models.registry import build_model

    tiny = {"bins": 64, "filters": [2, 2, 2, 2, 2, 2]}
    free = build_model("spleeter", tiny, input_shape=(129, 64, 2), output="magnitude")
    frozen = build_model("spleeter", {**tiny, "freeze_batch_norm": True}, input_shape=(129, 64, 2), output="magnitude")
    norms = lambda model: [layer for layer in model.layers if "_bn_" in layer.name]  # noqa: E731
    assert [layer.trainable for layer in norms(free)].count(False) == 2  # the unused sixth of each U-Net
    assert not any(layer.trainable for layer in norms(frozen))
    assert len(frozen.trainable_weights) < len(free.trainable_weights)


def test_the_vocals_u_net_alone_is_the_two_u_nets_vocals_half(tiny, rng) -> None:
    # targets ["vocals"]: one output (a one-target model), the vocals layers only, and with the
    # two-U-Net model's vocals weights copied by name, exactly its vocals.
    from unmix.models.registry import copy_layers_by_name

    alone = build_model("spleeter", {**TINY, "targets": ["vocals"]}, input_shape=SHAPE, output="magnitude")
    assert not isinstance(alone.output, dict)
    weighted = {layer.name for layer in alone.layers if layer.weights}
    assert weighted and all(name.startswith("vocals_") for name in weighted)
    assert weighted == {layer.name for layer in tiny.layers if layer.weights and layer.name.startswith("vocals_")}
    assert copy_layers_by_name(alone, tiny, target_name="alone", source_name="tiny") == len(weighted)
    x = rng.random((2, *SHAPE), dtype=np.float32) * 5.0
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(alone(x, training=False)), _predict(tiny, x)["vocals"])


def test_copying_by_name_names_the_layer_that_does_not_fit(tiny) -> None:
    from unmix.errors import ModelError
    from unmix.models.registry import copy_layers_by_name

    wider = build_model("spleeter", {**TINY, "filters": [4, 2, 2, 2, 2, 2], "targets": ["vocals"]}, input_shape=SHAPE, output="magnitude")
    with pytest.raises(ModelError, match=r"cannot start wider from tiny: layer 'vocals_conv_1': tiny has it with shapes"):
        copy_layers_by_name(wider, tiny, target_name="wider", source_name="tiny")
    alone = build_model("spleeter", {**TINY, "targets": ["vocals"]}, input_shape=SHAPE, output="magnitude")
    with pytest.raises(ModelError, match=r"layer 'instrumental_conv_1': alone has no such layer"):
        copy_layers_by_name(tiny, alone, target_name="tiny", source_name="alone")


def test_targets_other_than_both_or_the_vocals_are_configuration_errors() -> None:
    for targets in (["instrumental"], ["vocals", "vocals"], []):
        with pytest.raises(ConfigurationError, match=r"targets must be"):
            build_model("spleeter", {**TINY, "targets": targets}, input_shape=SHAPE, output="magnitude")


def test_the_u_nets_run_on_the_input_s_bins_first_layout_and_weights_keep_keras_paths(tiny, rng, tmp_path) -> None:
    """No transpose around a U-Net; a weights file keys layers by Keras' class names, as before the layout changed."""
    import h5py

    from unmix.models.spleeter import Conv2D, Conv2DTranspose

    assert not [layer.name for layer in tiny.layers if isinstance(layer, keras.layers.Permute)]
    # Each layer is Keras' own convolution with the kernel's two spatial axes swapped.
    x = rng.random((1, 16, 16, 3)).astype(np.float32)
    for layer_type, keras_type in ((Conv2D, keras.layers.Conv2D), (Conv2DTranspose, keras.layers.Conv2DTranspose)):
        ours, plain = layer_type(4, 5, strides=2, padding="same"), keras_type(4, 5, strides=2, padding="same")
        ours.build(x.shape)
        plain.build(x.shape)
        kernel = rng.standard_normal(tuple(ours.kernel.shape)).astype(np.float32)
        ours.set_weights([kernel, np.zeros(4, np.float32)])
        plain.set_weights([kernel, np.zeros(4, np.float32)])
        swapped = np.transpose(keras.ops.convert_to_numpy(plain(np.transpose(x, (0, 2, 1, 3)))), (0, 2, 1, 3))
        np.testing.assert_allclose(keras.ops.convert_to_numpy(ours(x)), swapped, atol=1e-5)
    path = tmp_path / "tiny.weights.h5"
    tiny.save_weights(path)
    with h5py.File(path, "r") as weights:
        assert {"conv2d", "conv2d_transpose"} <= set(weights["layers"])
