"""The transformer registry: every transformer registers itself here by decorator.

``transformation.name`` picks a transformer. Names are looked up as every registry does
(``unmix.registry``: any case, ``-`` read as ``_``; the seed spelled one ``mask-ibm``); an
unknown name is a ``ConfigurationError`` that lists the known names and the closest match.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from unmix.config.schema import TransformOptions
from unmix.dsp.stft import StftOptions
from unmix.registry import Registry

if TYPE_CHECKING:
    from unmix.pipeline.transformers.base import Transformer

T = TypeVar("T", bound=type)

# The one decorator-filled registry of transformer classes.
TRANSFORMERS: Registry[type] = Registry("transformer", key="transformation.name")

# Seed names that now mean an existing transformer: the seed's "_hann" variant only
# differed in its overlap-add, which unmix.separation now does for every transformer.
_ALIASES = {"train_window_predict_mask": ("train_window_predict_mask_hann",)}


def register_transformer(name: str) -> Callable[[T], T]:
    """Register a ``Transformer`` subclass under ``name`` (any case, ``-`` for ``_``).

    Args:
        name: the value of ``transformation.name`` that selects the class.

    Returns:
        A class decorator that records the class and returns it unchanged.

    Raises:
        ValueError: when the name is registered twice (a programming error).
    """
    if name in TRANSFORMERS:
        raise ValueError(f"transformer {name!r} is registered twice")
    return TRANSFORMERS.register(name, aliases=_ALIASES.get(name, ()))


def available_transformers() -> list[str]:
    """The registered transformer names, sorted."""
    return TRANSFORMERS.names()


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
    return TRANSFORMERS.get(name)(options=options, stft=stft)
