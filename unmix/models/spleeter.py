"""Spleeter's 2-stems network: one U-Net per target, each estimating that target's magnitude.

Hennequin et al., "Spleeter: a fast and efficient music source separation tool with pre-trained
models", JOSS 2020 (`spleeter/model/functions/unet.py`), after Jansson et al., "Singing Voice
Separation with Deep U-Net Convolutional Networks", ISMIR 2017. The layers are Spleeter's, one
for one, so that ``unmix.pretrained.spleeter`` can load Deezer's checkpoint by a name table.

Input: the raw STFT magnitude (Spleeter: 4096-point Hann window, hop 1024, no normaliser),
``(batch, n_bins, n_frames, n_channels)``. Each U-Net sees the first ``bins`` bins (1024 of 2049:
up to 11 kHz at 44.1 kHz), transposed to Spleeter's ``(batch, frames, bins, channels)``: the
kernels are then the checkpoint's exactly, and TF's asymmetric 'same' padding of the stride-2
layers falls on the same side of each axis as in the original graph.

Per U-Net: six 5x5 stride-2 convolutions (batch norm, leaky ReLU 0.2); the skips and the
bottleneck are the convolutions' outputs before their batch norm, so the sixth batch norm has no
effect (it is kept because the checkpoint holds its weights). Six 5x5 stride-2 transposed
convolutions (ReLU, then batch norm; dropout on the first three), each after the first fed the
matching encoder output concatenated in front. A 4x4 convolution with dilation 2 and a sigmoid
gives a mask that multiplies the input.

Output: ``{"vocals": v, "instrumental": a}``, each of the input's full shape. Above ``bins``
the vocals are 0 and the instrumental is the input, so ratio masks send the band the network
never saw to the instrumental. With ``targets: ["vocals"]`` only the vocals U-Net is built and
the model has that one output (half the compute: the instrumental is then ``mixture - vocals``,
as for the other one-target models); Deezer's vocals weights load into it by layer name.
"""

from __future__ import annotations

import dataclasses

import keras

from unmix.errors import ConfigurationError
from unmix.models.layers import check_levels, check_positive, check_rate
from unmix.models.registry import register_model

#: The two targets in the order Spleeter built its U-Nets (its "accompaniment" is our instrumental).
TARGETS = ("vocals", "instrumental")
# Spleeter applies dropout to the first three decoder layers only.
_DROPOUT_LAYERS = 3
_KERNEL = 5
_SLOPE = 0.2
# Keras' default batch norm momentum and epsilon, which Spleeter's tf.keras layers used (the
# checkpoint's graph runs FusedBatchNorm with epsilon 1e-3).
_BN = {"axis": -1, "momentum": 0.99, "epsilon": 1e-3}


@dataclasses.dataclass(frozen=True)
class SpleeterOptions:
    """Options of ``training.model.options`` for ``spleeter``.

    Attributes:
        bins: frequency bins the U-Nets see, from DC up (Spleeter: 1024); a multiple of
            ``2 ** len(filters)``.
        filters: encoder filters per level (the decoder mirrors them); Deezer's checkpoint
            needs Spleeter's six.
        dropout: dropout rate of the first three decoder layers (training only).
        freeze_batch_norm: keep every batch norm in inference mode with fixed statistics (for
            fine-tuning on small batches: Deezer's statistics come from far more data than a
            batch of 4 windows, some of them zero-padded).
        targets: the U-Nets to build, from ``("vocals", "instrumental")``; ``["vocals"]``
            builds one U-Net whose single output is the vocals (representation ``window``).
    """

    bins: int = 1024
    filters: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    dropout: float = 0.5
    freeze_batch_norm: bool = False
    targets: tuple[str, ...] = TARGETS

    def band_hz(self, *, n_fft: int, sample_rate: int) -> float:
        """The frequency (Hz) below which the U-Nets separate: above it the vocals are silent.

        A teacher's targets are kept below it (``training.teacher.max_frequency``): its
        vocals there are no estimate, only the band it never saw.
        """
        return self.bins * sample_rate / n_fft


