"""The stacked hourglass matches its published structure (Park et al. 2018; Newell et al. 2016)."""

from __future__ import annotations

import logging

import keras
import numpy as np
import pytest

from unmix.errors import ConfigurationError
from unmix.models import build_model
from unmix.models.hourglass import HourglassOptions

TINY = {"initial_filters": 2, "hg_module": {"filters": 3}}


def _layers(model: keras.Model, kind: type, prefix: str = "") -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if isinstance(layer, kind) and layer.name.startswith(prefix)]


@pytest.mark.parametrize(("stacks", "hourglasses"), [(1, 1), (3, 1), (2, 4)])
def test_modules_recursion_depth_and_outputs(stacks: int, hourglasses: int) -> None:
    model = build_model(
        "hourglass", {**TINY, "stacks": stacks, "hourglasses": hourglasses}, input_shape=(65, 32, 2)
    )
    assert len(model.outputs) == hourglasses
    assert all(tuple(output.shape) == (None, 65, 32, 2) for output in model.outputs)
    assert len(_layers(model, keras.layers.MaxPooling2D)) == stacks * hourglasses
    for m in range(1, hourglasses + 1):
        pools = _layers(model, keras.layers.MaxPooling2D, f"hg{m}_")
        ups = _layers(model, keras.layers.UpSampling2D, f"hg{m}_")
        assert len(pools) == len(ups) == stacks
        # Each level halves the 64 x 32 grid (DC bin removed) once more.
        deepest = min(pools, key=lambda layer: layer.output.shape[1])
        assert tuple(deepest.output.shape[1:3]) == (64 // 2**stacks, 32 // 2**stacks)
    # Residual re-injection between consecutive modules only.
    assert len([layer for layer in model.layers if layer.name.endswith("_reinject")]) == hourglasses - 1


def test_stem_follows_the_seed() -> None:
    model = build_model("hourglass", {"stacks": 1, "initial_filters": 4, "hg_module": {"filters": 6}}, input_shape=(17, 8, 1))
    stem = [layer for layer in _layers(model, keras.layers.Conv2D, "stem_")]
    assert [layer.kernel_size for layer in stem] == [(7, 7)] + [(3, 3)] * 4
    assert [layer.filters for layer in stem] == [4, 8, 8, 8, 6]
    # The DC bin is dropped before the network and gets a zero mask back.
    x = np.random.default_rng(0).random((1, 17, 8, 1), dtype=np.float32)
    y = keras.ops.convert_to_numpy(model(x))
    assert np.all(y[:, 0] == 0.0) and np.all(y[:, 1:] > 0.0)


def test_batch_normalization_and_dropout_options_add_layers() -> None:
    plain = build_model("hourglass", {**TINY, "stacks": 2}, input_shape=(17, 8, 2))
    assert not _layers(plain, keras.layers.BatchNormalization)
    assert not _layers(plain, keras.layers.Dropout)
    options = {
        **TINY,
        "stacks": 2,
        "initial_convolutions": {"batchnormalization": True, "dropoutfactor": 0.2},
        "hg_module": {"filters": 3, "batchnormalization": True, "dropoutfactor": 0.2},
        "hg_module_end": {"batchnormalization": True, "dropoutfactor": 0.2},
    }
    full = build_model("hourglass", options, input_shape=(17, 8, 2))
    assert len(_layers(full, keras.layers.BatchNormalization, "stem_")) == 5
    assert len(_layers(full, keras.layers.Dropout, "stem_")) == 5
    # Per level: upper, down, up convolutions; plus one bottom convolution.
    assert len(_layers(full, keras.layers.BatchNormalization, "hg1_l")) == 3 * 2 + 1
    assert len(_layers(full, keras.layers.BatchNormalization, "hg1_end")) == 1
    assert len(_layers(full, keras.layers.Dropout, "hg1_end")) == 2


def test_default_size_matches_the_seed() -> None:
    # The seed's default (stacks 4, 256 filters, no batch norm) hand-counts to about 9.0 M.
    model = build_model("hourglass", None, input_shape=(769, 64, 2))
    assert HourglassOptions().stacks == 4 and HourglassOptions().hourglasses == 1
    assert 8.9e6 < model.count_params() < 9.1e6
    assert len(model.outputs) == 1 and tuple(model.output.shape) == (None, 769, 64, 2)


def test_seed_options_channels_and_classes_load_with_a_deprecation_warning(caplog: pytest.LogCaptureFixture) -> None:
    base = build_model("hourglass", {**TINY, "stacks": 1}, input_shape=(9, 4, 2))
    with caplog.at_level(logging.WARNING, logger="unmix"):
        seed = build_model("hourglass", {**TINY, "stacks": 1, "channels": 128, "classes": 2}, input_shape=(9, 4, 2))
    assert base.count_params() == seed.count_params()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w.split(" is deprecated")[0] for w in warnings] == ["training.model.options.channels", "training.model.options.classes"]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"stacks": 0}, r"training\.model\.options\.stacks: expected a positive integer; received 0"),
        ({"hourglasses": 0}, r"training\.model\.options\.hourglasses: expected a positive"),
        ({"hg_module": {"filters": 0}}, r"training\.model\.options\.hg_module\.filters: expected a positive"),
        (
            {"hg_module_end": {"dropoutfactor": 1.0}},
            r"training\.model\.options\.hg_module_end\.dropoutfactor: expected a dropout rate in \[0, 1\); received 1\.0",
        ),
    ],
)
def test_invalid_values_are_configuration_errors(options, match) -> None:
    with pytest.raises(ConfigurationError, match=match):
        build_model("hourglass", options, input_shape=(9, 4, 2))


