"""Spleeter's last decoder layer, rewritten for the CPU: the same sums at half resolution.

A Spleeter U-Net ends with a stride-2 transposed convolution into one channel, a few elementwise
steps (bias, ReLU, batch norm) and a dilated 4×4 convolution into the mask's two channels, all at
the spectrogram's full resolution. OpenVINO's CPU kernels vectorise over output channels, so
layers with one or two of them run at a fraction of the machine's speed: in a profile of the
installed ``spleeter-2stems`` the two U-Nets' last transposed convolutions took 15 % of the
network's time for under 2 % of its arithmetic (docs/speed.md).

Both layers split by output phase (even or odd row, even or odd column): each phase of a
stride-2 transposed convolution is an ordinary convolution of the input, and each phase of a
convolution after it reads one phase of its input. So the whole tail becomes two convolutions on
the half-resolution grid, with four times the channels, and one ``DepthToSpace`` that interleaves
the phases back. The result is the same sum of the same products (float32: within 2e-6 of the
peak), read by the exported network at compile time, so existing exports need no new export.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Elementwise steps that may sit between the two layers (each with one-element constants only,
#: so they apply to the phases as they did to the full grid).
ELEMENTWISE = frozenset({"Add", "Subtract", "Multiply", "Divide", "Maximum", "Minimum", "Relu", "Clamp", "Sigmoid"})
#: Rewritten only where a layer's output channels times the four phases fit one AVX-512 register
#: of float32 (16): wider layers already run fast, and the rewrite multiplies their arithmetic.
MAX_PHASE_CHANNELS = 16
STRIDE = 2


def rewrite(model: Any) -> int:
    """Rewrite every matching tail of an ``openvino.Model`` in place; returns how many.

    A tail is a ``ConvolutionBackpropData`` (stride 2, no dilation or output padding, output
    exactly twice its input in both axes), then only single-use elementwise steps, then a
    stride-1 ``Convolution``, optionally followed by its bias ``Add`` and a ``Sigmoid``. Anything
    else is left as it is. Spatial sizes must be static (the exported network fixes them).
    """
    from openvino.passes import ConstantFolding, Manager

    manager = Manager()
    manager.register_pass(ConstantFolding())  # the bias arrives as a Reshape of a constant
    manager.run_passes(model)
    count = 0
    for node in list(model.get_ordered_ops()):
        if node.get_type_name() == "Convolution" and _rewrite_tail(node):
            count += 1
    if count:
        model.validate_nodes_and_infer_types()
    return count


def _rewrite_tail(conv: Any) -> bool:
    import openvino.opset13 as ops

    attributes = conv.get_attributes()
    kernel = _constant(conv.input_value(1))
    if kernel is None or kernel.ndim != 4 or attributes["strides"] != [1, 1] or attributes["auto_pad"] != "explicit":
        return False
    grid = _sizes(conv.get_input_partial_shape(0))
    if grid is None or grid != _sizes(conv.get_output_partial_shape(0)):
        return False
    chain, unchanged, node = [], [], conv.input_value(0).get_node()
    while node.get_type_name() in ELEMENTWISE or _keeps_shape(node):
        others = [_constant(node.input_value(i)) for i in range(1, node.get_input_size())]
        if len(node.output(0).get_target_inputs()) != 1 or any(value is None or (value.size != 1 and node.get_type_name() != "Reshape") for value in others):
            return False
        (chain if node.get_type_name() in ELEMENTWISE else unchanged).append(node)
        node = node.input_value(0).get_node()
    deconv = node
    weights = _constant(deconv.input_value(1)) if deconv.get_type_name() == "ConvolutionBackpropData" and deconv.get_input_size() == 2 else None
    if weights is None or weights.ndim != 4 or len(deconv.output(0).get_target_inputs()) != 1:
        return False
    d = deconv.get_attributes()
    if d["strides"] != [STRIDE, STRIDE] or d["dilations"] != [1, 1] or any(d["output_padding"]) or d["auto_pad"] != "explicit":
        return False
    half = _sizes(deconv.get_input_partial_shape(0))
    if half is None or [STRIDE * n for n in half] != _sizes(deconv.get_output_partial_shape(0)):
        return False
    if STRIDE * STRIDE * max(weights.shape[1], kernel.shape[0]) > MAX_PHASE_CHANNELS:
        return False

    for node in unchanged:  # a Reshape to the shape it was given (Keras' export leaves some): dropped
        node.output(0).replace(node.input_value(0))
    phases = _phase_deconv(weights, d["pads_begin"])
    first = ops.convolution(deconv.input_value(0), ops.constant(phases[0]), [1, 1], phases[1], phases[2], [1, 1])
    (chain[-1] if chain else conv).input(0).replace_source_output(first.output(0))
    for step in reversed(chain):  # the elementwise steps now see the phases
        step.validate_and_infer_types()
    source = chain[0].output(0) if chain else first.output(0)
    phases = _phase_conv(kernel, attributes["pads_begin"], attributes["dilations"])
    tail = ops.convolution(source, ops.constant(phases[0]), [1, 1], phases[1], phases[2], [1, 1]).output(0)
    replaced = conv.output(0)
    # The bias and the sigmoid run on the phases too, fused into the convolution, before the
    # interleave (measured: after it, OpenVINO ran them as a separate, slower pass).
    consumers = [target.get_node() for target in conv.output(0).get_target_inputs()]
    if len(consumers) == 1 and consumers[0].get_type_name() == "Add":
        bias = _constant(consumers[0].input_value(1))
        if bias is not None and bias.shape == (1, kernel.shape[0], 1, 1):
            tail = ops.add(tail, ops.constant(np.tile(bias.reshape(-1).astype(np.float32), STRIDE * STRIDE).reshape(1, -1, 1, 1))).output(0)
            replaced = consumers[0].output(0)
            following = [target.get_node() for target in replaced.get_target_inputs()]
            if len(following) == 1 and following[0].get_type_name() == "Sigmoid":
                tail = ops.sigmoid(tail).output(0)
                replaced = following[0].output(0)
    replaced.replace(ops.depth_to_space(tail, "blocks_first", STRIDE).output(0))
    return True


def _keeps_shape(node: Any) -> bool:
    """A Reshape whose output has its input's shape (each axis but the batch static and equal)."""
    if node.get_type_name() != "Reshape":
        return False
    shape = _sizes(node.get_input_partial_shape(0), axes=(1, 2, 3))
    return shape is not None and shape == _sizes(node.get_output_partial_shape(0), axes=(1, 2, 3))


