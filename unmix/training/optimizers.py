"""Optimizers by name (``training.optimizer``): ``adam``, ``adamw``, ``rmsprop``, ``sgd``.

The configuration section is ``{"name": "adam", "lr": 1e-4, ...}``; ``lr`` is the seed's key and
``learning_rate`` Keras' (give one of them). Keys a given optimizer does not take are rejected
rather than ignored, so a typo never silently trains with a default.

``decay_steps`` and ``decay_rate`` (given together, with a learning rate) make the rate a step
schedule, ``lr * decay_rate ** floor(step / decay_steps)`` over optimizer steps (batches), not
epochs: papers state their schedules in steps (Park et al. 2018: 1e-4, x 0.2 at step 12,000).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import keras

from unmix.errors import ConfigurationError, did_you_mean
from unmix.registry import Registry

_KEY = "training.optimizer"
_COMMON = ("name", "lr", "learning_rate", "clipnorm", "decay_steps", "decay_rate")
_DECAY = ("decay_steps", "decay_rate")


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
            ``clipnorm``, ``decay_steps`` with ``decay_rate`` (a staircase schedule),
            ``weight_decay`` (adamw only) and ``momentum`` (sgd only).

    Returns:
        A fresh ``keras.optimizers.Optimizer``.

    Raises:
        ConfigurationError: see ``optimizer_arguments``.
    """
    factory, kwargs = optimizer_arguments(options)
    decay_steps, decay_rate = kwargs.pop("decay_steps", None), kwargs.pop("decay_rate", None)
    if decay_steps is not None:
        kwargs["learning_rate"] = keras.optimizers.schedules.ExponentialDecay(
            kwargs["learning_rate"], decay_steps=int(decay_steps), decay_rate=decay_rate, staircase=True
        )
    return factory(**kwargs)


def optimizer_arguments(options: Mapping[str, Any] | Any) -> tuple[Callable[..., keras.optimizers.Optimizer], dict[str, float]]:
    """Check the ``training.optimizer`` section without building anything (``train.py --check``).

    Returns:
        The optimizer class and its keyword arguments (``decay_steps`` and ``decay_rate`` among
        them when set: ``build_optimizer`` turns them into a schedule).

    Raises:
        ConfigurationError: for an unknown name or key (with a "did you mean"), both ``lr`` and
            ``learning_rate``, a value that is not a suitable number, or a decay without its
            other key or without a learning rate.
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
    kwargs.update(_decay(options, has_rate="learning_rate" in kwargs))
    return entry.factory, kwargs


def _decay(options: Mapping[str, Any], *, has_rate: bool) -> dict[str, float]:
    """``decay_steps`` (a whole number >= 1) and ``decay_rate`` (in (0, 1]), both or neither."""
    given = [key for key in _DECAY if key in options]
    if not given:
        return {}
    if len(given) == 1:
        other = _DECAY[1 - _DECAY.index(given[0])]
        raise ConfigurationError(f"{_KEY}.{given[0]}: given without {other}; a step decay needs both (e.g. decay_steps 12000, decay_rate 0.2)")
    if not has_rate:
        raise ConfigurationError(f"{_KEY}.decay_steps: a step decay needs the learning rate it starts from; set {_KEY}.lr")
    steps, rate = options["decay_steps"], _number(options, "decay_rate", minimum_exclusive=True)
    if isinstance(steps, bool) or not isinstance(steps, (int, float)) or steps != int(steps) or steps < 1:
        raise ConfigurationError(f"{_KEY}.decay_steps: expected a whole number of steps >= 1; received {steps!r}")
    if rate > 1:
        raise ConfigurationError(f"{_KEY}.decay_rate: expected a factor in (0, 1]; received {rate!r}")
    return {"decay_steps": float(int(steps)), "decay_rate": rate}
