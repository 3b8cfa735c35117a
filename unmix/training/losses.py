"""Loss functions by name (``training.loss_function``).

Every custom loss is registered with ``keras.saving.register_keras_serializable(package="unmix")``
so a compiled model saved as ``.keras`` reloads with ``keras.saving.load_model(path,
safe_mode=True)`` and no ``custom_objects``. Losses return one value per window, shape
``(batch,)``; Keras averages them over the batch.

Masked losses (``L11_loss``, ``L22_loss``) need the mixture: the seed read it from a global
model's input. Here the ``train_window_predict_mask`` representation packs it into the target,
``y_true = concat([target_magnitude, mix_magnitude], axis=-1)`` (``2 * n_channels`` channels)
while ``y_pred`` is the mask (``n_channels`` channels); ``loss_packs_mix(name)`` tells the
pipeline whether to pack. With several targets stacked on the channels
(``transformation.options.targets``) the one mix serves each: the loss is then the mean over
every target, as Park et al. 2018 averaged over accompaniment and voice.

Distillation (``training.teacher``) packs once more: ``y_true = concat([true_target,
teacher_target], axis=-1)``, each half as the plain loss wants it (mix-packed or not), and
``TeacherMixedLoss`` returns ``(1 - weight) * loss(true) + weight * loss(teacher)``: the
exact mixture of the two terms, not the loss of a mixed target (for L1 they differ).

A band weight (``training.high_band_loss``) counts the bins from ``edge`` up ``weight`` times
as much as those below: a quiet band such as a voice's air above 11 kHz holds a fraction of a
percent of the energy, so a loss averaged over every bin hardly sees it. The loss is the
bin-count-weighted mean of the loss of each band, so a weight of 1 is the plain loss.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras
from keras import ops

from unmix.errors import ConfigurationError
from unmix.registry import Registry

Loss = Callable[..., object]


@dataclasses.dataclass(frozen=True)
class _Entry:
    name: str
    function: Loss
    packs_mix: bool


# The one registry of losses (``unmix.registry``: one lookup rule for every name).
LOSSES: Registry[_Entry] = Registry("loss", key="training.loss_function")


def register_loss(name: str, *, packs_mix: bool = False) -> Callable[[Loss], Loss]:
    """Register a loss under ``name`` (any case, ``-`` for ``_``) and make it Keras-serializable.

    Args:
        name: the value of ``training.loss_function`` that selects it (also its Keras name).
        packs_mix: whether ``y_true`` carries the mixture magnitude after the target channels.
    """

    def decorator(function: Loss) -> Loss:
        function = keras.saving.register_keras_serializable(package="unmix", name=name)(function)
        _add(name, function, packs_mix=packs_mix)
        return function

    return decorator


def _add(name: str, function: Loss, *, packs_mix: bool = False) -> None:
    LOSSES.add(name, _Entry(name=name, function=function, packs_mix=packs_mix))


def _lookup(name: str) -> _Entry:
    return LOSSES.get(name)


def get_loss(name: str) -> Loss:
    """The loss function registered as ``name`` (any case, ``-`` for ``_``).

    Raises:
        ConfigurationError: for an unknown name, listing the known ones.
    """
    return _lookup(name).function


def loss_packs_mix(name: str) -> bool:
    """Whether the loss ``name`` expects ``y_true = concat([target, mix], axis=-1)``.

    Raises:
        ConfigurationError: for an unknown name.
    """
    return _lookup(name).packs_mix


def _split(y_true, y_pred):
    """Split a packed target into (target, mix), each with ``y_pred``'s channel count.

    ``y_pred`` may stack ``k`` targets of ``n`` channels each on ``n`` channels of mix: the mix is
    then repeated ``k`` times so that each target's mask meets it.
    """
    n_channels = y_pred.shape[-1]
    target, mix = y_true[..., :n_channels], y_true[..., n_channels:]
    if mix.shape[-1] != n_channels:
        mix = ops.concatenate([mix] * (n_channels // mix.shape[-1]), axis=-1)
    return target, mix


def _per_window(values):
    """Mean over every axis but the batch axis: shape ``(batch,)`` (as it is when already so)."""
    if len(values.shape) <= 1:
        return values
    return ops.mean(values, axis=tuple(range(1, len(values.shape))))


@register_loss("L11_loss", packs_mix=True)
def l11_loss(y_true, y_pred):
    """Mean absolute difference between ``mask * mix`` and the target magnitude.

    Args:
        y_true: ``(batch, n_bins, n_frames, 2 * n_channels)``: target magnitude, then mix.
        y_pred: ``(batch, n_bins, n_frames, n_channels)``: the predicted mask.

    Returns:
        ``(batch,)``: ``mean(|target - y_pred * mix|)`` per window (the seed summed over the
        whole batch, which made the loss scale with batch and window size).
    """
    target, mix = _split(y_true, y_pred)
    return _per_window(ops.abs(target - y_pred * mix))


@register_loss("L22_loss", packs_mix=True)
def l22_loss(y_true, y_pred):
    """Mean squared difference between ``mask * mix`` and the target magnitude (see ``L11_loss``)."""
    target, mix = _split(y_true, y_pred)
    return _per_window(ops.square(target - y_pred * mix))


@register_loss("mean_squared_error_noaxis")
def mean_squared_error_noaxis(y_true, y_pred):
    """Mean squared error over bins, frames and channels (the seed's mean over everything)."""
    return _per_window(ops.square(y_true - y_pred))


@register_loss("root_mean_squared_error")
def root_mean_squared_error(y_true, y_pred):
    """Root of the mean squared error over the whole batch, as the seed computed it.

    Returns:
        ``(batch,)`` filled with the batch's RMSE, so Keras' batch mean is exactly that RMSE.
    """
    per_window = _per_window(ops.square(y_true - y_pred))
    return ops.ones_like(per_window) * ops.sqrt(ops.mean(per_window))


# Losses that are a mean over bins: a band weight splits them exactly into a mean per band.
BAND_WEIGHTABLE = ("L11_loss", "L22_loss", "mean_squared_error_noaxis", "mean_absolute_error", "mae", "mean_squared_error", "mse")


def band_weighted(function: Loss, y_true, y_pred, *, edge: int | None, weight: float):
    """``function``'s per-window loss with bins ``edge:`` (axis 1) counted ``weight`` times.

    Returns:
        ``(batch,)``: ``(edge * low + weight * (n - edge) * high) / (edge + weight * (n - edge))``,
        where ``low`` and ``high`` are the loss over each band; ``function`` itself when
        ``edge`` is None, ``weight`` is 1 or the output has no bins above ``edge``.
    """
    n_bins = y_pred.shape[1]
    if edge is None or weight == 1.0 or not 0 < edge < n_bins:
        return _per_window(function(y_true, y_pred))
    low = _per_window(function(y_true[:, :edge], y_pred[:, :edge]))
    high = _per_window(function(y_true[:, edge:], y_pred[:, edge:]))
    above = weight * (n_bins - edge)
    return (edge * low + above * high) / (edge + above)


def check_band_weightable(name: str) -> None:
    """Raise unless ``name`` is a loss that a band weight can split (a mean over bins).

    Raises:
        ConfigurationError: naming the loss and the ones that can be split.
    """
    if _lookup(name).name not in BAND_WEIGHTABLE:
        raise ConfigurationError(
            f"training.high_band_loss weighs bins, but training.loss_function {name!r} is not a mean over bins; "
            f"use one of {', '.join(BAND_WEIGHTABLE)}, or set training.high_band_loss.weight to 1"
        )


@keras.saving.register_keras_serializable(package="unmix", name="BandWeightedLoss")
class BandWeightedLoss(keras.losses.Loss):
    """A registered loss with the bins from ``edge`` up counted ``weight`` times (``band_weighted``).

    Args:
        base: the registered name of the loss (``training.loss_function``).
        edge: the first bin of the weighted band.
        weight: how many times each bin there counts, > 0.

    Raises:
        ConfigurationError: a loss that is not a mean over bins, or a weight <= 0.
    """

    def __init__(self, base: str, edge: int, weight: float, *, name: str = "band_weighted_loss", reduction: str = "sum_over_batch_size", dtype=None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        check_band_weightable(base)
        if not float(weight) > 0.0:
            raise ConfigurationError(f"training.high_band_loss.weight must be > 0; received {weight!r}")
        self.base, self.edge, self.weight = base, int(edge), float(weight)
        self._function = get_loss(base)

    def call(self, y_true, y_pred):
        return band_weighted(self._function, y_true, y_pred, edge=self.edge, weight=self.weight)

    def get_config(self) -> dict:
        return {"base": self.base, "edge": self.edge, "weight": self.weight, "name": self.name, "reduction": self.reduction}


@keras.saving.register_keras_serializable(package="unmix", name="TeacherMixedLoss")
class TeacherMixedLoss(keras.losses.Loss):
    """``(1 - weight) * base(true) + weight * base(teacher)`` on a target packed as ``[true, teacher]``.

    Args:
        base: the registered name of the loss of each term (``training.loss_function``).
        weight: the weight of the teacher term, in [0, 1].
        edge, band_weight: each term counts the bins from ``edge`` up ``band_weight`` times
            (``band_weighted``); None: every bin alike.

    Raises:
        ConfigurationError: an unknown loss name, a weight outside [0, 1], or a band weight on
            a loss that is not a mean over bins.
    """

    def __init__(
        self, base: str, weight: float, *, edge: int | None = None, band_weight: float = 1.0, name: str = "teacher_mixed_loss",
        reduction: str = "sum_over_batch_size", dtype=None,
    ) -> None:  # fmt: skip
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not 0.0 <= float(weight) <= 1.0:
            raise ConfigurationError(f"training.teacher.weight must lie in [0, 1]; received {weight!r}")
        if edge is not None and float(band_weight) != 1.0:
            check_band_weightable(base)
        self.base = base
        self.weight = float(weight)
        self.edge, self.band_weight = (None if edge is None else int(edge)), float(band_weight)
        self._function = get_loss(base)

    def call(self, y_true, y_pred):
        """Per-window loss of ``y_true`` (..., 2 * k) packed as ``[true, teacher]`` against ``y_pred``."""
        half = y_true.shape[-1] // 2
        true_term = band_weighted(self._function, y_true[..., :half], y_pred, edge=self.edge, weight=self.band_weight)
        teacher_term = band_weighted(self._function, y_true[..., half:], y_pred, edge=self.edge, weight=self.band_weight)
        return (1.0 - self.weight) * true_term + self.weight * teacher_term

    def get_config(self) -> dict:
        return {
            "base": self.base, "weight": self.weight, "edge": self.edge, "band_weight": self.band_weight, "name": self.name,
            "reduction": self.reduction,
        }  # fmt: skip


# Keras' own losses keep their Keras names; they serialize without the unmix package.
for _name, _function in (
    ("mean_absolute_error", keras.losses.mean_absolute_error),
    ("mae", keras.losses.mean_absolute_error),
    ("mean_squared_error", keras.losses.mean_squared_error),
    ("mse", keras.losses.mean_squared_error),
    ("mean_squared_logarithmic_error", keras.losses.mean_squared_logarithmic_error),
    ("mean_squared_log_error", keras.losses.mean_squared_logarithmic_error),
    ("squared_hinge", keras.losses.squared_hinge),
    ("binary_crossentropy", keras.losses.binary_crossentropy),
):
    _add(_name, _function)
del _name, _function
