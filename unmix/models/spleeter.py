"""Spleeter's 2-stems network: one U-Net per target, each estimating that target's magnitude.

Hennequin et al., "Spleeter: a fast and efficient music source separation tool with pre-trained
models", JOSS 2020 (`spleeter/model/functions/unet.py`), after Jansson et al., "Singing Voice
Separation with Deep U-Net Convolutional Networks", ISMIR 2017. The layers are Spleeter's, one
for one, so that ``unmix.pretrained.spleeter`` can load Deezer's checkpoint by a name table.

Input: the raw STFT magnitude (Spleeter: 4096-point Hann window, hop 1024, no normaliser),
``(batch, n_bins, n_frames, n_channels)``. Each U-Net sees the first ``bins`` bins (1024 of 2049:
up to 11 kHz at 44.1 kHz). Spleeter's U-Nets run on ``(batch, frames, bins, channels)``; here
they run on the input's own ``(bins, frames)`` with every kernel's two axes swapped as it is
applied (this module's ``Conv2D`` and ``Conv2DTranspose``). That is the same sum: the kernels
are stored as the checkpoint's, and TF's asymmetric 'same' padding of the stride-2 layers falls
on the same side of both axes (each a multiple of 64). So no transpose runs around a U-Net:
OpenVINO ran those with a generic kernel (docs/speed.md, section 2f).

Per U-Net: six 5x5 stride-2 convolutions (batch norm, leaky ReLU 0.2); the skips and the
bottleneck are the convolutions' outputs before their batch norm, so the sixth batch norm has no
effect (it is kept because the checkpoint holds its weights). Six 5x5 stride-2 transposed
convolutions (ReLU, then batch norm; dropout on the first three), each after the first fed the
matching encoder output concatenated in front. A 4x4 convolution with dilation 2 and a sigmoid
gives a mask that multiplies the input.

Output: ``{"vocals": v, "instrumental": a}``, each of the input's full shape. Above ``bins``
(11 kHz) Spleeter sets the vocals to 0 and the instrumental to the input, so ratio masks send
the band the network never saw to the instrumental; ``high_band`` chooses another extension
(``unmix.models.high_band``: Spleeter's average, the U-Nets over the whole band, or a learned
head). With ``targets: ["vocals"]`` only the vocals U-Net is built and
the model has that one output (half the compute: the instrumental is then ``mixture - vocals``,
as for the other one-target models); Deezer's vocals weights load into it by layer name.
"""

from __future__ import annotations

import dataclasses

import keras

