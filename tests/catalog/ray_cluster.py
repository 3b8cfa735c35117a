"""A real Ray cluster of two nodes on 127.0.0.1, started and stopped by the tests, and its processes.

``ray start --head`` and a second ``ray start --address`` on this machine, each with one CPU,
under a token of their own (``RAY_AUTH_MODE=token``). Stopping kills exactly the processes of
this cluster (its GCS, raylets and everything under them), never another Ray on the machine.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ray_environment() -> dict[str, str]:
    """The environment of every process of a test cluster: token authentication with a fresh token."""
    return {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16), "RAY_USAGE_STATS_ENABLED": "0", "TF_CPP_MIN_LOG_LEVEL": "2"}


class TwoNodeCluster:
    """Start with ``start()``; ``address`` is ``127.0.0.1:PORT``; ``stop()`` leaves none of its processes."""

    def __init__(self) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.env = ray_environment()
        self.seen: dict[int, float] = {}
        # Every process of the cluster names its session under this folder (short: Ray's socket paths must fit in 107 bytes).
        self.temp_dir = tempfile.mkdtemp(prefix="unmix-ray-", dir="/tmp")

    def start(self) -> None:
        common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats", f"--temp-dir={self.temp_dir}"]
        subprocess.run([RAY, "start", "--head", f"--port={self.port}", "--include-dashboard=false", *common], env=self.env, check=True, capture_output=True, timeout=180)
        subprocess.run([RAY, "start", f"--address={self.address}", *common], env=self.env, check=True, capture_output=True, timeout=180)
        self.remember()

    def processes(self) -> list[psutil.Process]:
        """The cluster's GCS and raylets, and every process under them."""
        roots = []
        for process in psutil.process_iter(["cmdline"]):
            if any(self.temp_dir in part for part in process.info["cmdline"] or []):
                roots.append(process)
        found = {p.pid: p for p in roots}
        for root in roots:
            try:
                found.update({child.pid: child for child in root.children(recursive=True)})
            except psutil.Error:
                continue
        return list(found.values())

    def remember(self) -> None:
        for process in self.processes():
            try:
                self.seen[process.pid] = process.create_time()
            except psutil.Error:
                continue

    def alive(self) -> list[int]:
        """Processes seen in this cluster that still run."""
        alive = []
        for pid, created in self.seen.items():
            try:
                process = psutil.Process(pid)
                if abs(process.create_time() - created) < 0.01 and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.Error:
                continue
        return alive

    def stop(self) -> None:
        self.remember()
        victims = [psutil.Process(pid) for pid in self.alive()]
        for process in victims:
            try:
                process.terminate()
            except psutil.Error:
                continue
        _, left = psutil.wait_procs(victims, timeout=20)
        for process in left:
            try:
                process.kill()
            except psutil.Error:
                continue
        psutil.wait_procs(left, timeout=10)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def wait_for(condition, *, timeout: float, every: float = 0.02):
    """Poll ``condition()`` until it returns something truthy; that value (or None at the timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    return None
