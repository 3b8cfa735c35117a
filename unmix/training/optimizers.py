"""Optimizers by name (``training.optimizer``): ``adam``, ``adamw``, ``rmsprop``, ``sgd``.

The configuration section is ``{"name": "adam", "lr": 1e-4, ...}``; ``lr`` is the seed's key and
``learning_rate`` Keras' (give one of them). Keys a given optimizer does not take are rejected
rather than ignored, so a typo never silently trains with a default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import keras

from unmix.errors import ConfigurationError, did_you_mean
from unmix.registry import Registry

_KEY = "training.optimizer"
_COMMON = ("name", "lr", "learning_rate", "clipnorm")


@dataclasses.dataclass(frozen=True)
class _Entry:
    factory: Callable[..., keras.optimizers.Optimizer]
    extra_keys: tuple[str, ...]


# The one registry of optimizers (``unmix.registry``: one lookup rule for every name).
OPTIMIZERS: Registry[_Entry] = Registry("optimizer", key=f"{_KEY}.name")
OPTIMIZERS.add("adam", _Entry(keras.optimizers.Adam, ()))
OPTIMIZERS.add("adamw", _Entry(keras.optimizers.AdamW, ("weight_decay",)))
OPTIMIZERS.add("rmsprop", _Entry(keras.optimizers.RMSprop, ()))
OPTIMIZERS.add("sgd", _Entry(keras.optimizers.SGD, ("momentum",)))


def available_optimizers() -> list[str]:
    """Every optimizer name, sorted."""
    return OPTIMIZERS.names()


def _number(options: Mapping[str, Any], key: str, *, minimum_exclusive: bool) -> float:
    value = options[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{_KEY}.{key}: expected a number; received {value!r}")
    if value < 0 or (minimum_exclusive and value == 0):
        expected = "a positive number" if minimum_exclusive else "a number >= 0"
        raise ConfigurationError(f"{_KEY}.{key}: expected {expected}; received {value!r}")
    return float(value)


def build_optimizer(options: Mapping[str, Any] | Any) -> keras.optimizers.Optimizer:
    """Build a Keras optimizer from the ``training.optimizer`` section.

    Args:
        options: a mapping (or a dataclass with the same fields) with ``name`` and optionally
            ``lr`` or ``learning_rate`` (default: Keras' default of that optimizer),
            ``clipnorm``, ``weight_decay`` (adamw only) and ``momentum`` (sgd only).

    Returns:
        A fresh ``keras.optimizers.Optimizer``.

    Raises:
        ConfigurationError: see ``optimizer_arguments``.
    """
    factory, kwargs = optimizer_arguments(options)
    return factory(**kwargs)


def optimizer_arguments(options: Mapping[str, Any] | Any) -> tuple[Callable[..., keras.optimizers.Optimizer], dict[str, float]]:
    """Check the ``training.optimizer`` section without building anything (``train.py --check``).

    Returns:
        The optimizer class and its keyword arguments.

    Raises:
        ConfigurationError: for an unknown name or key (with a "did you mean"), both ``lr`` and
            ``learning_rate``, or a value that is not a suitable number.
    """
    if dataclasses.is_dataclass(options) and not isinstance(options, type):
        options = {k: v for k, v in dataclasses.asdict(options).items() if v is not None}
    if not isinstance(options, Mapping):
        raise ConfigurationError(f"{_KEY}: expected an object with a name; received {options!r}")
    name = options.get("name")
    entry = OPTIMIZERS.get(name)
    allowed = _COMMON + entry.extra_keys
    for key in options:
        if key not in allowed:
            raise ConfigurationError(
                f"{_KEY}.{key}: unknown option for optimizer {name!r}; known: {', '.join(allowed)}"
                f"{did_you_mean(key, allowed)}"
            )
    if "lr" in options and "learning_rate" in options:
        raise ConfigurationError(
            f"{_KEY}: both lr ({options['lr']!r}) and learning_rate ({options['learning_rate']!r}) "
            "are given; keep one"
        )
    kwargs: dict[str, float] = {}
    for key in ("lr", "learning_rate"):
        if key in options:
            kwargs["learning_rate"] = _number(options, key, minimum_exclusive=True)
    if "clipnorm" in options:
        kwargs["clipnorm"] = _number(options, "clipnorm", minimum_exclusive=True)
    for key in entry.extra_keys:
        if key in options:
            kwargs[key] = _number(options, key, minimum_exclusive=False)
    return entry.factory, kwargs
