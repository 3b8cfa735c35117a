"""Model windows at a block boundary, run once for the two blocks that both need them.

A block of the streaming layer runs, besides its own windows, a window of context on each side
of its core (``streaming.block_layout``): the window after one block's core is also run by the
next block, and the window before the next block's core by the one before it. On a 3-minute song
in two blocks that is 18 network windows for 16 (both built-in models): the network, most of a
separation's time, ran 11 % more than the song needs. Those windows read the very same frames of
the song in both blocks, so one block's outputs serve the other.

The first block to reach a shared window computes it; the other takes its outputs, waiting for
them if its neighbour (on another worker thread) has not finished them yet. A block computes
every window it claimed before it waits for any it did not, so two blocks never wait on each
other. Each shared window has exactly two users, and its entry is dropped when the second takes
it: memory holds a boundary's few windows at most.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

#: ``(channel group, first frame of the window in the song)``.
Key = tuple[int, int]
Outputs = Mapping[str, np.ndarray]


class SharedWindows:
    """The boundary windows of one song's blocks (one instance per separation; thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ranges: list[tuple[int, int]] = []
        self._entries: dict[Key, Future[Outputs]] = {}

    def add_boundary(self, first: int, stop: int) -> None:
        """Windows starting at song frames ``first <= start < stop`` are run by the blocks on both sides of a boundary."""
        with self._lock:
            self._ranges.append((int(first), int(stop)))

    def claim(self, key: Key) -> tuple[bool, Future[Outputs]] | None:
        """None: the window is a block's own. Else ``(True, future)``: compute it and set the future's result (or exception); ``(False, future)``: the other block does, take its result."""
        with self._lock:
            start = key[1]
            if not any(first <= start < stop for first, stop in self._ranges):
                return None
            taken = self._entries.pop(key, None)
            if taken is not None:
                return False, taken
            future: Future[Outputs] = Future()
            self._entries[key] = future
            return True, future

    def __len__(self) -> int:
        """Windows published or claimed but not yet taken by their second block."""
        with self._lock:
            return len(self._entries)


@dataclass(frozen=True)
class BlockShare:
    """What one block's kernel call needs: the song's shared windows and the song frame of the block's frame 0."""

    windows: SharedWindows
    offset: int

    def claim(self, group: int, start: int) -> tuple[bool, Future[Outputs]] | None:
        """:meth:`SharedWindows.claim` of the window starting at the block's frame ``start``."""
        return self.windows.claim((group, self.offset + int(start)))
