"""U-shaped leaky-ReLU network with dropout everywhere (``leakyrelu``).

From the ``leaky_dropout`` model of laserb/deep-vocal-isolation (`modeler.py`), itself derived
from madebyollin/acapellabot: two stride-2 levels, skip connections by concatenation, leaky ReLU
(``alpha1`` in the encoder, ``alpha2`` in the last decoder layers), dropout after the input and
after every convolution. It was trained to predict the vocal magnitude (``window`` representation)
but can output a mask too.

Bins and frames are zero-padded to a multiple of 4 (769 -> 772 bins, as the seed padded) and
cropped back, so the output shape equals the input shape.
"""

from __future__ import annotations

import dataclasses

import keras

from unmix.models.layers import (
    check_rate,
    conv_block,
    fit_input,
    named_output,
    output_activation,
    plan_fit,
    restore_output,
)
from unmix.models.registry import register_model


@dataclasses.dataclass(frozen=True)
class LeakyReluOptions:
    """Options of ``training.model.options`` for ``leakyrelu`` and ``largeleakyrelu``.

    Attributes:
        alpha1: negative slope of the leaky ReLUs in the encoder and middle.
        alpha2: negative slope of the last three decoder convolutions.
        dropout: dropout rate on the input and after every convolution.
    """

    alpha1: float = 0.1
    alpha2: float = 0.01
    dropout: float = 0.5


@dataclasses.dataclass(frozen=True)
class UShape:
    """Filter counts of the U: first level, second level, bottom, decoder middle, decoder tail."""

    level_1: int
    level_2: int
    bottom: int
    middle: int
    tail: tuple[int, int, int]


def build_u_shape(
    options: LeakyReluOptions, widths: UShape, *, input_shape: tuple[int, int, int], output: str, name: str
) -> keras.Model:
    """Build the two-level U with the given widths (shared by ``leakyrelu`` and ``largeleakyrelu``).

    Returns:
        A model from ``(batch, n_bins, n_frames, n_channels)`` to the same shape.

    Raises:
        ConfigurationError: on a dropout rate outside [0, 1).
    """
    check_rate(options.dropout, key="training.model.options.dropout")
    fit = plan_fit(input_shape, multiple=4, drop_dc=False)
    block = dict(activation="leaky_relu", alpha=options.alpha1, dropout=options.dropout)

    inputs = keras.Input(shape=input_shape, name="spectrogram")
    x = fit_input(inputs, fit, name="input")
    if options.dropout > 0:
        x = keras.layers.Dropout(options.dropout, name="input_dropout")(x)
    skip_a = conv_block(x, widths.level_1, 3, name="enc_a", **block)
    x = conv_block(skip_a, widths.level_1, 4, strides=2, name="enc_down_1", **block)
    x = keras.layers.BatchNormalization(name="enc_down_1_norm")(x)
    skip_b = conv_block(x, widths.level_2, 3, name="enc_b", **block)
    x = conv_block(skip_b, widths.level_2, 4, strides=2, name="enc_down_2", **block)
    x = keras.layers.BatchNormalization(name="enc_down_2_norm")(x)
    x = conv_block(x, widths.bottom, 3, name="bottom_1", **block)
    x = conv_block(x, widths.bottom, 3, name="bottom_2", **block)
    x = keras.layers.BatchNormalization(name="bottom_norm")(x)
    x = keras.layers.UpSampling2D(2, name="dec_up_1")(x)
    x = keras.layers.Concatenate(name="dec_skip_b")([x, skip_b])
    x = conv_block(x, widths.middle, 3, name="dec_1", **block)
    x = conv_block(x, widths.middle, 3, name="dec_2", **block)
    x = keras.layers.BatchNormalization(name="dec_norm")(x)
    x = keras.layers.UpSampling2D(2, name="dec_up_2")(x)
    x = keras.layers.Concatenate(name="dec_skip_a")([x, skip_a])
    tail = dict(block, alpha=options.alpha2)
    for i, filters in enumerate(widths.tail, start=1):
        x = conv_block(x, filters, 3, name=f"tail_{i}", **tail)
    x = conv_block(x, input_shape[-1], 3, name="prediction", activation=output_activation(output))
    x = restore_output(x, fit, name="output")
    return keras.Model(inputs, named_output(x), name=name)


@register_model(
    "leakyrelu",
    options=LeakyReluOptions,
    description="two-level U-net with leaky ReLU and dropout (deep-vocal-isolation), vocal magnitude",
)
def build_leakyrelu(
    options: LeakyReluOptions, *, input_shape: tuple[int, int, int], output: str
) -> keras.Model:
    """Build ``leakyrelu``: 64 filters per level, 128 at the bottom, a 64-64-32 tail."""
    widths = UShape(level_1=64, level_2=64, bottom=128, middle=64, tail=(64, 64, 32))
    return build_u_shape(options, widths, input_shape=input_shape, output=output, name="leakyrelu")