@keras.saving.register_keras_serializable(package="unmix")
class KeepUnused(keras.layers.Layer):
    """Return the first input unchanged; the other inputs only keep their layers in the model.

    A functional model drops layers whose output reaches no output. Spleeter's sixth encoder
    batch norm is such a layer, yet its weights are in the checkpoint: feeding it here keeps it
    (and so every checkpoint tensor has a Keras weight) without letting it touch the result.
    """

    def call(self, inputs):
        return inputs[0]

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@register_model("spleeter", options=SpleeterOptions, description="Spleeter 2-stems (two 6-level U-Nets, Deezer's weights importable), magnitudes")
def build_spleeter(options: SpleeterOptions, *, input_shape: tuple[int, int, int], output: str) -> keras.Model:
    """Build the two U-Nets behind one input.

    Args:
        options: the model options.
        input_shape: ``(n_bins, n_frames, n_channels)``, n_bins the full STFT bin count.
        output: must be ``"magnitude"`` (the ``stems`` representation, or ``window`` for the
            vocals alone): each U-Net's mask is already applied to the input.

    Returns:
        A model from ``(batch, n_bins, n_frames, n_channels)`` to
        ``{"vocals": …, "instrumental": …}`` (or the vocals alone), each of that shape, float32.

    Raises:
        ConfigurationError: a mask output kind, bad options, too few bins, or frame or bin
            counts that are not multiples of ``2 ** len(filters)``.
    """
    n_bins, n_frames, n_channels = input_shape
    _check(options, n_bins=n_bins, n_frames=n_frames, output=output)
    inputs = keras.Input(shape=input_shape, name="spectrogram", dtype="float32")
    band = inputs
    if n_bins > options.bins:
        band = keras.layers.Cropping2D(((0, n_bins - options.bins), (0, 0)), name="band")(inputs)
    # Spleeter's axis order: (batch, frames, bins, channels).
    frames_first = keras.layers.Permute((2, 1, 3), name="frames_first")(band)
    estimates = {}
    for target in options.targets:
        estimate = _unet(frames_first, options, n_channels=n_channels, prefix=target)
        estimates[target] = keras.layers.Permute((2, 1, 3), name=f"{target}_bins_first")(estimate)
    above = n_bins - options.bins
    if above:
        estimates["vocals"] = keras.layers.ZeroPadding2D(((0, above), (0, 0)), name="vocals_above_band")(estimates["vocals"])
        if "instrumental" in estimates:
            rest = keras.layers.Cropping2D(((options.bins, 0), (0, 0)), name="above_band")(inputs)
            estimates["instrumental"] = keras.layers.Concatenate(axis=1, name="instrumental_above_band")([estimates["instrumental"], rest])
    outputs = {target: keras.layers.Identity(name=target)(estimates[target]) for target in options.targets}
    if tuple(options.targets) == ("vocals",):
        return keras.Model(inputs, outputs["vocals"], name="spleeter")  # one output, like every one-target model
    return keras.Model(inputs, outputs, name="spleeter")


def _check(options: SpleeterOptions, *, n_bins: int, n_frames: int, output: str) -> None:
    """Raise ``ConfigurationError`` unless the options fit the input and the output kind."""
    key = "training.model.options"
    targets = tuple(options.targets)
    if targets not in (TARGETS, ("vocals",)):
        raise ConfigurationError(f"{key}.targets must be [\"vocals\", \"instrumental\"] or [\"vocals\"]; received {list(targets)}")
    if output != "magnitude":
        raise ConfigurationError(
            f"model spleeter outputs magnitude estimates (its masks are applied inside); "
            f"received output kind {output!r}: use transformation.name 'stems'"
        )
    check_levels(options.filters, key=f"{key}.filters")
    check_positive(options.bins, key=f"{key}.bins")
    check_rate(options.dropout, key=f"{key}.dropout")
    multiple = 2 ** len(options.filters)
    if options.bins % multiple:
        raise ConfigurationError(f"{key}.bins must be a multiple of {multiple} (2 ** {len(options.filters)} levels); received {options.bins}")
    if n_bins < options.bins:
        raise ConfigurationError(
            f"{key}.bins={options.bins} is more than the STFT's {n_bins} bins: raise transformation.fft_window "
            f"(Spleeter: 4096) or lower bins"
        )
    if n_frames % multiple:
        raise ConfigurationError(
            f"transformation.options.size must be a multiple of {multiple} frames for model spleeter "
            f"(2 ** {len(options.filters)} levels); received {n_frames}"
        )


def _unet(x, options: SpleeterOptions, *, n_channels: int, prefix: str):
    """One target's U-Net on ``(batch, frames, bins, channels)``; returns its magnitude estimate."""
    spectrogram = x
    skips = []
    unused = None
    depth = len(options.filters)
    for i, filters in enumerate(options.filters, start=1):
        conv = keras.layers.Conv2D(filters, _KERNEL, strides=2, padding="same", name=f"{prefix}_conv_{i}")(x)
        skips.append(conv)
        # The last one is never used: frozen, so that training asks no gradient of it.
        frozen = options.freeze_batch_norm or i == depth
        normalised = keras.layers.BatchNormalization(**_BN, trainable=not frozen, name=f"{prefix}_bn_{i}")(conv)
        if i == depth:
            unused = normalised  # Spleeter activates it and never uses the result
        else:
            x = keras.layers.LeakyReLU(negative_slope=_SLOPE, name=f"{prefix}_act_{i}")(normalised)
    x = KeepUnused(name=f"{prefix}_bottleneck")([skips[-1], unused])

    decoder_filters = [*reversed(options.filters[:-1]), 1]
    for i, filters in enumerate(decoder_filters, start=1):
        if i > 1:
            x = keras.layers.Concatenate(axis=-1, name=f"{prefix}_skip_{i}")([skips[-i], x])
        x = keras.layers.Conv2DTranspose(filters, _KERNEL, strides=2, padding="same", name=f"{prefix}_deconv_{i}")(x)
        x = keras.layers.ReLU(name=f"{prefix}_deconv_act_{i}")(x)
        x = keras.layers.BatchNormalization(**_BN, trainable=not options.freeze_batch_norm, name=f"{prefix}_deconv_bn_{i}")(x)
        if i <= _DROPOUT_LAYERS and options.dropout > 0:
            x = keras.layers.Dropout(options.dropout, name=f"{prefix}_dropout_{i}")(x)
    mask = keras.layers.Conv2D(n_channels, 4, dilation_rate=2, padding="same", activation="sigmoid", name=f"{prefix}_mask_conv")(x)
    return keras.layers.Multiply(name=f"{prefix}_estimate")([mask, spectrogram])
