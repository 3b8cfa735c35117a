"""unmix.data.pool: workers that end with the process that started them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

REPOSITORY = Path(__file__).resolve().parents[2]


def _python(code: str, **options) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=REPOSITORY, **options)


def test_a_worker_whose_parent_is_already_gone_exits_at_once() -> None:
    done = subprocess.run([sys.executable, "-c", "from unmix.data.pool import exit_with_parent; exit_with_parent(2**22 + 7); print('went on')"],
                          cwd=REPOSITORY, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 1 and "went on" not in done.stdout


def test_without_prctl_the_watchdog_ends_the_worker_when_its_parent_dies(tmp_path: Path) -> None:
    """Where PR_SET_PDEATHSIG is not to be had (not Linux), a thread watches the parent's pid."""
    ready = tmp_path / "ready"
    worker = f"""
        import os, pathlib, time
        import unmix.data.pool as pool
        pool._kill_me_with_my_parent = lambda: False
        pool.exit_with_parent(os.getppid())
        pathlib.Path({str(ready)!r}).touch()
        time.sleep(120)
    """
    parent = _python(f"import subprocess, sys, time; child = subprocess.Popen([sys.executable, '-c', {textwrap.dedent(worker)!r}]); "
                     "print(child.pid, flush=True); time.sleep(120)", stdout=subprocess.PIPE, text=True)  # fmt: skip
    child = psutil.Process(int(parent.stdout.readline()))
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:  # the worker runs, its watchdog started
            time.sleep(0.05)
        assert ready.exists() and _alive(child)
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child), "the worker outlived its parent"
    finally:
        if _alive(child):
            child.kill()
        parent.kill()


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
