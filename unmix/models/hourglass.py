"""Stacked hourglass network for singing-voice separation (the flagship model).

Park, Kim, Lee, Kwak: "Music Source Separation Using Stacked Hourglass Networks", ISMIR 2018,
arXiv:1805.08559; the hourglass module itself is Newell, Yang, Deng: "Stacked Hourglass
Networks for Human Pose Estimation", ECCV 2016, arXiv:1603.06937.

Layout (as the seed built it, with the paper's stacking added):

- stem: conv 7x7 x ``initial_filters`` -> three conv 3x3 x ``2 * initial_filters`` -> conv 3x3 x
  ``hg_module.filters`` (ReLU; batch norm and dropout from ``initial_convolutions``);
- ``hourglasses`` modules, each recursive to depth ``stacks``: per level an upper branch
  (conv 3x3) and a lower branch (max-pool 2x2 -> conv 3x3 -> next level, or one more conv at the
  bottom -> conv 3x3 -> up-sample 2x), added together; so ``stacks`` counts the 2x
  down-samplings of one module;
- per module a head: conv 3x3 (``hg_module_end``) -> conv 1x1 + dropout -> conv 1x1 to
  ``n_targets * n_channels`` -> sigmoid (a mask), nothing (a linear mask, as the paper) or ReLU
  (a magnitude). Every head is a model output (intermediate supervision: the loss applies to
  each, as in the paper); between modules the paper's re-injection
  ``next = input + conv1x1(features) + conv1x1(prediction)``.

The DC bin is removed before the network and its mask set to 0 afterwards (769 bins -> 768)
unless ``drop_dc`` is off; ``bins`` keeps only the lowest bins (the paper: 512 of 513, the top
one gets a zero mask); the remaining bins and the frames are zero-padded up to a multiple of
``2 ** stacks`` and cropped back, so the output has the input's bins and frames.

Park et al.'s SH-4stack for MIR-1K is ``stacks`` 4, ``hourglasses`` 4, ``initial_filters``
64, 256 filters, ``drop_dc`` false and ``bins`` 512 on a mono 513-bin input with two stacked
targets: 34.18 M parameters (``configurations/papers/hourglass-mir1k.jsonc``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import ClassVar

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
from unmix.config.validate import KERNEL_INITIALIZERS
from unmix.errors import ConfigurationError
from unmix.models.registry import register_model


@dataclasses.dataclass(frozen=True)
class BlockOptions:
    """Batch normalisation and dropout of a group of convolutions."""

    batchnormalization: bool = False
    dropoutfactor: float = 0.0


@dataclasses.dataclass(frozen=True)
class ModuleOptions:
    """The hourglass module: ``filters`` feature maps at every level."""

    filters: int = 256
    batchnormalization: bool = False
    dropoutfactor: float = 0.0


@dataclasses.dataclass(frozen=True)
class HourglassOptions:
    """Options of ``training.model.options`` for ``hourglass``.

    Attributes:
        stacks: recursion depth of one module (number of 2x down-samplings); the seed's default
            is 4, its final configuration 6 (64-frame windows allow at most 6).
        hourglasses: hourglass modules stacked with intermediate supervision (seed 1, paper 4).
        initial_filters: filters of the 7x7 stem convolution; the next three use twice as many.
        initial_convolutions: batch norm / dropout of the stem.
        hg_module: filters, batch norm and dropout inside the modules.
        hg_module_end: batch norm / dropout of each module's head.
        drop_dc: remove the DC bin before the network (the seed's); Park et al. keep it.
        bins: only the lowest ``bins`` bins (DC included) enter the network, the others get a
            zero output; 0: every bin. Park et al.: 512 of an FFT 1024's 513.
        kernel_initializer: of every convolution: Keras' ``glorot_uniform`` (the seed's), or
            ``lecun_normal``, variance 1 / fan-in as Park et al.'s normal initialiser (Keras
            truncates it at two deviations), or ``he_normal``.
    """

    # The seed's configurations set these; the seed ignored them too.
    DEPRECATED: ClassVar[Mapping[str, str]] = {
        "channels": "the hourglass never read it (hg_module.filters sets the width)",
        "classes": "the hourglass never read it (the outputs follow the representation)",
    }

    stacks: int = 4
    hourglasses: int = 1
    initial_filters: int = 64
    initial_convolutions: BlockOptions = dataclasses.field(default_factory=BlockOptions)
    hg_module: ModuleOptions = dataclasses.field(default_factory=ModuleOptions)
    hg_module_end: BlockOptions = dataclasses.field(default_factory=BlockOptions)
    drop_dc: bool = True
    bins: int = 0
    kernel_initializer: str = "glorot_uniform"


def _module(x, depth: int, *, level: int, options: ModuleOptions, name: str, initializer: str):
    """One recursion level of an hourglass module (``depth`` levels remain below this one)."""
    block = dict(
        batchnormalization=options.batchnormalization, dropout=options.dropoutfactor, kernel_initializer=initializer
    )
    filters = options.filters
    upper = conv_block(x, filters, 3, name=f"{name}_l{level}_upper", **block)
    lower = keras.layers.MaxPooling2D(2, name=f"{name}_l{level}_pool")(x)
    lower = conv_block(lower, filters, 3, name=f"{name}_l{level}_down", **block)
    if depth > 1:
        lower = _module(lower, depth - 1, level=level + 1, options=options, name=name, initializer=initializer)
    else:
        lower = conv_block(lower, filters, 3, name=f"{name}_l{level}_bottom", **block)
    lower = conv_block(lower, filters, 3, name=f"{name}_l{level}_up", **block)
    lower = keras.layers.UpSampling2D(2, name=f"{name}_l{level}_upsample")(lower)
    return keras.layers.Add(name=f"{name}_l{level}_add")([upper, lower])


def _validate(options: HourglassOptions, *, n_bins: int) -> None:
    key = "training.model.options"
    if options.kernel_initializer not in KERNEL_INITIALIZERS:
        raise ConfigurationError(f"{key}.kernel_initializer: expected one of {', '.join(KERNEL_INITIALIZERS)}; received {options.kernel_initializer!r}")
    if not 0 <= options.bins <= n_bins:
        raise ConfigurationError(f"{key}.bins: expected 0 (every bin) or a bin count <= the input's {n_bins}; received {options.bins!r}")
    check_positive(options.stacks, key=f"{key}.stacks")
    check_positive(options.hourglasses, key=f"{key}.hourglasses")
    check_positive(options.initial_filters, key=f"{key}.initial_filters")
    check_positive(options.hg_module.filters, key=f"{key}.hg_module.filters")
    for part in ("initial_convolutions", "hg_module", "hg_module_end"):
        check_rate(getattr(options, part).dropoutfactor, key=f"{key}.{part}.dropoutfactor")


@register_model(
    "hourglass",
    options=HourglassOptions,
    description="stacked hourglass network (Park et al. 2018), mask per module; the flagship",
    stacked_targets=True,
)
def build_hourglass(
    options: HourglassOptions, *, input_shape: tuple[int, int, int], output: str, n_targets: int = 1
) -> keras.Model:
    """Build the stacked hourglass network.

    Args:
        options: the model options.
        input_shape: ``(n_bins, n_frames, n_channels)``.
        output: ``"mask"``, ``"linear_mask"`` or ``"magnitude"``.
        n_targets: targets stacked on the output channels (Park et al.: accompaniment, voice).

    Returns:
        A model with ``options.hourglasses`` outputs (named ``output`` when there is one,
        otherwise ``output_1`` ... ``output_N``, the last being the final prediction), each of
        shape ``(batch, n_bins, n_frames, n_targets * n_channels)``.

    Raises:
        ConfigurationError: on a non-positive size, a dropout rate outside [0, 1) or more
            ``bins`` than the input has.
    """
    _validate(options, n_bins=input_shape[0])
    n_outputs = input_shape[-1] * n_targets
    filters = options.hg_module.filters
    initializer = options.kernel_initializer
    stem = dict(
        batchnormalization=options.initial_convolutions.batchnormalization,
        dropout=options.initial_convolutions.dropoutfactor,
        kernel_initializer=initializer,
    )
    end = dict(
        batchnormalization=options.hg_module_end.batchnormalization,
        dropout=options.hg_module_end.dropoutfactor,
        kernel_initializer=initializer,
    )
    fit = plan_fit(input_shape, multiple=2**options.stacks, drop_dc=options.drop_dc, max_bins=options.bins)

    inputs = keras.Input(shape=input_shape, name="spectrogram")
    x = fit_input(inputs, fit, name="input")
    x = conv_block(x, options.initial_filters, 7, name="stem_1", **stem)
    for i in range(2, 5):
        x = conv_block(x, 2 * options.initial_filters, 3, name=f"stem_{i}", **stem)
    x = conv_block(x, filters, 3, name="stem_5", **stem)

    outputs = []
    for m in range(1, options.hourglasses + 1):
        name = f"hg{m}"
        features = _module(x, options.stacks, level=1, options=options.hg_module, name=name, initializer=initializer)
        features = conv_block(features, filters, 3, name=f"{name}_end_1", **end)
        features = conv_block(features, filters, 1, name=f"{name}_end_2", dropout=end["dropout"], kernel_initializer=initializer)
        prediction = conv_block(
            features, n_outputs, 1, name=f"{name}_prediction", activation=output_activation(output), kernel_initializer=initializer
        )
        single = options.hourglasses == 1
        restored = restore_output(prediction, fit, name=f"{name}_output")
        outputs.append(named_output(restored, "output" if single else f"output_{m}"))
        if m < options.hourglasses:
            # Re-inject features and prediction into the next module (Newell et al. 2016, fig. 4).
            reinject = dict(kernel_initializer=initializer)
            merged_features = keras.layers.Conv2D(filters, 1, name=f"{name}_reinject_features", **reinject)(features)
            merged_prediction = keras.layers.Conv2D(filters, 1, name=f"{name}_reinject_prediction", **reinject)(prediction)
            x = keras.layers.Add(name=f"{name}_reinject")([x, merged_features, merged_prediction])
    return keras.Model(inputs, outputs if len(outputs) > 1 else outputs[0], name="hourglass")
