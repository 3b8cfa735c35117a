"""A server process killed (SIGKILL) in the middle of a job loses nothing: the next start finishes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.web.support import free_port, tiny_factory, wait_for, write_song
from unmix.web.app import create_app
from unmix.web.jobs import JOB_FILE

REPOSITORY = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def post_song(url: str, song: Path) -> dict:
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nfast\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{song.name}"\r\n\r\n'
    ).encode() + song.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_a_kill_mid_job_requeues_it_and_the_next_start_finishes_it(tmp_path):
    work = tmp_path / "work"
    song = write_song(tmp_path / "song.wav", seconds=30.0)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-m", "tests.web.support", str(work), str(port)], cwd=REPOSITORY, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get_json(f"{base}/api/jobs")
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        job_id = post_song(f"{base}/api/jobs", song)["id"]
        while get_json(f"{base}/api/jobs/{job_id}")["progress"] == 0:
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    folder = work / "jobs" / job_id
    assert json.loads((folder / JOB_FILE).read_text())["state"] == "running"
    assert (folder / "stems").is_dir(), "the killed separation had started writing"

    app = create_app(work, separator_factory=tiny_factory())
    assert app.state.store.get(job_id).state == "queued"
    assert not (folder / "stems").exists(), "the killed job's partial stems were kept"
    with TestClient(app) as client:
        job = wait_for(client, job_id, "done", "failed")
        assert job["state"] == "done" and job["progress"] == 1.0, job["error"]
        assert client.get(job["stems"]["vocals"]).status_code == 200
