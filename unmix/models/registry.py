"""The model registry: every architecture registers itself here by decorator.

A model module declares a frozen ``Options`` dataclass (its documented defaults) and a builder
``fn(options, *, input_shape, output) -> keras.Model`` decorated with
``@register_model("name", options=Options, description="...")``. ``build_model`` turns the
``training.model`` section of a configuration into a Keras model: it looks the name up
as every registry does (``unmix.registry``), converts the options mapping into the dataclass (rejecting unknown keys and
wrong types with the key path) and calls the builder for the transformer's input shape.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import keras

from unmix.errors import ConfigurationError, unknown_name
from unmix.registry import Registry

OUTPUTS = ("mask", "magnitude")

Builder = Callable[..., keras.Model]
OptionsT = TypeVar("OptionsT")


@dataclasses.dataclass(frozen=True)
class _Entry:
    name: str
    builder: Builder
    options: type
    description: str


# The one decorator-filled registry of models (``unmix.registry``: one lookup rule for every name).
MODELS: Registry[_Entry] = Registry("model", key="training.model.name")


def register_model(name: str, *, options: type, description: str) -> Callable[[Builder], Builder]:
    """Register a model builder under ``name`` (any case, ``-`` for ``_``).

    Args:
        name: the value of ``training.model.name`` that selects the model.
        options: the model's frozen options dataclass; its field defaults are the documented
            defaults.
        description: one line shown by ``train.py --list-models``.

    Returns:
        A decorator that records the builder and returns it unchanged.

    Raises:
        ValueError: when the name is already registered or ``options`` is not a dataclass (a
            programming error, not a user one).
    """
    if name in MODELS:
        raise ValueError(f"model {name!r} is registered twice")
    if not dataclasses.is_dataclass(options):
        raise ValueError(f"options of model {name!r} must be a dataclass; received {options!r}")

    def decorator(builder: Builder) -> Builder:
        MODELS.add(name, _Entry(name=name, builder=builder, options=options, description=description))
        return builder

    return decorator


def available_models() -> dict[str, str]:
    """Every registered model name with its one-line description, sorted by name."""
    return {name: entry.description for name, entry in MODELS.items()}


def _lookup(name: str) -> _Entry:
    return MODELS.get(name)


def options_class(name: str) -> type:
    """The options dataclass of the model registered as ``name``.

    Raises:
        ConfigurationError: for an unknown model name.
    """
    return _lookup(name).options


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", str(annotation))


def _convert(value: Any, annotation: Any, key: str) -> Any:
    """Check one option value against its annotation; return it in the dataclass' type."""
    origin = typing.get_origin(annotation)
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, Mapping):
            raise ConfigurationError(
                f"{key}: expected an object with keys "
                f"{', '.join(f.name for f in dataclasses.fields(annotation))}; received {value!r}"
            )
        return options_from_mapping(annotation, value, key_path=key)
    if origin is tuple:
        (item,) = {arg for arg in typing.get_args(annotation) if arg is not Ellipsis}
        if not isinstance(value, (list, tuple)) or not value:
            raise ConfigurationError(
                f"{key}: expected a non-empty list of {_type_name(item)}; received {value!r}"
            )
        return tuple(_convert(element, item, f"{key}[{i}]") for i, element in enumerate(value))
    if annotation is bool:
        ok = isinstance(value, bool)
    elif annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif annotation is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif annotation is str:
        ok = isinstance(value, str)
    else:  # pragma: no cover - only the types above are used by the models
        raise TypeError(f"{key}: unsupported option annotation {annotation!r}")
    if not ok:
        raise ConfigurationError(
            f"{key}: expected {_type_name(annotation)}; received {value!r} ({type(value).__name__})"
        )
    return value


