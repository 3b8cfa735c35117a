"""What a path is, in words, for the messages that refuse it."""

from __future__ import annotations

from pathlib import Path


def what_is(path: Path) -> str:
    """What ``path`` is, for a message: "a folder", "a file", "a character device", ..., or "not found"."""
    path = Path(path)
    kinds = (
        (path.is_dir, "a folder"), (path.is_file, "a file"), (path.is_char_device, "a character device"),
        (path.is_block_device, "a block device"), (path.is_fifo, "a named pipe"), (path.is_socket, "a socket"),
    )  # fmt: skip
    for test, kind in kinds:
        if test():
            return kind
    return "not found" if not path.exists() else "not a file or folder"
