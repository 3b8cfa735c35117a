"""The band above a network's edge: how a band-limited model fills the bins it never sees.

Spleeter's U-Nets see the first 1024 of 2049 bins (0-11,025 Hz at 44.1 kHz) and set the vocals to
zero above, so sibilants, breaths and the "air" of a voice end up in the instrumental. Spleeter's
own answer is ``mask_extension: average`` (`spleeter/model/__init__.py`, ``_extend_mask``): the
per-frame mean of the mask below the edge, applied above. The ``learned`` extension is a small
network that predicts the vocals mask above the edge from the mixture's high band and the
model's own vocals mask below it; it is a nested ``keras.Model`` named :data:`HEAD`, so its
weights can be trained with the U-Nets frozen, saved and loaded on their own.

Tensors are unmix's channels-last ``(batch, n_bins, n_frames, n_channels)``; masks are in [0, 1].
"""

from __future__ import annotations

import keras
from keras import ops

#: The extensions a band-limited model can use above its edge. ``instrumental_average`` leaves
#: the vocals silent above their U-Net's band (as ``none``) and extends the instrumental's mask
#: by its per-frame mean over the top :data:`TOP_BINS` of its band: with ``vocals_bins`` wider
#: than ``bins``, the vocals U-Net alone runs over the extra bins (half the cost of widening
#: both) and the ratio of the two estimates there still has an instrumental to weigh against.
METHODS = ("none", "average", "network", "learned", "instrumental_average")
#: The name of the learned head's nested model (its weights load and save on their own).
HEAD = "high_band"
#: High-band bins are averaged in groups of this many before the head (1024 bins -> 128 bands):
#: a mask above 11 kHz needs no finer resolution, and the head then costs next to nothing.
POOL = 8
#: Bins just below the edge whose mean vocals mask is the head's starting point (about 1.4 kHz
#: at 4096 / 44.1 kHz): the voice's own top octave says most about what lies above it. The
#: ``instrumental_average`` extension averages the instrumental's mask over as many.
TOP_BINS = 128
#: Bins below the edge that the head's convolutions see beside the band above (5.5-11 kHz at
#: 4096 / 44.1 kHz): the spectrum and the U-Net's mask there, to carry on across the edge.
CONTEXT_BINS = 256
_FILTERS = 24
# Over the bands: the receptive field spans about 60 bands (480 bins, 5 kHz) each way.
_DILATIONS = (1, 2, 4, 8)
_EPSILON = 1e-6


