"""The one registry class: every name a configuration gives (model, loss, metric, optimizer,
representation, normalizer) is looked up in a ``Registry``.

One class means one behaviour everywhere (before, five registries each had their own):

- **Key normalisation**: ``name.strip().lower()`` with ``-`` read as ``_``, so ``"L11_loss"``,
  ``"l11-loss"`` and ``" L11_LOSS "`` are one name (the seed spelled one representation
  ``mask-ibm``).
- **Registration**: ``@registry.register("name")`` records the decorated object itself;
  ``registry.add(name, entry)`` records anything else (a registry's own decorator uses it to
  store a richer entry). A name registered twice, or an alias that clashes, is a ``ValueError``
  (a programming error, not a user one).
- **Aliases**: old spellings that mean a registered name; accepted by ``get``, never listed.
- **Lookup**: ``registry.get(name)``; an unknown name (or not a string) is a one-line
  ``ConfigurationError``: ``"<key>: unknown <kind> 'x'; known: a, b; did you mean 'a'?"``.
- **Listing**: ``registry.names()``, the registered spellings, sorted.

TensorFlow-free (layer 0): the TF-free normalizers use it as much as the Keras losses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from unmix.errors import unknown_name

T = TypeVar("T")
D = TypeVar("D")

__all__ = ["Registry", "normalise"]


def normalise(name: str) -> str:
    """The key a name is registered and looked up under (strip, lower case, ``-`` as ``_``)."""
    return name.strip().lower().replace("-", "_")


class Registry(Generic[T]):
    """Names of one kind mapped to their entries.

    Args:
        kind: what the names name, in messages (e.g. ``"model"``).
        key: the configuration key the name comes from, in messages
            (e.g. ``"training.model.name"``).
    """

    def __init__(self, kind: str, *, key: str) -> None:
        self.kind = kind
        self.key = key
        self._entries: dict[str, tuple[str, T]] = {}
        self._aliases: dict[str, str] = {}

    def add(self, name: str, entry: T, *, aliases: Iterable[str] = ()) -> T:
        """Record ``entry`` under ``name`` (and ``aliases``); return ``entry``.

        Raises:
            ValueError: the name or an alias is already taken.
        """
        key = normalise(name)
        if key in self._entries or key in self._aliases:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        alias_keys = [normalise(alias) for alias in aliases]
        for alias, alias_key in zip(aliases, alias_keys):
            if alias_key in self._entries or alias_key in self._aliases or alias_key == key:
                raise ValueError(f"alias {alias!r} of {self.kind} {name!r} is registered twice")
        self._entries[key] = (name, entry)
        self._aliases.update({alias_key: key for alias_key in alias_keys})
        return entry

    def register(self, name: str, *, aliases: Iterable[str] = ()) -> Callable[[D], D]:
        """A decorator that records the decorated object under ``name`` and returns it unchanged."""

        def decorator(entry: D) -> D:
            self.add(name, entry, aliases=aliases)  # type: ignore[arg-type]
            return entry

        return decorator

    def get(self, name: object) -> T:
        """The entry registered as ``name`` (or one of its aliases), in any case and with ``-`` for ``_``.

        Raises:
            ConfigurationError: an unknown name, listing the known ones and the closest.
        """
        key = normalise(name) if isinstance(name, str) else None
        key = self._aliases.get(key, key) if key is not None else None
        if key is None or key not in self._entries:
            raise unknown_name(self.key, self.kind, name, self.names())
        return self._entries[key][1]

    def names(self) -> list[str]:
        """Every registered name in its registered spelling, sorted."""
        return sorted(name for name, _ in self._entries.values())

    def items(self) -> Iterator[tuple[str, T]]:
        """``(name, entry)`` for every registered name, sorted by name."""
        return iter(sorted(self._entries.values(), key=lambda item: item[0]))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = normalise(name)
        return self._aliases.get(key, key) in self._entries

    def __len__(self) -> int:
        return len(self._entries)
