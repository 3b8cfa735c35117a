"""Spleeter's last decoder layer rewritten at half resolution: the same outputs, only where it matches."""

from __future__ import annotations

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest

from unmix.separation import subpixel


def tail(*, size=(6, 10), channels=5, out=1, mask=2, kernel=5, pads=((1, 1), (2, 2)), mask_kernel=4, dilation=2, bias=True, sigmoid=True, extra_use=False, reshape=False) -> ov.Model:
    """A Spleeter-like tail: deconv, bias, ReLU, batch norm, a dilated conv, its bias and sigmoid."""
    rng = np.random.default_rng(3)
    x = ops.parameter([1, channels, *size], np.float32, name="x")
    deconv = ops.convolution_backprop_data(x, ops.constant(rng.standard_normal((channels, out, kernel, kernel)).astype(np.float32)), [2, 2], pads_begin=list(pads[0]), pads_end=list(pads[1]), dilations=[1, 1])
    y = ops.add(deconv, ops.constant(np.full((1, 1, 1, 1), 0.3, np.float32)))
    y = ops.relu(y)
    y = ops.multiply(y, ops.constant(np.array([0.7], np.float32)))
    y = ops.add(y, ops.constant(np.full((1, 1, 1, 1), -0.2, np.float32)))
    if reshape:  # to the shape it has, as Keras' export leaves where a zero bias was dropped
        y = ops.reshape(y, ops.constant(np.array([-1, out, 2 * size[0], 2 * size[1]], np.int64)), special_zero=False)
    pad = dilation * (mask_kernel - 1) // 2
    conv = ops.convolution(y, ops.constant(rng.standard_normal((mask, out, mask_kernel, mask_kernel)).astype(np.float32)), [1, 1], [pad, pad], [dilation * (mask_kernel - 1) - pad] * 2, [dilation, dilation])
    result = conv
    if bias:
        result = ops.add(result, ops.constant(rng.standard_normal((1, mask, 1, 1)).astype(np.float32)))
    if sigmoid:
        result = ops.sigmoid(result)
    outputs = [result, ops.relu(deconv)] if extra_use else [result]
    return ov.Model(outputs, [x])


def run(model: ov.Model, x: np.ndarray) -> list[np.ndarray]:
    compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    request = compiled.create_infer_request()
    request.infer({0: x})
    return [request.get_tensor(output).data.copy() for output in compiled.outputs]


def types(model: ov.Model) -> list[str]:
    return [node.get_type_name() for node in model.get_ordered_ops()]


@pytest.mark.parametrize(
    "options",
    [
        {},  # Spleeter's: 5x5 stride 2 into one channel, a 4x4 dilated conv into two, bias and sigmoid
        {"size": (7, 5)},  # odd sizes
        {"pads": ((2, 2), (1, 1))},  # the other split of "same" padding
        {"kernel": 3, "pads": ((1, 1), (0, 0))},
        {"mask_kernel": 3, "dilation": 1},  # a plain 3x3 conv after it
        {"out": 2, "mask": 4, "bias": False},  # no bias
        {"sigmoid": False},
        {"reshape": True},
    ],
)
def test_the_rewritten_tail_gives_the_same_outputs(options):
    x = np.random.default_rng(5).standard_normal((1, options.get("channels", 5), *options.get("size", (6, 10)))).astype(np.float32)
    model = tail(**options)
    (expected,) = run(model, x)
    assert subpixel.rewrite(model) == 1
    assert "ConvolutionBackpropData" not in types(model) and "DepthToSpace" in types(model)
    (got,) = run(model, x)
    assert got.shape == expected.shape
    assert float(np.abs(got - expected).max()) <= 1e-5 * float(np.abs(expected).max())


@pytest.mark.parametrize(
    "options",
    [
        {"out": 8},  # wide layers run fast already; four phases of 8 channels would not fit a register
        {"extra_use": True},  # the full-resolution output is used elsewhere
    ],
)
def test_other_graphs_are_left_as_they_are(options):
    model = tail(**options)
    assert subpixel.rewrite(model) == 0
    assert "ConvolutionBackpropData" in types(model) and "DepthToSpace" not in types(model)
