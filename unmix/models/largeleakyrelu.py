"""The wide variant of ``leakyrelu`` (``largeleakyrelu``).

Same two-level U as `unmix/models/leakyrelu.py` (laserb/deep-vocal-isolation's
``leaky_dropout``), with the seed's wider encoder (512, 256 and 128 filters from the first level
to the bottom), a 64-filter decoder middle and a 32-filter tail. Same options.
"""

from __future__ import annotations

import keras

from unmix.models.leakyrelu import LeakyReluOptions, UShape, build_u_shape
from unmix.models.registry import register_model


@register_model(
    "largeleakyrelu",
    options=LeakyReluOptions,
    description="wide variant of leakyrelu (512-256-128 encoder, 32-filter tail), vocal magnitude",
)
def build_largeleakyrelu(
    options: LeakyReluOptions, *, input_shape: tuple[int, int, int], output: str
) -> keras.Model:
    """Build ``largeleakyrelu``; see ``build_u_shape`` for the layout."""
    widths = UShape(level_1=512, level_2=256, bottom=128, middle=64, tail=(32, 32, 32))
    return build_u_shape(options, widths, input_shape=input_shape, output=output, name="largeleakyrelu")
