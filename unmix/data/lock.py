"""Advisory lock files: one with a timeout for a cache's song, one that refuses at once for a long-lived owner.

Two trainings started together into one working folder share its cache. Each
song's builder holds ``<cache file>.lock`` (``fcntl.flock``) while it decodes and
writes; the other process waits, then finds the finished file and reuses it. The
kernel drops the lock when its holder dies, so a killed run never blocks the next.
After the timeout the waiter builds the song itself (under its own temporary
name, so both writes stay whole): a song is waited for or prepared again, never
dropped. Where ``fcntl`` does not exist (Windows) there is no lock, only that.

``exclusive`` is the other kind: a long-lived owner (a web server's working folder, a run
being trained) that a second process must not share at all. It refuses at once, naming the holder it finds written
in the lock file; a holder that died left only text, which the next owner takes over.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from unmix.errors import DataError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

# Decoding one long song (an mp4 with five streams) takes a minute at most on a slow disk.
LOCK_TIMEOUT_S = 300.0
_POLL_S = 0.05
logger = logging.getLogger(__name__)


class Busy(DataError):
    """Another process holds an ``exclusive`` lock; ``holder`` is what it wrote in the lock file."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path} is held by {holder}")
        self.path, self.holder = path, holder


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


@contextlib.contextmanager
def exclusive(path: Path, *, holder: str) -> Iterator[None]:
    """Hold ``path`` locked, with ``holder`` written in it, for the ``with`` block, or refuse at once.

    The kernel releases the lock when its process dies, so the text a killed holder left is
    stale and simply replaced; a clean release empties the file. Where ``fcntl`` does not exist
    (Windows) nothing is locked.

    Args:
        path: the lock file (created if missing; kept afterwards, as deleting one would race).
        holder: who holds it, for the message another process gets, e.g. "unmix-serve (pid 12)".

    Raises:
        Busy: another live process holds it.
        OSError: the lock file cannot be created or written.
    """
    if fcntl is None:
        yield
        return
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(path, _holder_in(descriptor) or "another process") from None
        stale = _holder_in(descriptor)
        if stale:
            logger.info("%s: taking over from %s, which stopped without releasing it", path, stale)
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, holder.encode("utf-8"), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(descriptor, 0)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def _holder_in(descriptor: int) -> str:
    """The holder text of a lock file (its first line, at most 200 characters)."""
    text = os.pread(descriptor, 200, 0).decode("utf-8", "replace")
    return text.splitlines()[0].strip() if text.strip() else ""