def _sizes(shape: Any, axes: tuple[int, ...] = (2, 3)) -> list[int] | None:
    """The lengths of a 4-D partial shape's axes (by default the two spatial ones), or None if any is not static."""
    if not shape.rank.is_static or len(shape) != 4 or not all(shape[i].is_static for i in axes):
        return None
    return [shape[i].get_length() for i in axes]


def _constant(output: Any) -> np.ndarray | None:
    node = output.get_node()
    return node.get_data() if node.get_type_name() == "Constant" else None


def _phase_deconv(weights: np.ndarray, pads_begin: list[int]) -> tuple[np.ndarray, list[int], list[int]]:
    """A transposed convolution's phases as one convolution: (kernel, pads_begin, pads_end).

    ``weights`` is OpenVINO's ``(in, out, kh, kw)``; an input row ``m`` reaches output row
    ``2m - pad + t`` through tap ``t``, so output row ``2y + a`` reads input row ``y + (a + pad - t) / 2``
    wherever that is a whole number. The output channel of phase ``(a, b)`` and channel ``c`` is
    ``(2a + b) * out + c``, the order of ``DepthToSpace``'s ``blocks_first``.
    """
    n_in, n_out, *size = weights.shape
    taps = [[(a, t, (a + pad - t) // STRIDE) for a in range(STRIDE) for t in range(k) if (a + pad - t) % STRIDE == 0] for k, pad in zip(size, pads_begin)]
    low = [min(o for *_, o in axis) for axis in taps]
    high = [max(o for *_, o in axis) for axis in taps]
    kernel = np.zeros((STRIDE * STRIDE * n_out, n_in, high[0] - low[0] + 1, high[1] - low[1] + 1), np.float32)
    for a, i, row in taps[0]:
        for b, j, column in taps[1]:
            phase = a * STRIDE + b
            kernel[phase * n_out : (phase + 1) * n_out, :, row - low[0], column - low[1]] += weights[:, :, i, j].T
    return kernel, [-low[0], -low[1]], high


def _phase_conv(kernel: np.ndarray, pads_begin: list[int], dilations: list[int]) -> tuple[np.ndarray, list[int], list[int]]:
    """A stride-1 convolution of the interleaved grid as one convolution of its phases.

    Output row ``2y + a`` reads full-grid row ``2y + a + d*t - pad``, which is row
    ``y + (a + d*t - pad) // 2`` of phase ``(a + d*t - pad) % 2``.
    """
    n_out, n_in, *size = kernel.shape
    taps = [[(a, t, *divmod(a + d * t - pad, STRIDE)) for a in range(STRIDE) for t in range(k)] for k, pad, d in zip(size, pads_begin, dilations)]
    low = [min(entry[2] for entry in axis) for axis in taps]
    high = [max(entry[2] for entry in axis) for axis in taps]
    phased = np.zeros((STRIDE * STRIDE * n_out, STRIDE * STRIDE * n_in, high[0] - low[0] + 1, high[1] - low[1] + 1), np.float32)
    for a, i, row, row_phase in taps[0]:
        for b, j, column, column_phase in taps[1]:
            out, read = a * STRIDE + b, row_phase * STRIDE + column_phase
            phased[out * n_out : (out + 1) * n_out, read * n_in : (read + 1) * n_in, row - low[0], column - low[1]] += kernel[:, :, i, j]
    return phased, [-low[0], -low[1]], high