def test_park_options_keep_dc_crop_the_top_bin_and_stack_targets() -> None:
    """drop_dc false and bins 512 of 513 (here 16 of 17), two stacked targets, a linear output."""
    options = {**TINY, "stacks": 2, "hourglasses": 2, "drop_dc": False, "bins": 16}
    model = build_model("hourglass", options, input_shape=(17, 8, 1), output="linear_mask", n_targets=2)
    assert [tuple(output.shape) for output in model.outputs] == [(None, 17, 8, 2)] * 2
    (crop,) = _layers(model, keras.layers.Cropping2D, "input")
    assert crop.cropping == ((0, 1), (0, 0)), "the DC bin stays, the top bin is left out"
    assert not _layers(model, keras.layers.ZeroPadding2D, "input"), "16 bins and 8 frames need no padding at depth 2"
    assert model.get_layer("hg2_prediction_act").get_config()["activation"] == "linear"
    x = np.random.default_rng(1).random((2, 17, 8, 1), dtype=np.float32)
    y = keras.ops.convert_to_numpy(model(x)[-1])
    assert np.all(y[:, 16] == 0.0), "the cropped top bin gets a zero output"


def test_more_bins_than_the_input_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"training\.model\.options\.bins: expected 0 \(every bin\) or a bin count <= the input's 17; received 18"):
        build_model("hourglass", {**TINY, "stacks": 1, "bins": 18}, input_shape=(17, 8, 1))


def test_kernel_initializer_reaches_every_convolution() -> None:
    """Park et al. draw weights from N(0, 1 / fan-in): Keras' lecun_normal."""
    model = build_model("hourglass", {**TINY, "stacks": 1, "hourglasses": 2, "kernel_initializer": "lecun_normal"}, input_shape=(17, 8, 1))
    convolutions = _layers(model, keras.layers.Conv2D)
    assert convolutions and {layer.get_config()["kernel_initializer"]["class_name"] for layer in convolutions} == {"LecunNormal"}
    with pytest.raises(ConfigurationError, match=r"training\.model\.options\.kernel_initializer: expected one of glorot_uniform, lecun_normal, he_normal; received 'normal'"):
        build_model("hourglass", {**TINY, "kernel_initializer": "normal"}, input_shape=(17, 8, 1))
