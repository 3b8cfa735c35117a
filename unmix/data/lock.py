"""An advisory lock file with a timeout, so two processes never prepare one song at once.

Two trainings started together into one working folder share its cache. Each
song's builder holds ``<cache file>.lock`` (``fcntl.flock``) while it decodes and
writes; the other process waits, then finds the finished file and reuses it. The
kernel drops the lock when its holder dies, so a killed run never blocks the next.
After the timeout the waiter builds the song itself (under its own temporary
name, so both writes stay whole): a song is waited for or prepared again, never
dropped. Where ``fcntl`` does not exist (Windows) there is no lock, only that.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

# Decoding one long song (an mp4 with five streams) takes a minute at most on a slow disk.
LOCK_TIMEOUT_S = 300.0
_POLL_S = 0.05


def lock_path(path: Path) -> Path:
    """The lock file of a cache file: ``<name>.lock`` beside it (kept: deleting one would race)."""
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def file_lock(path: Path, *, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` for the ``with`` block.

    Args:
        path: the lock file (created if missing).
        timeout_s: how long to wait for another holder.

    Yields:
        True when the lock is held; False when it could not be had within
        ``timeout_s``, or the lock file cannot be made, or locking is not
        available: the block runs anyway.
    """
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644) if fcntl is not None else None
    except OSError:  # a read-only or full folder: the write that follows reports it
        descriptor = None
    if descriptor is None:
        yield False
        return
    try:
        deadline = time.monotonic() + timeout_s
        held = False
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
                time.sleep(_POLL_S)
        try:
            yield held
        finally:
            if held:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
