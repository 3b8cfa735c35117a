"""What every command shares: TensorFlow's environment, the mapping of errors to exit codes, messages.

The flags themselves are declared in ``unmix.cli.options``.

Exit codes: 0 success, 1 runtime failure (any ``UnmixError``), 2 usage or
configuration error (``ConfigurationError``, argparse), 130 Ctrl-C, 143 SIGTERM (where the
command turns it into an exception, see ``sigterm_as_interrupt``). Errors are one line on
stderr, never a traceback (``--verbose`` adds the traceback for bug reports).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from unmix.cli.options import add_logging_flags  # noqa: F401  (re-exported: every command's --verbose/--quiet)
from unmix.errors import ConfigurationError, UnmixError
from unmix.tensorflow_import import import_tensorflow_quietly  # noqa: F401  (re-exported: every command imports TensorFlow through it)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED, EXIT_TERMINATED = 128 + signal.SIGINT, 128 + signal.SIGTERM
logger = logging.getLogger("unmix")


def set_tensorflow_log_level() -> None:
    """``TF_CPP_MIN_LOG_LEVEL=2`` (warnings of TensorFlow's C++ side hidden) unless the caller set one.

    The one place it is set: every command's ``main`` calls it first, so the console scripts
    (``unmix-train`` calls ``main`` directly), the top-level scripts and ``docker-entrypoint.py``
    all get it before TensorFlow loads.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# mallopt's parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4


def keep_freed_memory() -> bool:
    """Let the C allocator keep freed memory for the next block and the next song (glibc only).

    glibc maps every allocation over 32 MB on its own and unmaps it when it is freed, so each
    block-sized array of a separation (its spectrogram, magnitudes, estimates) is fresh memory
    whose pages are faulted in again, block after block and song after song. Served from the
    heap and never trimmed below 2 GB, the pages are reused instead. Measured with
    ``benchmarks/separate.py`` on the 2-core benchmark machine: the shipped fast model 127.5x →
    143.9x real time end to end, peak RSS for a 60-minute song 1505 → 1565 MB. ``predict`` and
    ``evaluate`` call it first: it is a process-wide setting, not a library's to make. The web
    server does not: a long-lived process would keep its peak memory between jobs.

    Returns:
        True when set; False where the C library is not glibc (nothing changes).
    """
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))


def hide_gpus() -> None:
    """Make TensorFlow see no GPU (``--cpu``); only works before TensorFlow loads."""
    os.environ["CUDA_VISIBLE_DEVICES"] = "-1"


def guarded(body: Callable[[], int], *, verbose: bool) -> int:
    """Run ``body`` and turn unmix errors into one stderr line and an exit code."""
    try:
        return body()
    except ConfigurationError as error:
        _report(error, verbose=verbose)
        return EXIT_USAGE
    except UnmixError as error:
        _report(error, verbose=verbose)
        return EXIT_FAILURE
    except Terminated:
        sys.stderr.write("terminated: what was written so far is kept\n")
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: what was written so far is kept\n")
        return EXIT_INTERRUPTED


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that it unwinds (and removes partial files) as Ctrl-C does."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` for the ``with`` block (the previous handler comes back after).

    By default SIGTERM ends the process where it stands, so every writer's partial file stays
    (32 MiB per stem of a song); raised as an exception, it goes through the same ``finally``
    and ``except BaseException`` clean-ups as Ctrl-C. Only the main thread may set a handler:
    elsewhere nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: Any) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _report(error: Exception, *, verbose: bool) -> None:
    if verbose:
        logger.debug("traceback", exc_info=error)
    sys.stderr.write(f"error: {error}\n")


