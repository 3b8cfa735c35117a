"""``env('NAME'[, default])`` values and their typed casts, parsed by a small grammar.

Configuration text is data, never code: a value is either exactly one of the
forms below or a plain string. Nothing is evaluated.

    value   := cast "(" call ")" | call
    cast    := "int" | "float" | "bool" | "str"
    call    := "env" "(" STRING [ "," literal ] ")"
    literal := STRING | NUMBER | true | false | True | False | null | None
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from unmix.config.jsonc import origin_of
from unmix.errors import ConfigurationError

_CASTS = ("int", "float", "bool", "str")
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
      | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_LOOKS_LIKE_ENV = re.compile(r"^\s*(?:(?:int|float|bool|str)\s*\(\s*)?env\s*\(")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class EnvReference:
    """A parsed ``env(…)`` value: variable name, optional default, optional cast."""

    name: str
    has_default: bool
    default: Any
    cast: str | None


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match:
            raise ValueError(f"unexpected text at {text[position:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _literal(kind: str, token: str) -> Any:
    if kind == "string":
        return token[1:-1].replace("\\'", "'").replace('\\"', '"').replace("\\\\", "\\")
    if kind == "number":
        return float(token) if any(c in token for c in ".eE") else int(token)
    if kind == "name" and token in ("true", "True"):
        return True
    if kind == "name" and token in ("false", "False"):
        return False
    if kind == "name" and token in ("null", "None"):
        return None
    raise ValueError(f"{token!r} is not a string, number, true, false or null")


def parse(text: str) -> EnvReference | None:
    """Parse ``text`` as an env reference; ``None`` when it is a plain string.

    Raises:
        ConfigurationError: text starts like ``env(`` but does not follow the grammar.
    """
    if not _LOOKS_LIKE_ENV.match(text):
        return None
    try:
        tokens = _tokens(text)
        cast = None
        if tokens[0] == ("name", tokens[0][1]) and tokens[0][1] in _CASTS:
            cast = tokens[0][1]
            if tokens[1] != ("punct", "(") or tokens[-1] != ("punct", ")"):
                raise ValueError("expected cast(env(...))")
            tokens = tokens[2:-1]
        if tokens[:2] != [("name", "env"), ("punct", "(")] or tokens[-1] != ("punct", ")"):
            raise ValueError("expected env('NAME'[, default])")
        inner = tokens[2:-1]
        if not inner or inner[0][0] != "string":
            raise ValueError("the variable name must be a quoted string")
        name = _literal(*inner[0])
        if len(inner) == 1:
            return EnvReference(name, False, None, cast)
        if len(inner) == 3 and inner[1] == ("punct", ","):
            return EnvReference(name, True, _literal(*inner[2]), cast)
        raise ValueError("expected at most one default value")
    except (ValueError, IndexError) as error:
        raise ConfigurationError(f"malformed env() value {text!r}: {error}") from None


def convert(value: Any, cast: str | None) -> Any:
    """Apply a cast to a variable's text or a default value.

    Raises:
        ValueError: the value does not convert.
    """
    if cast is None or value is None:
        return value
    if cast == "str":
        return str(value)
    if cast == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError("expected true/false, yes/no, on/off or 1/0")
    if cast == "int":
        if isinstance(value, bool):
            raise ValueError("expected an integer")
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError("expected an integer")
            return int(value)
        return int(str(value).strip())
    return float(str(value).strip()) if not isinstance(value, (int, float)) else float(value)


def load_environment(*, working_directory: Path, project_root: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables a configuration sees: ``.env`` files under the real environment.

    The working directory's ``.env`` beats the project root's, and a variable
    set in the real environment beats both. ``os.environ`` is never modified.

    Raises:
        ConfigurationError: a ``.env`` file is not text (names the file).
    """
    merged: dict[str, str] = {}
    for folder in (project_root, working_directory):
        env_file = folder / ".env"
        if env_file.is_file():
            try:
                values = dotenv_values(env_file)
            except (UnicodeDecodeError, OSError) as error:
                raise ConfigurationError(f"{env_file}: cannot read it as a .env file of NAME=value lines ({type(error).__name__}); fix or remove it") from None
            merged.update({k: v for k, v in values.items() if v is not None})
    merged.update(os.environ if environ is None else environ)
    return merged


def resolve(value: Any, *, environ: Mapping[str, str], key_path: str, origins: Mapping[str, Path]) -> Any:
    """Replace every env reference inside ``value`` (dicts and lists descended).

    Raises:
        ConfigurationError: a variable is missing without default, or does not convert;
            the message names the variable, the key path and the file.
    """
    if isinstance(value, dict):
        return {k: resolve(v, environ=environ, key_path=f"{key_path}.{k}" if key_path else k, origins=origins) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, environ=environ, key_path=f"{key_path}[{i}]", origins=origins) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    source = origin_of(key_path, origins)
    try:
        reference = parse(value)
    except ConfigurationError as error:
        raise ConfigurationError(f"{error} (at {key_path} in {source})") from None
    if reference is None:
        return value
    if reference.name in environ:
        raw: Any = environ[reference.name]
    elif reference.has_default:
        raw = reference.default
    else:
        raise ConfigurationError(
            f"environment variable {reference.name} is not set (needed by {key_path} in {source}): "
            f"set it in your environment or in a .env file"
        )
    try:
        return convert(raw, reference.cast)
    except ValueError as error:
        raise ConfigurationError(
            f"{reference.name}={raw!r} is not a valid {reference.cast} for {key_path} in {source}: {error}"
        ) from None



def references(tree: Any, key_path: str = "") -> Iterator[tuple[str, EnvReference]]:
    """Every ``(dotted key, env reference)`` in an unresolved configuration tree (dicts only)."""
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            yield from references(value, f"{key_path}.{key}" if key_path else str(key))
    elif isinstance(tree, str):
        try:
            reference = parse(tree)
        except ConfigurationError:
            return
        if reference is not None:
            yield key_path, reference


def ignored_variables(master: Mapping[str, Any], merged: Mapping[str, Any], *, environ: Mapping[str, str], origins: Mapping[str, Path]) -> list[str]:
    """One message per variable that is set but has no effect, because a child hard-codes its key.

    ``master.jsonc`` says which key each seed variable sets (``UNMIX_SAMPLE_RATE`` ->
    ``collection.sample_rate``). A child that writes a plain value there silently beat
    the variable; this names the variable, the value that won and the file to change.
    """
    messages = []
    for key, reference in references(master):
        if reference.name not in environ:
            continue
        node: Any = merged
        for part in key.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        used = [r.name for _, r in references(node)] if isinstance(node, str) else []
        if reference.name in used:
            continue
        cast = f"{reference.cast}(env('{reference.name}', {json.dumps(node)}))" if reference.cast else f"env('{reference.name}', {json.dumps(node)})"
        messages.append(
            f"{reference.name}={environ[reference.name]!r} is ignored: {key} is {json.dumps(node)}, set by "
            f"{origin_of(key, origins)}; write \"{cast}\" there to honour the variable"
        )
    return messages
