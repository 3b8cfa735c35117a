"""Blocks shared by the models: convolution blocks, output activations and shape fitting.

All blocks are compositions of built-in Keras layers, so every model saves to ``.keras`` and
loads in safe mode without custom objects. Tensors are channels-last
``(batch, n_bins, n_frames, n_channels)``.
"""

from __future__ import annotations

import dataclasses

import keras

from unmix.errors import ConfigurationError


@dataclasses.dataclass(frozen=True)
class Fit:
    """How a model resizes its input so that ``multiple`` divides both spatial sizes.

    Attributes:
        drop_dc: whether the first (DC, 0 Hz) bin is removed; it carries no music and removing
            it turns 769 bins (FFT 1536) into 768 = 3 * 2^8, as the seed's hourglass did.
        pad_bins: zero rows appended at the top (highest frequencies), cropped again at the end.
        pad_frames: zero frames appended at the end of the window, cropped again at the end.
        crop_bins: the highest bins left out of the network (given a zero output), as Park et
            al. fed 512 of an FFT 1024's 513 bins.
    """

    drop_dc: bool
    pad_bins: int
    pad_frames: int
    crop_bins: int = 0


def plan_fit(input_shape: tuple[int, int, int], *, multiple: int, drop_dc: bool = True, max_bins: int = 0) -> Fit:
    """Plan the crop and padding that make ``n_bins`` and ``n_frames`` multiples of ``multiple``.

    Args:
        input_shape: ``(n_bins, n_frames, n_channels)``.
        multiple: the total down-sampling factor of the model (``2 ** depth``).
        drop_dc: remove the DC bin first (only when more than one bin remains).
        max_bins: only the lowest ``max_bins`` bins (DC included) enter the network; 0: all.

    Returns:
        The ``Fit`` to pass to ``fit_input`` and ``restore_output``.
    """
    n_bins, n_frames, _ = input_shape
    crop = max(0, n_bins - max_bins) if max_bins else 0
    drop = drop_dc and n_bins - crop > 1
    inner_bins = n_bins - crop - int(drop)
    return Fit(drop_dc=drop, pad_bins=-inner_bins % multiple, pad_frames=-n_frames % multiple, crop_bins=crop)


def fit_input(x, fit: Fit, *, name: str):
    """Apply ``fit`` to a ``(batch, n_bins, n_frames, channels)`` tensor."""
    if fit.drop_dc or fit.crop_bins:
        x = keras.layers.Cropping2D(((int(fit.drop_dc), fit.crop_bins), (0, 0)), name=f"{name}_drop_dc")(x)
    if fit.pad_bins or fit.pad_frames:
        x = keras.layers.ZeroPadding2D(((0, fit.pad_bins), (0, fit.pad_frames)), name=f"{name}_pad")(x)
    return x


def restore_output(x, fit: Fit, *, name: str):
    """Undo ``fit_input``: crop the padding, put back the DC bin and the cropped top bins as zeros."""
    if fit.pad_bins or fit.pad_frames:
        x = keras.layers.Cropping2D(((0, fit.pad_bins), (0, fit.pad_frames)), name=f"{name}_crop")(x)
    if fit.drop_dc or fit.crop_bins:
        x = keras.layers.ZeroPadding2D(((int(fit.drop_dc), fit.crop_bins), (0, 0)), name=f"{name}_restore_dc")(x)
    return x


def conv_block(
    x,
    filters: int,
    kernel_size: int | tuple[int, int],
    *,
    name: str,
    strides: int = 1,
    activation: str = "relu",
    alpha: float = 0.0,
    batchnormalization: bool = False,
    dropout: float = 0.0,
    kernel_initializer: str = "glorot_uniform",
):
    """Convolution, optional batch normalisation, activation, optional dropout.

    Batch normalisation sits before the activation (the usual order since Ioffe & Szegedy);
    the convolution drops its bias when a normalisation follows, which would cancel it.

    Args:
        x: input tensor ``(batch, n_bins, n_frames, channels)``.
        filters: output channels.
        kernel_size: convolution kernel (bins, frames).
        name: prefix of the block's layer names (unique within the model).
        strides: convolution stride (2 halves both spatial sizes).
        activation: ``"relu"``, ``"leaky_relu"`` (slope ``alpha``), ``"tanh"`` or ``"linear"``.
        alpha: negative slope of the leaky ReLU.
        batchnormalization: add a ``BatchNormalization`` layer.
        dropout: dropout rate after the activation (0 adds no layer).
        kernel_initializer: Keras initializer name.

    Returns:
        The block's output tensor.
    """
    x = keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=not batchnormalization,
        kernel_initializer=kernel_initializer,
        name=f"{name}_conv",
    )(x)
    if batchnormalization:
        x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    x = activation_layer(activation, alpha=alpha, name=f"{name}_act")(x)
    if dropout > 0:
        x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return x


def activation_layer(activation: str, *, alpha: float = 0.0, name: str) -> keras.layers.Layer:
    """A Keras layer for one of the activations the models use."""
    if activation == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=alpha, name=name)
    if activation in ("relu", "tanh", "linear", "sigmoid"):
        return keras.layers.Activation(activation, name=name)
    raise ValueError(f"unsupported activation {activation!r}")


def output_activation(output: str) -> str:
    """The final activation for an output kind: sigmoid for masks, none for linear masks, ReLU for magnitudes.

    A linear mask (Park et al. 2018) is not bounded by 1: a source may be louder than a mixture
    built as the mean of the channels; separation clips only its negative values.
    """
    return {"mask": "sigmoid", "linear_mask": "linear", "magnitude": "relu"}[output]


def check_rate(value: float, *, key: str) -> None:
    """Raise ``ConfigurationError`` unless ``0 <= value < 1`` (a dropout rate)."""
    if not 0.0 <= value < 1.0:
        raise ConfigurationError(f"{key}: expected a dropout rate in [0, 1); received {value!r}")


def check_positive(value: int, *, key: str) -> None:
    """Raise ``ConfigurationError`` unless ``value`` is a positive integer."""
    if value < 1:
        raise ConfigurationError(f"{key}: expected a positive integer; received {value!r}")


def check_levels(filters: tuple[int, ...], *, key: str) -> None:
    """Raise ``ConfigurationError`` unless ``filters`` is a non-empty list of positive integers (one per level)."""
    if not filters:
        raise ConfigurationError(f"{key}: expected a non-empty list of integers (one per level); received []")
    for i, value in enumerate(filters):
        check_positive(value, key=f"{key}[{i}]")


def named_output(x, name: str = "output"):
    """Give a model output a stable name (``output``, ``output_1``...) whatever layer made it."""
    return keras.layers.Identity(name=name)(x)
