"""The transformer registry: every transformer registers itself here by decorator.

``transformation.name`` picks a transformer. Names are looked up case-insensitively and
with ``-`` read as ``_`` (the seed spelled one ``mask-ibm``); an unknown name is a
``ConfigurationError`` that lists the known names and the closest match.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from unmix.config.schema import TransformOptions
from unmix.dsp.stft import StftOptions
from unmix.errors import unknown_name

if TYPE_CHECKING:
    from unmix.pipeline.transformers.base import Transformer

T = TypeVar("T", bound=type)

# The one decorator-filled registry, keyed by normalised name.
_TRANSFORMERS: dict[str, type] = {}

# Seed names that now mean an existing transformer: the seed's "_hann" variant only
# differed in its overlap-add, which unmix.separation now does for every transformer.
_ALIASES = {"train_window_predict_mask_hann": "train_window_predict_mask"}


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def register_transformer(name: str) -> Callable[[T], T]:
    """Register a ``Transformer`` subclass under ``name`` (case-insensitive).

    Args:
        name: the value of ``transformation.name`` that selects the class.

    Returns:
        A class decorator that records the class and returns it unchanged.

    Raises:
        ValueError: when the name is registered twice (a programming error).
    """
    key = _key(name)
    if key in _TRANSFORMERS:
        raise ValueError(f"transformer {name!r} is registered twice")

    def decorator(cls: T) -> T:
        _TRANSFORMERS[key] = cls
        return cls

    return decorator


def available_transformers() -> list[str]:
    """The registered transformer names, sorted."""
    return sorted(_TRANSFORMERS)


def get_transformer(name: str, *, options: TransformOptions, stft: StftOptions) -> Transformer:
    """Build the transformer that ``transformation.name`` names.

    Args:
        name: e.g. ``"train_window_predict_mask"`` (any case; ``-`` works as ``_``).
        options: ``transformation.options`` (size, step, normalizer, ...).
        stft: the STFT parameters (their bin count is the model's height).

    Returns:
        The transformer.

    Raises:
        ConfigurationError: for an unknown name, or options the transformer rejects
            (size, step, normalizer).
    """
    key = _key(name) if isinstance(name, str) else ""
    key = _ALIASES.get(key, key)
    if key not in _TRANSFORMERS:
        raise unknown_name("transformation.name", "transformer", name, available_transformers())
    return _TRANSFORMERS[key](options=options, stft=stft)
