"""The one error hierarchy of unmix.

Library code raises these; only ``unmix.cli`` turns them into exit codes
(``ConfigurationError`` -> 2, any other ``UnmixError`` -> 1). A message is one
line that says where (file, key path or song id), what was received, what was
expected and how to fix it.

``unknown_name`` and ``did_you_mean`` give every registry and key check the same
"unknown name" message, so a typo reads alike wherever it is made.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UnmixError(Exception):
    """Base class of every error unmix raises on purpose."""


class ConfigurationError(UnmixError):
    """A configuration file, key, value or command-line usage is wrong."""


class AudioError(UnmixError):
    """An audio file cannot be read or written, or a decoder is missing."""


def first_line(error: BaseException, *, limit: int = 200) -> str:
    """The first line of an exception's message (at most ``limit`` characters), or its type's name."""
    text = str(error).strip()
    return text.splitlines()[0][:limit] if text else type(error).__name__


class DataError(UnmixError):
    """A collection, song or cache is unusable."""


class ModelError(UnmixError):
    """A model cannot be built, loaded or saved."""


class TrainingError(UnmixError):
    """Training could not go on (e.g. the loss became NaN); what was written is kept."""


def _closest(name: object, known: list[str]) -> str | None:
    """The known name nearest to ``name`` ignoring case, in its original spelling, or None."""
    by_lower: dict[str, str] = {}
    for candidate in known:
        by_lower.setdefault(candidate.lower(), candidate)
    close = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1)
    return by_lower[close[0]] if close else None


def did_you_mean(name: object, known: Iterable[str]) -> str:
    """The "did you mean" tail of a message, for callers that word the rest themselves.

    Args:
        name: what was received (any object; compared as ``str(name)``, ignoring case).
        known: the accepted names.

    Returns:
        ``"; did you mean 'x'?"`` with the closest known name in its original spelling,
        or ``""`` when none is close.
    """
    closest = _closest(name, [str(candidate) for candidate in known])
    return f"; did you mean {closest!r}?" if closest is not None else ""


def unknown_name(key: str, kind: str, name: object, known: Iterable[str]) -> ConfigurationError:
    """The error for a name that no registry or key set knows; the caller raises it.

    The message is one line:
    ``"{key}: unknown {kind} {name!r}; known: a, b, c; did you mean 'b'?"``; the
    "did you mean" part appears only when a known name is close (ignoring case).

    Args:
        key: where the name was given, e.g. ``"training.model.name"`` or ``"metric"``.
        kind: what the name names, e.g. ``"model"``.
        name: what was received (may be any object, e.g. None).
        known: the accepted names, listed in the order given.

    Returns:
        A ``ConfigurationError`` (not raised).
    """
    names = [str(candidate) for candidate in known]
    listed = ", ".join(names) if names else "(none)"
    return ConfigurationError(f"{key}: unknown {kind} {name!r}; known: {listed}{did_you_mean(name, names)}")
