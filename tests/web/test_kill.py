"""A server process killed (SIGKILL) in the middle of a job loses nothing: the next start finishes it."""

from __future__ import annotations

import json
import signal

import pytest
from fastapi.testclient import TestClient

from tests.web.support import server_with_a_job_in_progress, tiny_factory, wait_for, write_song
from unmix.web.app import create_app
from unmix.web.jobs import JOB_FILE

pytestmark = pytest.mark.slow


def test_a_kill_mid_job_requeues_it_and_the_next_start_finishes_it(tmp_path):
    work = tmp_path / "work"
    with server_with_a_job_in_progress(work, write_song(tmp_path / "song.wav", seconds=30.0)) as (process, _, job_id):
        process.send_signal(signal.SIGKILL)
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
