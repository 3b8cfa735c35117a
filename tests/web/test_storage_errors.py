"""The page's answers when the server's working folder fails (issue 29, minor 7).

A full disk during an upload, a ``job.json`` that cannot be written and a spectrogram replaced by
a link out of its job folder were answered with HTTP 500 and a traceback; now each is one JSON
line, nothing of a refused upload is kept, and the worker goes on with the next job.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import unmix.web.jobs
from tests.web.support import tiny_factory, upload, wait_for, write_song
from unmix.web.app import create_app
from unmix.web.jobs import JOB_FILE
from unmix.web.uploads import PART_FILE


@pytest.fixture
def song(tmp_path):
    return write_song(tmp_path / "songs" / "song.wav", seconds=1.0)


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(tmp_path / "work", separator_factory=tiny_factory())) as client:
        yield client


def one_line_error(response) -> str:
    assert "Traceback" not in response.text
    message = response.json()["error"]
    assert "\n" not in message
    return message


def job_folders(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "work" / "jobs").iterdir())


class FullDisk:
    """A file whose writes fail as on a full disk."""

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def close(self) -> None:
        pass


def test_a_full_disk_during_an_upload_is_one_json_line_and_keeps_nothing(client, tmp_path, song, monkeypatch):
    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda path, *args, **kwargs: FullDisk() if path.name == PART_FILE else real_open(path, *args, **kwargs))
    response = upload(client, song)
    assert response.status_code == 507
    assert one_line_error(response) == "the server's disk is full: nothing was kept; free space in the server's working folder, then send it again"
    assert job_folders(tmp_path) == [] and client.get("/api/jobs").json()["jobs"] == []
    monkeypatch.undo()
    assert wait_for(client, upload(client, song).json()["id"], "done")["state"] == "done"  # space again: it serves on


def test_a_job_json_that_cannot_be_written_refuses_the_upload_in_one_json_line(client, tmp_path, song, monkeypatch):
    real_write = unmix.web.jobs.atomic_write_text

    def denied(path, text):
        if Path(path).name == JOB_FILE:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        real_write(path, text)

    monkeypatch.setattr(unmix.web.jobs, "atomic_write_text", denied)
    response = upload(client, song)
    assert response.status_code == 500
    assert one_line_error(response) == "the server cannot write its working folder (Permission denied): nothing was kept; the server's log names the file"
    assert job_folders(tmp_path) == [] and client.get("/api/jobs").json()["jobs"] == []


def test_a_job_json_that_cannot_be_written_while_a_job_runs_stops_neither_the_job_nor_the_worker(client, tmp_path, song, monkeypatch, caplog):
    def denied(path, text):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    first = upload(client, song).json()
    monkeypatch.setattr(unmix.web.jobs, "atomic_write_text", denied)
    assert wait_for(client, first["id"], "done", "failed")["state"] == "done"
    assert f"job {first['id']}: cannot write its job.json" in caplog.text
    monkeypatch.undo()
    second = upload(client, song).json()
    assert wait_for(client, second["id"], "done", "failed")["state"] == "done"  # the worker is alive
    assert json.loads((tmp_path / "work" / "jobs" / second["id"] / JOB_FILE).read_text())["state"] == "done"


def test_a_spectrogram_linked_out_of_its_job_folder_is_a_json_404(client, tmp_path, song):
    job = wait_for(client, upload(client, song).json()["id"], "done")
    (tmp_path / "work" / "secret.png").write_bytes(b"SECRET")
    picture = tmp_path / "work" / "jobs" / job["id"] / "spectrogram.png"
    picture.unlink()
    picture.symlink_to(tmp_path / "work" / "secret.png")
    response = client.get(job["spectrogram"])
    assert response.status_code == 404 and b"SECRET" not in response.content
    assert one_line_error(response) == f"job {job['id']}: spectrogram.png is outside the job folder"
