"""Training metrics by name (``training.metrics``): statistics of the prediction.

They show whether a mask collapses to 0 or saturates at 1 long before the loss says so. Both are
serializable under ``unmix>``, so saved models load in safe mode without custom objects.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import ops

from unmix.errors import unknown_name

Metric = Callable[..., object]

# The one registry of metrics, keyed by lower-case name.
_METRICS: dict[str, tuple[str, Metric]] = {}


def register_metric(name: str) -> Callable[[Metric], Metric]:
    """Register a metric function under ``name`` (case-insensitive; also its Keras name)."""

    def decorator(function: Metric) -> Metric:
        function = keras.saving.register_keras_serializable(package="unmix", name=name)(function)
        if name.lower() in _METRICS:
            raise ValueError(f"metric {name!r} is registered twice")
        _METRICS[name.lower()] = (name, function)
        return function

    return decorator


def get_metric(name: str) -> Metric:
    """The metric registered as ``name`` (case-insensitive).

    Raises:
        ConfigurationError: for an unknown name, listing the known ones and a "did you mean".
    """
    if not isinstance(name, str) or name.lower() not in _METRICS:
        raise unknown_name("training.metrics", "metric", name, available_metrics())
    return _METRICS[name.lower()][1]


def available_metrics() -> list[str]:
    """Every registered metric name, sorted."""
    return sorted(canonical for canonical, _ in _METRICS.values())


def _axes(values) -> tuple[int, ...]:
    return tuple(range(1, len(values.shape)))


@register_metric("mean_pred")
def mean_pred(y_true, y_pred):
    """Mean of the prediction per window, shape ``(batch,)``; Keras averages it over the epoch."""
    return ops.mean(y_pred, axis=_axes(y_pred))


@register_metric("max_pred")
def max_pred(y_true, y_pred):
    """Maximum of the prediction per window, shape ``(batch,)``; averaged over the epoch."""
    return ops.max(y_pred, axis=_axes(y_pred))
