"""The representation registry: every representation registers itself here by decorator.

``transformation.name`` picks a representation. Names are looked up as every registry does
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
    from unmix.pipeline.representations.base import Representation

T = TypeVar("T", bound=type)

# The one decorator-filled registry of representation classes.
REPRESENTATIONS: Registry[type] = Registry("representation", key="transformation.name")

# Seed names that now mean an existing representation: the seed's "_hann" variant only
# differed in its overlap-add, which unmix.separation now does for every representation.
_ALIASES = {"train_window_predict_mask": ("train_window_predict_mask_hann",)}


def register_representation(name: str) -> Callable[[T], T]:
    """Register a ``Representation`` subclass under ``name`` (any case, ``-`` for ``_``).

    Args:
        name: the value of ``transformation.name`` that selects the class.

    Returns:
        A class decorator that records the class and returns it unchanged.

    Raises:
        ValueError: when the name is registered twice (a programming error; ``Registry.add`` says so).
    """
    return REPRESENTATIONS.register(name, aliases=_ALIASES.get(name, ()))


def available_representations() -> list[str]:
    """The registered representation names, sorted."""
    return REPRESENTATIONS.names()


def get_representation(name: str, *, options: TransformOptions, stft: StftOptions) -> Representation:
    """Build the representation that ``transformation.name`` names.

    Args:
        name: e.g. ``"train_window_predict_mask"`` (any case; ``-`` works as ``_``).
        options: ``transformation.options`` (size, step, normalizer, ...).
        stft: the STFT parameters (their bin count is the model's height).

    Returns:
        The representation.

    Raises:
        ConfigurationError: for an unknown name, or options the representation rejects
            (size, step, normalizer).
    """
    return REPRESENTATIONS.get(name)(options=options, stft=stft)
