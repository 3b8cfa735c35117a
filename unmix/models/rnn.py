"""Bidirectional LSTM mask estimator in the style of Open-Unmix (``rnn``).

Stöter, Uhlich, Liutkus, Mitsufuji: "Open-Unmix - A Reference Implementation for Music Source
Separation", JOSS 2019 (`openunmix/model.py:OpenUnmix`). Per frame, the bins of all channels
are compressed by a dense layer to ``hidden_size`` (batch norm, tanh); a ``layers``-deep
bidirectional LSTM runs over the frames; its output is concatenated with its input (skip
connection) and two dense layers (batch norm; ReLU between) expand back to bins x channels,
ending in the mask activation. Open-Unmix multiplies its output with the input magnitude; here
the representation or the loss does that with the mask.

Frames and bins are swapped with ``Permute`` and only bins and channels are merged into one
feature axis (never frames with bins: such a reshape scrambled the seed's ``rnn``).
"""

from __future__ import annotations

import dataclasses

import keras

from unmix.errors import ConfigurationError
from unmix.models.layers import check_positive, check_rate, named_output, output_activation
from unmix.models.registry import register_model


@dataclasses.dataclass(frozen=True)
class RnnOptions:
    """Options of ``training.model.options`` for ``rnn``.

    Attributes:
        hidden_size: width of the bottleneck and of the LSTM output (both directions together,
            so it must be even when ``bidirectional``); Open-Unmix uses 512.
        layers: stacked LSTM layers (Open-Unmix: 3).
        dropout: dropout between LSTM layers (Open-Unmix: 0.4).
        bidirectional: run the LSTMs both ways (an offline separator can look ahead).
    """

    hidden_size: int = 512
    layers: int = 3
    dropout: float = 0.4
    bidirectional: bool = True


@register_model(
    "rnn",
    options=RnnOptions,
    description="Open-Unmix-style bidirectional LSTM over frames with dense bottleneck, mask",
)
def build_rnn(options: RnnOptions, *, input_shape: tuple[int, int, int], output: str) -> keras.Model:
    """Build the LSTM mask estimator.

    Returns:
        A model from ``(batch, n_bins, n_frames, n_channels)`` to the same shape.

    Raises:
        ConfigurationError: on non-positive sizes, an odd bidirectional ``hidden_size`` or a
            dropout rate outside [0, 1).
    """
    key = "training.model.options"
    check_positive(options.hidden_size, key=f"{key}.hidden_size")
    check_positive(options.layers, key=f"{key}.layers")
    check_rate(options.dropout, key=f"{key}.dropout")
    if options.bidirectional and options.hidden_size % 2:
        raise ConfigurationError(
            f"{key}.hidden_size: must be even when bidirectional (each direction gets half); "
            f"received {options.hidden_size}"
        )
    n_bins, n_frames, n_channels = input_shape
    hidden = options.hidden_size

    inputs = keras.Input(shape=input_shape, name="spectrogram")
    x = keras.layers.Permute((2, 1, 3), name="frames_first")(inputs)  # (batch, frames, bins, ch)
    x = keras.layers.Reshape((n_frames, n_bins * n_channels), name="merge_channels")(x)
    x = keras.layers.Dense(hidden, use_bias=False, name="encode")(x)
    x = keras.layers.BatchNormalization(name="encode_bn")(x)
    x = keras.layers.Activation("tanh", name="encode_act")(x)

    sequence = x
    for i in range(1, options.layers + 1):
        if options.bidirectional:
            lstm = keras.layers.LSTM(hidden // 2, return_sequences=True, name=f"lstm{i}")
            sequence = keras.layers.Bidirectional(lstm, name=f"bilstm{i}")(sequence)
        else:
            sequence = keras.layers.LSTM(hidden, return_sequences=True, name=f"lstm{i}")(sequence)
        if i < options.layers and options.dropout > 0:
            sequence = keras.layers.Dropout(options.dropout, name=f"lstm{i}_dropout")(sequence)
    x = keras.layers.Concatenate(name="skip")([x, sequence])

    x = keras.layers.Dense(hidden, use_bias=False, name="decode_1")(x)
    x = keras.layers.BatchNormalization(name="decode_1_bn")(x)
    x = keras.layers.Activation("relu", name="decode_1_act")(x)
    x = keras.layers.Dense(n_bins * n_channels, use_bias=False, name="decode_2")(x)
    x = keras.layers.BatchNormalization(name="decode_2_bn")(x)
    x = keras.layers.Activation(output_activation(output), name="prediction")(x)

    x = keras.layers.Reshape((n_frames, n_bins, n_channels), name="split_channels")(x)
    x = keras.layers.Permute((2, 1, 3), name="bins_first")(x)  # (batch, bins, frames, ch)
    return keras.Model(inputs, named_output(x), name="rnn")
