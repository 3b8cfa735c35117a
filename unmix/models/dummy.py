"""A trivial baseline for tests and smoke runs (``dummy``): one 1x1 convolution + sigmoid.

It has ``n_channels * (n_channels + 1)`` weights, compiles in seconds and still learns a
per-channel gain, so end-to-end tests exercise the real pipeline without a real network.
"""

from __future__ import annotations

import dataclasses

import keras

from unmix.models.layers import named_output, output_activation
from unmix.models.registry import register_model


@dataclasses.dataclass(frozen=True)
class DummyOptions:
    """``dummy`` has no options; an empty ``training.model.options`` object is accepted."""


@register_model("dummy", options=DummyOptions, description="one 1x1 convolution + sigmoid; for tests")
def build_dummy(options: DummyOptions, *, input_shape: tuple[int, int, int], output: str) -> keras.Model:
    """Build the baseline: ``(batch, n_bins, n_frames, n_channels)`` to the same shape."""
    inputs = keras.Input(shape=input_shape, name="spectrogram")
    x = keras.layers.Conv2D(input_shape[-1], 1, activation=output_activation(output), name="prediction")(inputs)
    return keras.Model(inputs, named_output(x), name="dummy")
