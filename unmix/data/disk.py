"""Recognising a full disk before and after a write, and cleaning up after one it broke.

A full disk reaches unmix in two shapes: a plain ``OSError`` with errno 28
(``ENOSPC``) from Python's own file writes, and h5py's wrapping of it, an
``OSError``/``RuntimeError`` whose text carries HDF5's error stack
("file write failed: ... errno = 28, error message = 'No space left on device'")
and sometimes no errno at all. Both must end a run with one line.

HDF5 itself does not survive every full disk: when the space runs out while it
closes a file (a few KiB left), ``H5Fclose`` crashes the process (seen: exit 139
inside ``keras.Model.save_weights``, tests/faults and a 16 MiB tmpfs), and touching
the ids of such a file afterwards crashes it too. So every h5 writer first asks
``ensure_space`` for the bytes it is about to write, and a write that failed is
only ever unlinked, never closed again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from pathlib import Path

from unmix.atomic import is_no_space, no_space_message  # noqa: F401  (re-exported: the data layer's callers)

# What HDF5 writes beyond the data (superblock, object headers, B-trees), and what is kept free
# besides: logs.txt and results.csv still get their lines, and the estimate is only that.
H5_FILE_OVERHEAD = 64 * 1024
H5_DATASET_OVERHEAD = 4 * 1024
SPARE_BYTES = 1024 * 1024


def h5_size(data_bytes: int, *, n_datasets: int) -> int:
    """The bytes an h5 file of ``n_datasets`` datasets holding ``data_bytes`` in all takes, about."""
    return int(data_bytes) + H5_FILE_OVERHEAD + H5_DATASET_OVERHEAD * int(n_datasets)


def ensure_space(path: Path, n_bytes: int) -> None:
    """Refuse to start writing ``path`` when its file system has less than ``n_bytes`` (and a spare MiB).

    Raises:
        OSError: ``ENOSPC`` naming ``path``, before anything is written.
    """
    folder = Path(path).parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:  # the folder does not exist yet, or the call is not supported: let the write tell
        return
    if free < int(n_bytes) + SPARE_BYTES:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def discard_partial_h5(path: Path) -> None:
    """Delete what a failed write left at ``path``; never raises.

    Only unlinked: an h5py handle still open on it (in a traceback frame) is left
    to be collected, because closing a file whose flush failed can crash HDF5.
    """
    with contextlib.suppress(OSError):
        Path(path).unlink()
