"""Shared blocks: shape fitting (any bin count) and the conv block."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from unmix.models.layers import Fit, activation_layer, conv_block, fit_input, plan_fit, restore_output


@pytest.mark.parametrize(
    ("shape", "multiple", "drop_dc", "expected"),
    [
        ((769, 64, 2), 64, True, Fit(drop_dc=True, pad_bins=0, pad_frames=0)),  # FFT 1536, seed
        ((129, 16, 1), 16, True, Fit(drop_dc=True, pad_bins=0, pad_frames=0)),  # FFT 256
        ((769, 64, 2), 4, False, Fit(drop_dc=False, pad_bins=3, pad_frames=0)),  # leakyrelu: 772
        ((29, 13, 1), 8, True, Fit(drop_dc=True, pad_bins=4, pad_frames=3)),
        ((1, 1, 1), 4, True, Fit(drop_dc=False, pad_bins=3, pad_frames=3)),
    ],
)
def test_plan_fit(shape, multiple, drop_dc, expected) -> None:
    assert plan_fit(shape, multiple=multiple, drop_dc=drop_dc) == expected


def test_fit_and_restore_round_trip_shapes() -> None:
    shape = (29, 13, 2)
    fit = plan_fit(shape, multiple=8, drop_dc=True)
    inputs = keras.Input(shape=shape)
    inner = fit_input(inputs, fit, name="t")
    assert tuple(inner.shape) == (None, 32, 16, 2)
    model = keras.Model(inputs, restore_output(inner, fit, name="t"))
    x = np.random.default_rng(0).random((1, *shape), dtype=np.float32) + 1.0
    y = keras.ops.convert_to_numpy(model(x))
    assert y.shape == x.shape
    np.testing.assert_array_equal(y[:, 1:], x[:, 1:])
    assert np.all(y[:, 0] == 0.0)  # the DC row comes back as zeros


def test_plain_conv_block_is_conv_and_activation() -> None:
    inputs = keras.Input(shape=(8, 8, 1))
    model = keras.Model(inputs, conv_block(inputs, 3, 3, name="c", strides=2))
    assert [layer.name for layer in model.layers[1:]] == ["c_conv", "c_act"]
    assert model.get_layer("c_conv").use_bias
    assert tuple(model.output.shape) == (None, 4, 4, 3)


def test_conv_block_with_normalisation_drops_the_bias() -> None:
    inputs = keras.Input(shape=(8, 8, 1))
    x = conv_block(inputs, 3, 3, name="b", activation="leaky_relu", alpha=0.2, batchnormalization=True, dropout=0.1)
    model = keras.Model(inputs, x)
    assert [layer.name for layer in model.layers[1:]] == ["b_conv", "b_bn", "b_act", "b_dropout"]
    assert not model.get_layer("b_conv").use_bias
    assert model.get_layer("b_act").negative_slope == pytest.approx(0.2)


def test_unknown_activation_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match=r"unsupported activation 'swish'"):
        activation_layer("swish", name="x")
