"""Convolutional mask estimator (``mask``).

After the seed's ``mask`` model (two conv pairs with max-pooling and dropout, leaky ReLU,
he-normal initialisation; in the style of Simpson et al., "Deep Karaoke", LVA/ICA 2015). The
seed flattened into dense layers and predicted only the centre frames of a window; this version
is fully convolutional, so the mask covers every frame of the window and any bin count works:
two pooled conv pairs -> a 1x1 bottleneck -> 4x up-sampling -> conv -> 1x1 conv to
``n_channels`` with sigmoid.

Bins and frames are zero-padded to a multiple of 4 and cropped back.
"""

from __future__ import annotations

import dataclasses

import keras

from unmix.models.layers import (
    check_positive,
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
class MaskOptions:
    """Options of ``training.model.options`` for ``mask``.

    Attributes:
        alpha: negative slope of the leaky ReLUs.
        dropout: dropout rate after each pooling.
        filter_factor: multiplies every filter count (32, 16, 64, 16, 64, 16 at 1).
    """

    alpha: float = 0.3
    dropout: float = 0.5
    filter_factor: int = 1


@register_model(
    "mask", options=MaskOptions, description="fully convolutional mask estimator (seed 'mask' model, all frames)"
)
def build_mask(options: MaskOptions, *, input_shape: tuple[int, int, int], output: str) -> keras.Model:
    """Build the convolutional mask estimator.

    Returns:
        A model from ``(batch, n_bins, n_frames, n_channels)`` to the same shape.

    Raises:
        ConfigurationError: on a non-positive ``filter_factor`` or a dropout rate outside [0, 1).
    """
    check_positive(options.filter_factor, key="training.model.options.filter_factor")
    check_rate(options.dropout, key="training.model.options.dropout")
    f = options.filter_factor
    fit = plan_fit(input_shape, multiple=4, drop_dc=False)
    block = dict(activation="leaky_relu", alpha=options.alpha, kernel_initializer="he_normal")

    inputs = keras.Input(shape=input_shape, name="spectrogram")
    x = fit_input(inputs, fit, name="input")
    for level, (wide, narrow) in enumerate(((32 * f, 16 * f), (64 * f, 16 * f)), start=1):
        x = conv_block(x, wide, 3, name=f"level{level}_1", **block)
        x = conv_block(x, narrow, 3, name=f"level{level}_2", **block)
        x = keras.layers.MaxPooling2D(2, name=f"level{level}_pool")(x)
        if options.dropout > 0:
            x = keras.layers.Dropout(options.dropout, name=f"level{level}_dropout")(x)
    x = conv_block(x, 64 * f, 1, name="bottleneck", **block)
    x = keras.layers.UpSampling2D(4, interpolation="bilinear", name="upsample")(x)
    x = conv_block(x, 16 * f, 3, name="refine", **block)
    x = conv_block(x, input_shape[-1], 1, name="prediction", activation=output_activation(output))
    x = restore_output(x, fit, name="output")
    return keras.Model(inputs, named_output(x), name="mask")