@keras.saving.register_keras_serializable(package="unmix")
class BandAverage(keras.layers.Layer):
    """A mask's mean over the bins, repeated ``n_bins`` times: Spleeter's ``average`` extension.

    Args:
        n_bins: bins of the output (the band above the edge).
        top: average only the top ``top`` bins of the input (all of a narrower one), as
            ``instrumental_average`` does; None: every bin (Spleeter's).
    """

    def __init__(self, n_bins: int, top: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.n_bins = int(n_bins)
        self.top = None if top is None else int(top)

    def call(self, inputs):
        band = inputs if self.top is None else inputs[:, -self.top :]
        mean = ops.mean(band, axis=1, keepdims=True)
        return ops.repeat(mean, self.n_bins, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_bins, *input_shape[2:])

    def get_config(self) -> dict:
        return {**super().get_config(), "n_bins": self.n_bins, "top": self.top}


@keras.saving.register_keras_serializable(package="unmix")
class EdgeFeatures(keras.layers.Layer):
    """The head's input grid: bands of :data:`POOL` bins from :data:`CONTEXT_BINS` below the edge to Nyquist.

    Inputs: ``[pooled |mix| (batch, n_bands, frames, ch), vocals mask below the edge
    (batch, n_below, frames, ch)]``, the first ``n_context`` bands below the edge. Output
    ``(batch, n_bands, frames, 2 * ch + 2)``: the log magnitudes minus their mean over the window
    (a gain does not change them), the vocals mask pooled like them below the edge and 0 above,
    1 below the edge and 0 above, and a ramp from 0 to 1 over the bands. A convolution over this
    grid sees what the U-Net called voice just below the edge beside the spectrum above it.

    Args:
        n_context: bands below the edge (:data:`CONTEXT_BINS` / :data:`POOL`).
    """

    def __init__(self, n_context: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.n_context = int(n_context)

    def call(self, inputs):
        pooled, vocals_mask = inputs
        log_magnitude = ops.log(pooled + _EPSILON)
        log_magnitude = log_magnitude - ops.mean(log_magnitude, axis=(1, 2), keepdims=True)
        shape = ops.shape(vocals_mask)
        near_edge = vocals_mask[:, -self.n_context * POOL :]
        near_edge = ops.mean(ops.reshape(near_edge, (shape[0], self.n_context, POOL, shape[2], shape[3])), axis=2)
        above = ops.zeros_like(pooled[:, self.n_context :])
        mask = ops.concatenate([near_edge, above], axis=1)
        below = ops.concatenate([ops.ones_like(pooled[:, : self.n_context, :, :1]), above[..., :1]], axis=1)
        n_bands = ops.shape(pooled)[1]
        ramp = ops.reshape(ops.linspace(0.0, 1.0, n_bands), (1, -1, 1, 1)) * ops.ones_like(below)
        return ops.concatenate([log_magnitude, mask, below, ramp], axis=-1)

    def compute_output_shape(self, input_shape):
        pooled, _ = input_shape
        return (*pooled[:3], 2 * pooled[3] + 2)

    def get_config(self) -> dict:
        return {**super().get_config(), "n_context": self.n_context}


@keras.saving.register_keras_serializable(package="unmix")
class StartFromTop(keras.layers.Layer):
    """``sigmoid(logit(top mask) + correction)``: the head starts as the top band's mean mask and learns the correction."""

    def call(self, inputs):
        vocals_mask, correction = inputs
        top = ops.clip(ops.mean(vocals_mask[:, -TOP_BINS:], axis=1, keepdims=True), 1e-4, 1.0 - 1e-4)
        return ops.sigmoid(ops.log(top) - ops.log(1.0 - top) + correction)

    def compute_output_shape(self, input_shape):
        return input_shape[1]


def build_head(*, n_above: int, n_below: int, n_frames: int, n_channels: int) -> keras.Model:
    """The learned extension: ``[|mix| from CONTEXT_BINS below the edge up, vocals mask below it]`` → the vocals mask above it.

    Args:
        n_above: bins above the edge (1025 of Spleeter's 2049).
        n_below: bins below the edge (1024); at least :data:`CONTEXT_BINS` and :data:`TOP_BINS`.
        n_frames: frames per window.
        n_channels: audio channels.

    Returns:
        A model named :data:`HEAD` from ``(batch, context_bins(n_below) + n_above, n_frames, ch)``
        and ``(batch, n_below, n_frames, ch)`` to a mask ``(batch, n_above, n_frames, ch)``. Its
        last convolution starts at zero, so an untrained head is the top band's mean mask.
    """
    n_context = context_bins(n_below)
    n_pooled = (n_above // POOL) * POOL
    rest = n_above - n_pooled
    magnitude = keras.Input((n_context + n_above, n_frames, n_channels), name="magnitude_near_and_above_edge")
    mask = keras.Input((n_below, n_frames, n_channels), name="mask_below_edge")
    # The Nyquist bin (and any remainder of the pooling) gets no vocals: one bin, no voice there.
    x = keras.layers.Cropping2D(((0, rest), (0, 0)), name="pooled_band")(magnitude) if rest else magnitude
    x = keras.layers.AveragePooling2D((POOL, 1), name="bands")(x)
    x = EdgeFeatures(n_context // POOL, name="features")([x, mask])
    for i, dilation in enumerate(_DILATIONS, start=1):
        x = keras.layers.Conv2D(_FILTERS, (5, 3), padding="same", dilation_rate=(dilation, 1), activation="relu", name=f"conv_{i}")(x)
    x = keras.layers.Cropping2D(((n_context // POOL, 0), (0, 0)), name="above_edge")(x)
    correction = keras.layers.Conv2D(n_channels, 1, kernel_initializer="zeros", name="correction")(x)
    band_mask = StartFromTop(name="band_mask")([mask, correction])
    band_mask = keras.layers.UpSampling2D((POOL, 1), name="bins")(band_mask)
    if rest:
        band_mask = keras.layers.ZeroPadding2D(((0, rest), (0, 0)), name="nyquist")(band_mask)
    return keras.Model([magnitude, mask], band_mask, name=HEAD)


def context_bins(n_below: int) -> int:
    """Bins below the edge the head sees beside the band above: :data:`CONTEXT_BINS`, or fewer whole bands for a narrow model."""
    return min(CONTEXT_BINS, (n_below // POOL) * POOL)
