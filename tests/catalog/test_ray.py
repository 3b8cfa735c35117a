"""``--engine ray`` on real Ray, on 127.0.0.1 only: a two-node cluster, a killed actor, a killed driver.

Each test runs ``python3 -m unmix.catalog`` as a subprocess (the way a user runs it) and reads
only the destination's files and the process table. Ray is stopped after each test, and no
process of it may be left.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.catalog.behaviour import GOOD, check_a_first_run_and_its_reruns, done_counts, ledger, partials, receipts
from tests.catalog.conftest import write_songs
from tests.catalog.ray_cluster import TwoNodeCluster, wait_for

pytest.importorskip("ray.data", reason="the README's test command installs unmix[ray]")
pytestmark = [pytest.mark.slow]
REPOSITORY = Path(__file__).resolve().parents[2]


def catalog(argv: list[str], *, env: dict[str, str], **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "unmix.catalog", *argv, "--quiet"], env=env, cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def finish(process: subprocess.Popen, timeout: float = 600) -> tuple[int, str]:
    out, _ = process.communicate(timeout=timeout)
    return process.returncode, out


@pytest.fixture
def cluster():
    cluster = TwoNodeCluster()
    cluster.start()
    yield cluster
    cluster.stop()
    assert cluster.alive() == [], "a process of the test cluster outlived it"


def test_two_node_cluster_behaviour(cluster, songs, tmp_path, tiny_models):
    def run(argv):
        return finish(catalog(argv, env=cluster.env))

    check_a_first_run_and_its_reruns(run, songs, tmp_path / "dest", tiny_models, ["--engine", "ray", "--address", cluster.address, "--workers", "2"])
    workers = {event["worker"] for event in ledger(tmp_path / "dest") if event["event"] == "done"}
    assert len(workers) >= 2  # both actors separated songs


def test_a_killed_actor_is_restarted_and_its_song_done_once(cluster, tmp_path, tiny_models):
    source = tmp_path / "songs"
    write_songs(source, count=2, seconds=2.0, corrupt=False)
    write_songs(tmp_path / "long", count=1, seconds=600.0, corrupt=False)[0].replace(source / "long.wav")  # ~4 s to separate
    dest = tmp_path / "dest"
    driver = catalog(["run", str(source), "--output", str(dest), "--run_folder", str(tiny_models[0]), "--engine", "ray", "--address", cluster.address, "--workers", "1"], env=cluster.env)
    running = dest / ".unmix-catalog" / "running"

    def long_song_in_flight():
        for marker in running.glob("*.json") if running.is_dir() else []:
            try:
                entry = json.loads(marker.read_text())
            except (OSError, ValueError):
                continue
            if marker.stem in {song["id"] for song in json.loads((dest / ".unmix-catalog" / "plan.json").read_text())["songs"] if song["name"] == "long"}:
                return entry["pid"]
        return None

    pid = wait_for(long_song_in_flight, timeout=300)
    assert pid, "the long song never started"
    cluster.remember()
    os.kill(pid, signal.SIGKILL)
    code, out = finish(driver)
    assert code == 0, out
    assert sorted(receipts(dest)) == ["long", "song0", "song1"]
    events = [(event["event"], event.get("error")) for event in ledger(dest) if event.get("name") == "long"]
    assert events == [("retried", "its worker died during an earlier attempt"), ("done", None)]
    assert all(count == 1 for count in done_counts(dest).values()) and not partials(dest) and not list(running.glob("*.json"))


def test_a_killed_driver_loses_only_songs_in_flight_and_leaves_no_ray_behind(songs, tmp_path, tiny_models):
    """No --address: the driver's own local Ray instance; SIGKILL it mid-run, then run the same command again."""
    (songs / "corrupt.wav").unlink()
    for number in range(3):
        write_songs(tmp_path / f"more{number}", count=1, seconds=180.0, corrupt=False)[0].replace(songs / f"three-minutes-{number}.wav")
    dest = tmp_path / "dest"
    argv = ["run", str(songs), "--output", str(dest), "--run_folder", str(tiny_models[0]), "--engine", "ray", "--workers", "2"]
    tag = secrets.token_hex(8)  # every process of both runs' local instances inherits it from its driver
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "RAY_USAGE_STATS_ENABLED": "0", "CATALOG_TEST_TAG": tag}
    driver = catalog(argv, env=env)
    assert wait_for(lambda: receipts(dest), timeout=300), "no song was done before the kill"
    plan = (dest / ".unmix-catalog" / "plan.json").read_bytes()
    driver.send_signal(signal.SIGKILL)
    driver.wait(timeout=30)
    assert tagged(tag), "the killed driver's local instance should still be running (else this test checks nothing)"

    code, out = finish(catalog(argv, env=env))
    assert code == 0, out
    assert sorted(receipts(dest)) == sorted([*GOOD, "three-minutes-0", "three-minutes-1", "three-minutes-2"])
    assert all(count == 1 for count in done_counts(dest).values()) and len(done_counts(dest)) == 6
    assert not partials(dest) and (dest / ".unmix-catalog" / "plan.json").read_bytes() == plan
    assert not (dest / ".unmix-catalog" / "ray-local.json").exists()
    assert tagged(tag) == [], "processes of a local Ray instance outlived the re-run"


def tagged(tag: str) -> list[str]:
    """The processes whose environment holds ``CATALOG_TEST_TAG=tag``, as ``pid name``."""
    import psutil

    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if process.environ().get("CATALOG_TEST_TAG") == tag and process.status() != psutil.STATUS_ZOMBIE:
                found.append(f"{process.pid} {process.info['name']}")
        except psutil.Error:
            continue
    return found
