"""A SIGKILLed ``train.py --prepare_only`` takes its pool workers with it (issue 29, minor 9).

Its ``spawn`` workers hold both ends of the pool's call queue, so they never saw their parent
die: each one finished the song it was building, then waited on the queue forever as an orphan.
Here the test holds every song's cache lock, so the workers are deterministically busy (waiting
for the lock) when their parent is killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from unmix.data.cache import cache_path
from unmix.data.layouts import discover
from unmix.data.lock import file_lock, lock_path

SETTLE_S = 10.0  # the workers die at once; this only bounds a slow machine


def _workers_of(process: psutil.Process, count: int, *, within_s: float) -> list[psutil.Process]:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        workers = [child for child in process.children() if "spawn_main" in " ".join(child.cmdline())]
        if len(workers) >= count:
            return workers
        time.sleep(0.1)
    raise AssertionError(f"the preparation started {len(workers)} worker(s) within {within_s} s, not {count}")


def _alive(worker: psutil.Process) -> bool:
    try:
        return worker.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_sigkill_of_prepare_only_leaves_no_worker_running(tmp_path: Path, training_environment: Path, kit) -> None:
    configuration = kit.child_configuration(tmp_path / "c.jsonc", {"training": {"workers": 2}})
    cache = tmp_path / "work" / "cache" / "sr11025-ch2"
    cache.mkdir(parents=True)
    songs = discover(training_environment).songs
    environ = {**os.environ, "PYTHONPATH": str(kit.REPOSITORY), "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, str(kit.REPOSITORY / "train.py"), "--configuration", str(configuration),
               "--workingdir", str(tmp_path / "work"), "--prepare_only", "--quiet"]  # fmt: skip
    with contextlib.ExitStack() as held:
        for song in songs:  # every worker waits for its song's lock: busy, deterministically
            assert held.enter_context(file_lock(lock_path(cache_path(cache, song.id)), timeout_s=1))
        preparer = subprocess.Popen(command, cwd=tmp_path, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        workers: list[psutil.Process] = []
        try:
            workers = _workers_of(psutil.Process(preparer.pid), 2, within_s=60)
            preparer.send_signal(signal.SIGKILL)
            preparer.wait(timeout=10)
            deadline = time.monotonic() + SETTLE_S
            while any(_alive(w) for w in workers) and time.monotonic() < deadline:
                time.sleep(0.1)
            orphans = [w.pid for w in workers if _alive(w)]
        finally:
            for worker in workers:
                with contextlib.suppress(psutil.NoSuchProcess):
                    worker.kill()
            preparer.kill()
    assert not orphans, f"pool workers {orphans} outlived their killed parent"