from unmix.errors import ConfigurationError
from unmix.models.high_band import HEAD, METHODS, TOP_BINS, BandAverage, build_head, context_bins
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
        vocals_bins: bins the vocals U-Net sees, when it should see more than ``bins`` (the
            instrumental's): half the cost of widening both; with ``instrumental_average`` it
            scores as widening both does above 11 kHz (docs/default-model.md). None: ``bins``.
        high_band: what the model does above each U-Net's band (``unmix.models.high_band``): ``none``
            (Spleeter: vocals 0 there), ``average`` (Spleeter's ``mask_extension``: each frame's
            mean mask below the edge), ``instrumental_average`` (vocals 0 above their band, the
            instrumental's mask extended by its mean over the top 128 bins of its band),
            ``network`` (the U-Nets run over every bin up to a multiple of ``2 ** levels``: 2048
            of 2049) or ``learned`` (a small head predicts the vocals mask above the edge; the
            instrumental takes the rest).
        freeze_unets: train nothing but the learned head (the U-Nets' layers are frozen).
    """

    bins: int = 1024
    filters: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    dropout: float = 0.5
    freeze_batch_norm: bool = False
    targets: tuple[str, ...] = TARGETS
    vocals_bins: int | None = None
    high_band: str = "none"
    freeze_unets: bool = False

    def unet_bins(self, n_bins: int, *, target: str = "instrumental") -> int:
        """Bins a target's U-Net sees: ``bins`` (``vocals_bins`` for the vocals), or with ``high_band: network`` every bin up to a multiple of ``2 ** levels``."""
        if self.high_band == "network":
            multiple = 2 ** len(self.filters)
            return (n_bins // multiple) * multiple
        return self.vocals_bins if target == "vocals" and self.vocals_bins else self.bins

    def band_hz(self, *, n_fft: int, sample_rate: int) -> float:
        """The frequency (Hz) below which the vocals U-Net separates: above it the vocals are silent or extended.

        A teacher's targets are kept below it (``training.teacher.max_frequency``): its
        vocals there are no network estimate, only the band it never saw or an average of it.
        """
        return self.unet_bins(n_fft // 2 + 1, target="vocals") * sample_rate / n_fft


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


# Swapping a kernel's axes swaps the grid's only because Spleeter's kernels are square and its
# strides and dilations equal on both axes. Keras' weights files key a layer by its class name
# ("conv2d_3"), not its own name: these two keep Keras' class names, so every weights file written
# before them (the shipped ``fast``, Deezer's import, trained run folders) still loads.
@keras.saving.register_keras_serializable(package="unmix")
class Conv2D(keras.layers.Conv2D):
    """Keras' Conv2D over ``(bins, frames)`` with a kernel in Spleeter's ``(frames, bins)`` order: transposed when applied."""

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, keras.ops.transpose(kernel, (1, 0, 2, 3)))


@keras.saving.register_keras_serializable(package="unmix")
class Conv2DTranspose(keras.layers.Conv2DTranspose):
    """Keras' Conv2DTranspose over ``(bins, frames)`` with a kernel in Spleeter's ``(frames, bins)`` order (Keras' call, that kernel transposed)."""

    def call(self, inputs):
        outputs = keras.ops.conv_transpose(
            inputs, keras.ops.transpose(self.kernel, (1, 0, 2, 3)), strides=list(self.strides), padding=self.padding,
            output_padding=self.output_padding, dilation_rate=self.dilation_rate, data_format=self.data_format,
        )  # fmt: skip
        if self.use_bias:
            outputs = keras.ops.add(outputs, self.bias)  # channels last
        return self.activation(outputs)


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
    bands = {target: options.unet_bins(n_bins, target=target) for target in options.targets}
    band = {}
    for bins in sorted(set(bands.values())):
        suffix = "" if bins == options.unet_bins(n_bins) else f"_{bins}"
        band[bins] = inputs if n_bins == bins else keras.layers.Cropping2D(((0, n_bins - bins), (0, 0)), name=f"band{suffix}")(inputs)
    estimates, masks = {}, {}
    for target in options.targets:
        estimates[target], masks[target] = _unet(band[bands[target]], options, n_channels=n_channels, prefix=target)
    _fill_above(estimates, masks, inputs, options=options, bands=bands)
    outputs = {target: keras.layers.Identity(name=target)(estimates[target]) for target in options.targets}
    one_target = tuple(options.targets) == ("vocals",)
    model = keras.Model(inputs, outputs["vocals"] if one_target else outputs, name="spleeter")  # one output, like every one-target model
    if options.freeze_unets:
        for layer in model.layers:
            layer.trainable = layer.name == HEAD
    return model


def _fill_above(estimates: dict, masks: dict, inputs, *, options: SpleeterOptions, bands: dict[str, int]) -> None:
    """Extend every estimate over the bins past its U-Net's band (``bands[target]``), by ``options.high_band``.

    ``none`` and ``network`` (whose band ends at most a few bins below Nyquist) leave the vocals
    silent there and give the instrumental the mixture; ``average`` extends each U-Net's mask by
    its per-frame mean; ``instrumental_average`` leaves the vocals silent and extends the
    instrumental's mask by its per-frame mean over the top ``TOP_BINS`` of its band; ``learned``
    asks the head for the vocals mask and gives the instrumental the rest of the mixture.
    """
    n_bins = inputs.shape[1]
    highs: dict[int, object] = {}

    def high(bins: int):
        """|mix| above ``bins``, one crop per band."""
        if bins not in highs:
            name = "above_band" if bins == options.bins else f"above_band_{bins}"
            highs[bins] = keras.layers.Cropping2D(((bins, 0), (0, 0)), name=name)(inputs)
        return highs[bins]

    extended = {}
    if options.high_band in ("none", "network", "instrumental_average") and bands["vocals"] < n_bins:
        estimates["vocals"] = keras.layers.ZeroPadding2D(((0, n_bins - bands["vocals"]), (0, 0)), name="vocals_above_band")(estimates["vocals"])
    if options.high_band in ("none", "network"):
        if "instrumental" in estimates and bands["instrumental"] < n_bins:
            extended["instrumental"] = high(bands["instrumental"])
    elif options.high_band in ("average", "instrumental_average"):
        top = options.high_band == "instrumental_average"
        for target, mask in masks.items():
            if bands[target] < n_bins and not (top and target == "vocals"):
                above = BandAverage(n_bins - bands[target], top=TOP_BINS if top else None, name=f"{target}_mask_above")(mask)
                extended[target] = keras.layers.Multiply(name=f"{target}_estimate_above")([above, high(bands[target])])
    else:  # learned: one band for both U-Nets (checked)
        bins = bands["vocals"]
        head = build_head(n_above=n_bins - bins, n_below=bins, n_frames=inputs.shape[2], n_channels=inputs.shape[3])
        near = keras.layers.Cropping2D(((bins - context_bins(bins), 0), (0, 0)), name="near_and_above_band")(inputs)
        vocals = keras.layers.Multiply(name="vocals_estimate_above")([head([near, masks["vocals"]]), high(bins)])
        extended["vocals"] = vocals
        if "instrumental" in estimates:
            extended["instrumental"] = keras.layers.Subtract(name="instrumental_estimate_above")([high(bins), vocals])
    for target, estimate in extended.items():
        estimates[target] = keras.layers.Concatenate(axis=1, name=f"{target}_above_band")([estimates[target], estimate])


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
    if options.high_band not in METHODS:
        raise ConfigurationError(f"{key}.high_band must be one of {', '.join(METHODS)}; received {options.high_band!r}")
    if options.freeze_unets and options.high_band != "learned":
        raise ConfigurationError(f"{key}.freeze_unets trains the learned high band alone: set {key}.high_band to \"learned\", or freeze_unets to false")
    check_levels(options.filters, key=f"{key}.filters")
    _check_band(options.bins, key=f"{key}.bins", n_bins=n_bins, levels=len(options.filters))
    if options.vocals_bins is not None:
        _check_band(options.vocals_bins, key=f"{key}.vocals_bins", n_bins=n_bins, levels=len(options.filters))
        if options.vocals_bins < options.bins:
            raise ConfigurationError(f"{key}.vocals_bins must be at least bins={options.bins} (it widens the vocals U-Net's band); received {options.vocals_bins}")
        if options.high_band == "learned" and options.vocals_bins != options.bins:
            raise ConfigurationError(f"{key}.high_band \"learned\" needs one band for both U-Nets: set vocals_bins to null or to bins={options.bins}")
    check_rate(options.dropout, key=f"{key}.dropout")
    multiple = 2 ** len(options.filters)
    if n_frames % multiple:
        raise ConfigurationError(
            f"transformation.options.size must be a multiple of {multiple} frames for model spleeter "
            f"(2 ** {len(options.filters)} levels); received {n_frames}"
        )


def _check_band(bins: int, *, key: str, n_bins: int, levels: int) -> None:
    """A U-Net's band: a positive multiple of ``2 ** levels`` within the STFT's ``n_bins``."""
    check_positive(bins, key=key)
    multiple = 2**levels
    if bins % multiple:
        raise ConfigurationError(f"{key} must be a multiple of {multiple} (2 ** {levels} levels); received {bins}")
    if n_bins < bins:
        name = key.rsplit(".", 1)[-1]
        raise ConfigurationError(f"{key}={bins} is more than the STFT's {n_bins} bins: raise transformation.fft_window (Spleeter: 4096) or lower {name}")


def _unet(x, options: SpleeterOptions, *, n_channels: int, prefix: str):
    """One target's U-Net on ``(batch, bins, frames, channels)``; returns its magnitude estimate and its mask."""
    spectrogram = x
    skips = []
    unused = None
    depth = len(options.filters)
    for i, filters in enumerate(options.filters, start=1):
        conv = Conv2D(filters, _KERNEL, strides=2, padding="same", name=f"{prefix}_conv_{i}")(x)
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
        x = Conv2DTranspose(filters, _KERNEL, strides=2, padding="same", name=f"{prefix}_deconv_{i}")(x)
        x = keras.layers.ReLU(name=f"{prefix}_deconv_act_{i}")(x)
        x = keras.layers.BatchNormalization(**_BN, trainable=not options.freeze_batch_norm, name=f"{prefix}_deconv_bn_{i}")(x)
        if i <= _DROPOUT_LAYERS and options.dropout > 0:
            x = keras.layers.Dropout(options.dropout, name=f"{prefix}_dropout_{i}")(x)
    mask = Conv2D(n_channels, 4, dilation_rate=2, padding="same", activation="sigmoid", name=f"{prefix}_mask_conv")(x)
    return keras.layers.Multiply(name=f"{prefix}_estimate")([mask, spectrogram]), mask
