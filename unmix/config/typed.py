"""The one mapping → frozen dataclass validator of unmix.

Every option section of a configuration (``unmix.config.schema``) and every model's options
(``unmix.models.registry``) are read by ``from_mapping``; before, the two had their own rules
(``3.0`` was an int in one and not in the other; an unknown key warned in one and failed in
the other). The rules, for every dataclass and at every depth:

1. **An object.** The value must be a JSON object; a key it leaves out keeps the dataclass
   default.
2. **Unknown keys are errors**, with the known keys and a "did you mean": a typo must not
   train for days with a default (the optimizer section rejects unknown keys for the same
   reason). ``"collection.stero in x.jsonc: unknown key 'stero'; known: …; did you mean 'stereo'?"``
3. **Deprecated keys warn.** A key the dataclass lists in its ``DEPRECATED`` class variable
   (key → what to do instead) still loads: one warning line names the key and the file, and
   the value is ignored. So configurations written for the seed keep working.
4. **Types**:
   - ``bool``: ``true`` or ``false`` only (never ``0``/``1``);
   - ``int``: an integer, or a number without a fraction (``3.0`` → ``3``: JSON, and the
     configuration's ``int(env(...))`` casts, do not keep ``3`` and ``3.0`` apart); never a bool;
   - ``float``: any number (integers become floats); never a bool;
   - ``str``: a string;
   - ``Optional[X]``: ``null`` or an ``X``;
   - ``tuple[X, ...]``: a list (empty allowed) of ``X``; an item is named ``key[i]``;
   - ``Mapping``: any object, kept read-only as it is; whoever consumes it validates it;
   - another dataclass: an object, read by these same rules.
5. **The dataclass' own checks** (a ``ConfigurationError`` from ``__post_init__``, such as a
   range that needs two keys) get the key path and the file in front.
6. **One line per error**: ``"<key> in <file>: expected <type>; received <value>"`` (without
   `` in <file>`` where no file is known, e.g. options given in code).

TensorFlow-free.
"""

from __future__ import annotations

import dataclasses
import logging
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from unmix.config.jsonc import origin_of
from unmix.errors import ConfigurationError, unknown_name

logger = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = ["freeze", "from_mapping", "type_name", "without_deprecated"]


def freeze(value: Any) -> Any:
    """A deeply read-only copy: mappings become MappingProxyType, lists tuples."""
    if isinstance(value, Mapping):
        return types.MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


def _where(key: str, origins: Mapping[str, Path] | None) -> str:
    return f"{key} in {origin_of(key, origins)}" if origins is not None else key


def _item_type(annotation: Any) -> Any:
    return next(arg for arg in typing.get_args(annotation) if arg is not Ellipsis)


def _optional_of(annotation: Any) -> Any:
    return next(arg for arg in typing.get_args(annotation) if arg is not type(None))


def _is_mapping(annotation: Any) -> bool:
    return annotation is Mapping or typing.get_origin(annotation) in (Mapping, dict)


def type_name(annotation: Any) -> str:
    """The words for a type in messages: ``integer``, ``list of string``, ``object``, …"""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return f"{type_name(_optional_of(annotation))} or null"
    if origin is tuple:
        return f"list of {type_name(_item_type(annotation))}"
    if _is_mapping(annotation) or dataclasses.is_dataclass(annotation):
        return "object"
    return {int: "integer", float: "number", bool: "true/false", str: "string"}.get(annotation, str(annotation))


def _scalar(value: Any, annotation: Any) -> Any:
    """``value`` as ``annotation`` (bool, int, float, str), or raise TypeError."""
    if annotation is bool and isinstance(value, bool):
        return value
    if isinstance(value, bool):
        raise TypeError
    if annotation is int and isinstance(value, int):
        return value
    if annotation is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if annotation is float and isinstance(value, (int, float)):
        return float(value)
    if annotation is str and isinstance(value, str):
        return value
    raise TypeError


def _value(value: Any, annotation: Any, key: str, origins: Mapping[str, Path] | None) -> Any:
    """One value checked against its annotation, in the dataclass' type (rule 4)."""
    expected = annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        if value is None:
            return None
        annotation = _optional_of(annotation)
    if dataclasses.is_dataclass(annotation):
        return from_mapping(annotation, value, key_path=key, origins=origins)
    if typing.get_origin(annotation) is tuple:
        if isinstance(value, (list, tuple)):
            item = _item_type(annotation)
            return tuple(_value(element, item, f"{key}[{i}]", origins) for i, element in enumerate(value))
    elif _is_mapping(annotation):
        if isinstance(value, Mapping):
            return freeze(value)
    else:
        try:
            return _scalar(value, annotation)
        except TypeError:
            pass
    raise ConfigurationError(f"{_where(key, origins)}: expected {type_name(expected)}; received {value!r}")


def from_mapping(cls: type[T], data: Any, *, key_path: str, origins: Mapping[str, Path] | None = None) -> T:
    """Build the frozen dataclass ``cls`` from ``data`` by the rules of this module.

    Args:
        cls: a dataclass whose fields are annotated with the types of rule 4; an optional
            ``DEPRECATED`` class variable maps keys that are no longer read to what to do instead.
        data: the mapping as read from the configuration.
        key_path: where ``data`` sits in the configuration (``""`` for the root), for messages.
        origins: dotted key → the file that set it (``Config.origins``), to name the file in
            messages; ``None`` where no file is known.

    Returns:
        An instance of ``cls``.

    Raises:
        ConfigurationError: not an object, an unknown key, a value of the wrong type, or the
            dataclass' own check failed; one line naming the key (and the file).
    """
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{_where(key_path, origins)}: expected an object; received {data!r}")
    hints = typing.get_type_hints(cls)
    names = [field.name for field in dataclasses.fields(cls) if field.init]
    deprecated: Mapping[str, str] = getattr(cls, "DEPRECATED", {})
    values: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{key_path}.{key}" if key_path else str(key)
        if key in deprecated:
            logger.warning("%s is deprecated and ignored: %s; remove it", _where(dotted, origins), deprecated[key])
        elif key not in names:
            raise unknown_name(_where(dotted, origins), "key", key, names)
        else:
            values[key] = _value(value, hints[key], dotted, origins)
    try:
        return cls(**values)
    except ConfigurationError as error:
        raise ConfigurationError(f"{_where(key_path, origins)}: {error}") from None


def without_deprecated(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` without the keys ``cls`` (and its nested dataclasses) list as ``DEPRECATED``.

    So a tree written back (a run folder's ``configuration.jsonc``) does not warn again on every load.
    """
    deprecated: Mapping[str, str] = getattr(cls, "DEPRECATED", {})
    hints = typing.get_type_hints(cls)
    kept: dict[str, Any] = {}
    for key, value in data.items():
        if key in deprecated:
            continue
        annotation = hints.get(key)
        nested = dataclasses.is_dataclass(annotation) and isinstance(value, Mapping)
        kept[key] = without_deprecated(annotation, value) if nested else value
    return kept
