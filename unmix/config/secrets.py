"""Which configuration values are secrets, so that no file unmix writes holds one in clear.

A configuration reads a credential with ``env('HF_TOKEN')``; the value must reach the code
that uses it, but never ``configuration.jsonc``, ``environment.json`` or a file name. A
value is a secret when the variable's name says so (``TOKEN``, ``KEY``, ``SECRET`` or
``PASSWORD`` in it, whatever its prefix) or when it looks like one by itself: a URL that
carries a password (``https://user:pass@host/``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from unmix.config.env import EnvReference, references

SECRET_WORDS = ("TOKEN", "KEY", "SECRET", "PASSWORD")
REDACTED = "<redacted>"


def is_secret_name(name: str) -> bool:
    """Whether a variable's name marks its value as a credential (``UNMIX_HUB_TOKEN``, ``AWS_SECRET_ACCESS_KEY``)."""
    return any(word in name.upper() for word in SECRET_WORDS)


def looks_secret(value: Any) -> bool:
    """Whether a value is a credential whatever its variable is called: a URL with a password."""
    if not isinstance(value, str) or "@" not in value:
        return False
    try:
        return bool(urlsplit(value.strip()).password)
    except ValueError:  # not a URL (an unbalanced '[' in the host part, say)
        return False


def secret_keys(tree: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, EnvReference]:
    """``{dotted key: its env() reference}`` for each key of ``tree`` that reads a secret with env().

    ``tree`` is the configuration before its env() values are resolved. Only set, non-empty
    variables count: a default written in the configuration is no secret.
    """
    found = {}
    for key, reference in references(tree):
        value = environ.get(reference.name)
        if value and (is_secret_name(reference.name) or looks_secret(value)):
            found[key] = reference
    return found


def redacted(reference: EnvReference) -> str:
    """What a file holds instead of the secret: ``"env('NAME', null)"``, cast kept (``"int(env('X_KEY', null))"``).

    Loading it reads the variable again, so the key gets its value (and type) back where the
    variable is set, and null where it is not.
    """
    call = f"env('{reference.name}', null)"
    return f"{reference.cast}({call})" if reference.cast else call
