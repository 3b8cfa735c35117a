"""Writing a file so that a reader sees the old content or the new one, never half of either.

The one atomic writer of unmix: run-folder text (configuration, environment, best.json),
checkpoints, the resume backup, the final exports, the preparation cache, separated audio,
plots and the web jobs' state all go through ``atomic_path``. The content is written to a
temporary name beside the target, unique to the process and the call
(``.partial-<pid>-<random>-<name>``: the name's suffix stays, so Keras, HDF5, matplotlib and
soundfile still pick the format from it, and two processes writing one file never share a
temporary), flushed to the disk (fsync), and renamed over the target. A failure removes the
temporary; a full disk (or quota) becomes ``OSError(ENOSPC)`` whose ``filename`` is the target,
which each entry point turns into the one line ``no_space_message`` words.

Layer 0 (STYLE §3): the standard library only, so every layer may use it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

PREFIX = ".partial-"
# ".partial-<pid>-<8 hex>-<name>": what temporary_path makes.
_TEMPORARY = re.compile(r"\.partial-(?P<pid>\d+)-[0-9a-f]{8}-(?P<name>.+)")
# A quota that is full is the same situation for the user: free space, then go on.
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
# h5py wraps the errno in HDF5's error stack text, sometimes with no errno of its own.
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


def temporary_path(path: Path) -> Path:
    """A temporary name beside ``path`` that no other process (nor another call) uses."""
    return path.with_name(f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{path.name}")


def target_of(temporary: Path) -> Path | None:
    """The file a ``temporary_path`` name stands for; None for any other name."""
    match = _TEMPORARY.fullmatch(Path(temporary).name)
    return Path(temporary).with_name(match.group("name")) if match else None


def writer_pid(temporary: Path) -> int | None:
    """The process id in a ``temporary_path`` name; None for any other name."""
    match = _TEMPORARY.fullmatch(Path(temporary).name)
    return int(match.group("pid")) if match else None


def temporaries_of(path: Path) -> list[Path]:
    """The temporaries of ``path`` that exist now (of any process)."""
    return [p for p in Path(path).parent.glob(f"{PREFIX}*-{glob_escape(Path(path).name)}") if target_of(p) == Path(path)]


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (one that belongs to another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but is not ours to signal
        return True
    return True


def remove_dead_temporaries(folder: Path) -> list[Path]:
    """Delete the temporaries in ``folder`` whose writer is gone: a SIGKILL leaves them, and nothing else would.

    A temporary names its process; while that process runs, its temporary is kept.

    Returns:
        The files removed.
    """
    removed = []
    for temporary in Path(folder).glob(f"{PREFIX}*"):
        pid = writer_pid(temporary)
        if pid is not None and pid != os.getpid() and not process_alive(pid):
            with contextlib.suppress(FileNotFoundError):  # another run removed it first
                temporary.unlink()
                removed.append(temporary)
    return removed


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters made literal."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _fsync(path: Path, *, folder: bool = False) -> None:
    """Flush ``path``'s data (or a folder's entries) to the disk; a folder that cannot be is skipped."""
    try:
        handle = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if folder else 0))
    except OSError:
        if folder:
            return
        raise
    try:
        os.fsync(handle)
    except OSError:
        if not folder:  # some file systems refuse fsync on folders: the rename is done all the same
            raise
    finally:
        os.close(handle)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, discard: Callable[[Path], None] = _unlink) -> Iterator[Path]:
    """Yield a temporary path to write; when the block ends, fsync it and rename it onto ``path``.

    The parent folder is created. When the block (or the rename) raises, the temporary is
    removed with ``discard`` (h5 writers pass one that never reopens a file HDF5 failed on)
    and the error goes on, except a full disk: that becomes ``OSError(ENOSPC)`` naming ``path``
    (a failed ``write`` names no file by itself, HDF5 names the temporary).

    Raises:
        OSError: the write failed; ``path`` is untouched and no temporary is left.
    """
    path = Path(path)
    temporary = temporary_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield temporary
        _fsync(temporary)
        os.replace(temporary, path)
    except BaseException as error:
        discard(temporary)
        if isinstance(error, (OSError, RuntimeError)) and is_no_space(error):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) from error
        raise
    _fsync(path.parent, folder=True)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see ``atomic_path``).

    Raises:
        OSError: the write failed; on a full disk ``ENOSPC`` naming ``path``.
    """
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
