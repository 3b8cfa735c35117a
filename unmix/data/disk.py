"""Recognising a full disk, and cleaning up after a write that it broke.

A full disk reaches unmix in two shapes: a plain ``OSError`` with errno 28
(``ENOSPC``) from Python's own file writes, and h5py's wrapping of it, an
``OSError``/``RuntimeError`` whose text carries HDF5's error stack
("file write failed: ... errno = 28, error message = 'No space left on device'")
and sometimes no errno at all. Both must end a run with one line, not with that
multi-line text (or, as seen, with HDF5 erroring again and again at exit and a
segmentation fault: an h5py file left open on a failed write is closed here).
"""

from __future__ import annotations

import contextlib
import errno
import gc
from pathlib import Path

import h5py

# A quota that is full is the same situation for the user: free space, then go on.
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
_NO_SPACE_TEXT = ("No space left on device", "Disk quota exceeded", "errno = 28,", "errno = 122,")


def is_no_space(error: BaseException | None) -> bool:
    """Whether ``error`` (or an error it was raised from) says the disk or the quota is full."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in _NO_SPACE:
            return True
        if isinstance(error, (OSError, RuntimeError)) and any(text in str(error) for text in _NO_SPACE_TEXT):
            return True
        error = error.__cause__ or error.__context__
    return False


def no_space_message(path: Path | str, *, then: str) -> str:
    """The one line a full disk ends with: ``no space left on device while writing FILE; free space, then ...``."""
    return f"no space left on device while writing {path}; free space, then {then}"


def discard_partial_h5(path: Path) -> None:
    """Close every h5py handle still open on ``path`` and delete the file; never raises.

    A write that failed half-way (e.g. inside ``model.save_weights``) can leave its
    ``h5py.File`` open in a traceback frame; HDF5 would retry the failed flush when
    the handle is collected, or at exit.
    """
    gc.collect()
    target = str(Path(path).resolve())
    with contextlib.suppress(Exception):
        for file_id in h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE):
            with contextlib.suppress(Exception):
                name = file_id.name.decode("utf-8", "surrogateescape") if isinstance(file_id.name, bytes) else str(file_id.name)
                if str(Path(name).resolve()) == target:
                    h5py.File(file_id).close()
    with contextlib.suppress(OSError):
        Path(path).unlink()
