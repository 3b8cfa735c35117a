"""Spleeter-style U-Net mask estimator.

Jansson et al., "Singing Voice Separation with Deep U-Net Convolutional Networks", ISMIR 2017;
the layer sizes follow Spleeter (Hennequin et al., "Spleeter: a fast and efficient music source
separation tool with pre-trained models", JOSS 2020, `spleeter/model/functions/unet.py`).

Encoder: per entry of ``filters`` a 5x5 stride-2 convolution, batch norm, leaky ReLU (0.2).
Decoder: 5x5 stride-2 transposed convolutions back up (ReLU, batch norm; dropout on the first
three), each concatenated with the encoder output of the same size; a last transposed
convolution to ``n_channels`` and a 4x4 dilated convolution with sigmoid give the mask.

The DC bin is removed and the rest zero-padded to a multiple of ``2 ** len(filters)`` (769 bins
-> 768 = 12 * 64); the output is cropped back to the input shape with a DC mask of 0.
"""

from __future__ import annotations

import dataclasses

import keras

from unmix.models.layers import (
    check_levels,
    check_positive,
    check_rate,
    fit_input,
    named_output,
    output_activation,
    plan_fit,
    restore_output,
)
from unmix.models.registry import register_model

# Spleeter applies dropout to the first three decoder layers only.
_DROPOUT_LAYERS = 3


@dataclasses.dataclass(frozen=True)
class UnetOptions:
    """Options of ``training.model.options`` for ``unet``.

    Attributes:
        filters: encoder filters per level (the decoder mirrors them); its length is the depth.
        kernel_size: square kernel of every (transposed) convolution.
        dropout: dropout rate of the first three decoder layers.
        alpha: negative slope of the encoder's leaky ReLU.
    """

    filters: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    kernel_size: int = 5
    dropout: float = 0.5
    alpha: float = 0.2


@register_model("unet", options=UnetOptions, description="Spleeter-style U-Net (6 strided 5x5 conv levels), mask")
def build_unet(options: UnetOptions, *, input_shape: tuple[int, int, int], output: str) -> keras.Model:
    """Build the U-Net.

    Args:
        options: the model options.
        input_shape: ``(n_bins, n_frames, n_channels)``.
        output: ``"mask"`` or ``"magnitude"``.

    Returns:
        A model from ``(batch, n_bins, n_frames, n_channels)`` to the same shape.

    Raises:
        ConfigurationError: on non-positive sizes or a dropout rate outside [0, 1).
    """
    key = "training.model.options"
    check_levels(options.filters, key=f"{key}.filters")
    check_positive(options.kernel_size, key=f"{key}.kernel_size")
    check_rate(options.dropout, key=f"{key}.dropout")
    n_channels = input_shape[-1]
    kernel = options.kernel_size
    fit = plan_fit(input_shape, multiple=2 ** len(options.filters), drop_dc=True)

    inputs = keras.Input(shape=input_shape, name="spectrogram")
    x = fit_input(inputs, fit, name="input")
    skips = []
    for i, filters in enumerate(options.filters, start=1):
        x = keras.layers.Conv2D(filters, kernel, strides=2, padding="same", name=f"enc{i}_conv")(x)
        x = keras.layers.BatchNormalization(name=f"enc{i}_bn")(x)
        x = keras.layers.LeakyReLU(negative_slope=options.alpha, name=f"enc{i}_act")(x)
        skips.append(x)

    decoder_filters = list(reversed(options.filters[:-1])) + [n_channels]
    for i, filters in enumerate(decoder_filters, start=1):
        if i > 1:
            x = keras.layers.Concatenate(name=f"dec{i}_skip")([x, skips[-i]])
        x = keras.layers.Conv2DTranspose(filters, kernel, strides=2, padding="same", name=f"dec{i}_conv")(x)
        x = keras.layers.ReLU(name=f"dec{i}_act")(x)
        x = keras.layers.BatchNormalization(name=f"dec{i}_bn")(x)
        if i <= _DROPOUT_LAYERS and options.dropout > 0:
            x = keras.layers.Dropout(options.dropout, name=f"dec{i}_dropout")(x)
    x = keras.layers.Conv2D(
        n_channels,
        4,
        dilation_rate=2,
        padding="same",
        activation=output_activation(output),
        name="mask_conv",
    )(x)
    x = restore_output(x, fit, name="output")
    return keras.Model(inputs, named_output(x), name="unet")
