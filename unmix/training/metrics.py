"""Training metrics by name (``training.metrics``): statistics of the prediction.

They show whether a mask collapses to 0 or saturates at 1 long before the loss says so. Both are
serializable under ``unmix>``, so saved models load in safe mode without custom objects.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import ops

from unmix.registry import Registry

Metric = Callable[..., object]

# The one registry of metrics (``unmix.registry``: one lookup rule for every name).
METRICS: Registry[Metric] = Registry("metric", key="training.metrics")


def register_metric(name: str) -> Callable[[Metric], Metric]:
    """Register a metric function under ``name`` (any case, ``-`` for ``_``; also its Keras name)."""

    def decorator(function: Metric) -> Metric:
        if name in METRICS:
            raise ValueError(f"metric {name!r} is registered twice")
        function = keras.saving.register_keras_serializable(package="unmix", name=name)(function)
        return METRICS.add(name, function)

    return decorator


def get_metric(name: str) -> Metric:
    """The metric registered as ``name`` (any case, ``-`` for ``_``).

    Raises:
        ConfigurationError: for an unknown name, listing the known ones and a "did you mean".
    """
    return METRICS.get(name)


def available_metrics() -> list[str]:
    """Every registered metric name, sorted."""
    return METRICS.names()


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
