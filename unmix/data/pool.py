"""A process pool whose workers die with the process that started them.

A ``ProcessPoolExecutor`` worker notices its parent is gone only when it next reads the call
queue, so after a SIGKILL of ``train.py --prepare_only`` each worker went on decoding songs for
minutes as an orphan. On Linux each worker asks the kernel for SIGKILL when its parent dies
(``prctl(PR_SET_PDEATHSIG)``); elsewhere a daemon thread watches the parent's pid.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_INTERVAL_S = 1.0


def process_pool(workers: int) -> ProcessPoolExecutor:
    """``workers`` ``spawn`` processes (never a fork of a parent that loaded TensorFlow) that exit with this process."""
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=exit_with_parent, initargs=(os.getpid(),)
    )


def exit_with_parent(parent_pid: int) -> None:
    """Pool initializer: end this worker when ``parent_pid`` ends.

    Args:
        parent_pid: the pid of the process that made the pool; if it is already gone (it died
            while this worker started), the worker exits at once.
    """
    if not (sys.platform.startswith("linux") and _kill_me_with_my_parent()):
        threading.Thread(target=_watch, args=(parent_pid,), name="exit-with-parent", daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


def _kill_me_with_my_parent() -> bool:
    """Ask Linux for SIGKILL when the parent dies; False where prctl is not to be had."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(WATCH_INTERVAL_S)
    os._exit(1)
