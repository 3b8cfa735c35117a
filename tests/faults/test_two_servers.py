"""Fault injection on ``unmix-serve``: a second server on a working folder another one is serving.

Both defaulted to ``./unmix-web``; the second re-queued the first's running job and both
separated one queue, so accepted jobs ended failed with their stems deleted. The first server
here is a real process (``tests.web.support``, a slow tiny separator); the second is
``unmix-serve``'s ``main`` with ``serve.run_server`` recorded instead of run.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.web.support import free_port, get_json, server_with_a_job_in_progress, write_song
from unmix.web import serve
from unmix.web.jobs import LOCK_FILE

from .conftest import one_line

pytestmark = pytest.mark.slow


@pytest.fixture
def served(monkeypatch):
    """``serve.run_server`` replaced (uvicorn's Config would reconfigure logging): records the app it would have served, and the lock file's text meanwhile."""
    calls = {}

    def run(app, listener, **where):
        calls.update(app=app, lock=(app.state.store.root / LOCK_FILE).read_text(), listener=listener)

    monkeypatch.setattr(serve, "run_server", run)
    return calls


def test_a_second_server_is_refused_and_the_first_loses_nothing_then_a_dead_ones_lock_is_taken_over(tmp_path, served, capsys):
    work = tmp_path / "work"
    with server_with_a_job_in_progress(work, write_song(tmp_path / "song.wav", seconds=30.0)) as (first, base, job_id):
        assert serve.main(["--workingdir", str(work), "--port", str(free_port()), "--quiet"]) == 1
        out, err = capsys.readouterr()
        assert one_line(err) == f"error: working folder {work} is in use by tests.web.support (pid {first.pid}) at {base}/; stop that server, or pass --workingdir with another folder"
        assert out == "" and "app" not in served, "the refused server printed its address or served"

        deadline = time.monotonic() + 300  # a loaded CI machine: the slow tiny separator may take minutes
        while (job := get_json(f"{base}/api/jobs/{job_id}"))["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert job["state"] == "done", job["error"]
        assert sorted(p.name for p in (work / "jobs" / job_id / "stems").iterdir()) == ["instrumental.wav", "vocals.wav"]
        first.send_signal(signal.SIGKILL)
    assert f"pid {first.pid}" in (work / LOCK_FILE).read_text(), "a killed server leaves its text behind"

    assert serve.main(["--workingdir", str(work), "--port", base.rsplit(":", 1)[1]]) == 0
    assert served["lock"].startswith("unmix-serve (pid ") and served["lock"].endswith(f" at {base}/")
    assert f"taking over from tests.web.support (pid {first.pid}) at {base}/, which stopped without releasing it" in capsys.readouterr().err
    assert served["app"].state.store.get(job_id).state == "done"
    assert (work / LOCK_FILE).read_text() == "", "a clean stop releases the folder"