def options_from_mapping(
    cls: type[OptionsT], mapping: Mapping[str, Any] | None, *, key_path: str = "training.model.options"
) -> OptionsT:
    """Build the frozen options dataclass ``cls`` from a configuration mapping.

    Missing keys keep the dataclass defaults; nested dataclass fields take nested mappings.

    Args:
        cls: a (frozen) dataclass whose fields carry type annotations bool, int, float, str,
            ``tuple[int, ...]`` or another such dataclass.
        mapping: the options as read from the configuration (``None`` means all defaults).
        key_path: where the mapping sits in the configuration, for error messages.

    Returns:
        An instance of ``cls``.

    Raises:
        ConfigurationError: on an unknown key (with a "did you mean") or a value of the wrong type.
    """
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, Mapping):
        raise ConfigurationError(f"{key_path}: expected an object; received {mapping!r}")
    hints = typing.get_type_hints(cls)
    fields = {field.name for field in dataclasses.fields(cls) if field.init}
    values: dict[str, Any] = {}
    for key, value in mapping.items():
        if key not in fields:
            raise unknown_name(f"{key_path}.{key}", "option", key, sorted(fields))
        values[key] = _convert(value, hints[key], f"{key_path}.{key}")
    return cls(**values)


def build_model(
    name: str,
    options: Mapping[str, Any] | Any | None,
    *,
    input_shape: tuple[int, int, int],
    output: str = "mask",
) -> keras.Model:
    """Build the registered model ``name`` for one input shape.

    Args:
        name: ``training.model.name`` (case-insensitive).
        options: ``training.model.options`` as a mapping, an instance of the model's options
            dataclass, or ``None`` for the defaults.
        input_shape: ``(n_bins, n_frames, n_channels)`` of one window, channels-last; any
            positive bin and frame counts, 1 or 2 channels.
        output: ``"mask"`` (values in [0, 1], sigmoid) or ``"magnitude"`` (non-negative).

    Returns:
        An uncompiled ``keras.Model`` mapping ``(batch, n_bins, n_frames, n_channels)`` to the
        same shape (several such outputs for models with intermediate supervision; see
        ``prediction_model``).

    Raises:
        ConfigurationError: on an unknown name, bad options, a bad input shape or output kind.
    """
    entry = _lookup(name)
    if isinstance(options, entry.options):
        parsed = options
    else:
        parsed = options_from_mapping(entry.options, options)
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(n, int) and n > 0 for n in shape):
        raise ConfigurationError(
            f"model {entry.name}: input_shape must be (n_bins, n_frames, n_channels) of positive "
            f"integers; received {input_shape!r}"
        )
    if output not in OUTPUTS:
        raise ConfigurationError(
            f"model {entry.name}: output must be one of {', '.join(OUTPUTS)}; received {output!r}"
        )
    return entry.builder(parsed, input_shape=shape, output=output)


def prediction_model(model: keras.Model) -> keras.Model:
    """The model itself, or for several outputs a model sharing its weights with only the last.

    Models with intermediate supervision (stacked hourglasses) output one prediction per module;
    inference uses the final one. A model whose outputs are named targets (a dict, such as
    ``{"vocals": …, "instrumental": …}``) is returned as it is: every output is a prediction.
    """
    if len(model.outputs) == 1 or isinstance(model.output, dict):
        return model
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, model.outputs[-1], name=f"{model.name}_prediction")


def per_output(model: keras.Model, value: Any) -> Any:
    """``value`` for a single-output model, ``[value] * n`` for a model with n outputs.

    Keras 3 needs one loss (and one metric list) per output; with intermediate supervision the
    same loss applies to every module's prediction, as Park et al. do.
    """
    n_outputs = len(model.outputs)
    return value if n_outputs == 1 else [value] * n_outputs


def expand_targets(model: keras.Model, y: Any) -> Any:
    """``y`` for a single-output model, ``(y,) * n`` for n outputs (every module sees the target)."""
    n_outputs = len(model.outputs)
    return y if n_outputs == 1 else (y,) * n_outputs
