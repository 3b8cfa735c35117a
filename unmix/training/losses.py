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
    """Mean over every axis but the batch axis: shape ``(batch,)``."""
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


@keras.saving.register_keras_serializable(package="unmix", name="TeacherMixedLoss")
class TeacherMixedLoss(keras.losses.Loss):
    """``(1 - weight) * base(true) + weight * base(teacher)`` on a target packed as ``[true, teacher]``.

    Args:
        base: the registered name of the loss of each term (``training.loss_function``).
        weight: the weight of the teacher term, in [0, 1].

    Raises:
        ConfigurationError: an unknown loss name, or a weight outside [0, 1].
    """

    def __init__(self, base: str, weight: float, *, name: str = "teacher_mixed_loss", reduction: str = "sum_over_batch_size", dtype=None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not 0.0 <= float(weight) <= 1.0:
            raise ConfigurationError(f"training.teacher.weight must lie in [0, 1]; received {weight!r}")
        self.base = base
        self.weight = float(weight)
        self._function = get_loss(base)

    def call(self, y_true, y_pred):
        """Per-window loss of ``y_true`` (..., 2 * k) packed as ``[true, teacher]`` against ``y_pred``."""
        half = y_true.shape[-1] // 2
        true_term = self._function(y_true[..., :half], y_pred)
        teacher_term = self._function(y_true[..., half:], y_pred)
        return (1.0 - self.weight) * true_term + self.weight * teacher_term

    def get_config(self) -> dict:
        return {"base": self.base, "weight": self.weight, "name": self.name, "reduction": self.reduction}


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
