"""The job store: atomic job.json, ids, paths inside the folder, and repair after a kill."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from unmix.errors import DataError
from unmix.web.jobs import JOB_FILE, SPECTROGRAM, STEMS_FOLDER, Job, JobStore, is_job_id


def new_job(store: JobStore, **fields) -> Job:
    job_id, folder = store.new_id()
    (folder / "input.wav").write_bytes(b"RIFF")
    return store.add(Job(id=job_id, name="song.wav", model="fast", file_format="wav", input_file="input.wav", created=time.time(), **fields))


def test_ids_are_uuid4_hex_and_nothing_else():
    store_id = "0123456789abcdef0123456789abcdef"
    assert is_job_id(store_id)
    for bad in ["", "xyz", store_id.upper(), store_id[:-1], store_id + "0", "../" + store_id[3:], "/" + store_id[1:], store_id[:-1] + "\n"]:
        assert not is_job_id(bad), bad


def test_job_json_is_written_through_a_temporary_file_in_the_same_folder(tmp_path, monkeypatch):
    store = JobStore(tmp_path)
    job = new_job(store)
    folder = store.folder(job.id)
    assert json.loads((folder / JOB_FILE).read_text())["state"] == "queued"
    renames = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda source, target: (renames.append((Path(source), Path(target))), real_replace(source, target)))
    store.update(job.id, state="running")
    assert json.loads((folder / JOB_FILE).read_text())["state"] == "running"
    assert [(source.parent, target) for source, target in renames] == [(folder, folder / JOB_FILE)]
    assert renames[0][0].name != JOB_FILE
    assert sorted(p.name for p in folder.iterdir()) == ["input.wav", JOB_FILE]


def test_progress_updates_are_kept_in_memory_and_written_at_most_every_second(tmp_path):
    store = JobStore(tmp_path)
    job = new_job(store)
    store.update(job.id, state="running")
    store.update(job.id, persist=False, progress=0.5)
    assert store.get(job.id).progress == 0.5
    assert json.loads((store.folder(job.id) / JOB_FILE).read_text())["progress"] == 0.0


def test_the_queue_runs_the_oldest_first(tmp_path):
    store = JobStore(tmp_path)
    first, second = new_job(store), new_job(store)
    store.update(first.id, state="running")
    assert [job.id for job in store.queued()] == [second.id]
    assert [job.id for job in store.all()] == [second.id, first.id]


def test_opening_repairs_what_a_kill_left(tmp_path):
    store = JobStore(tmp_path)
    done = new_job(store)
    store.update(done.id, state="done", progress=1.0, stems={"vocals": "vocals.wav"})
    (store.folder(done.id) / STEMS_FOLDER).mkdir()
    (store.folder(done.id) / STEMS_FOLDER / "vocals.wav").write_bytes(b"kept")
    running = new_job(store)
    store.update(running.id, state="running", progress=0.6, started=time.time())
    (store.folder(running.id) / STEMS_FOLDER).mkdir()
    (store.folder(running.id) / STEMS_FOLDER / ".vocals.wav.1234.partial").write_bytes(b"half")
    (store.folder(running.id) / SPECTROGRAM).write_bytes(b"half")
    (store.folder(running.id) / (JOB_FILE + ".tmp")).write_text("{ half a json")
    upload_id, upload_folder = store.new_id()
    (upload_folder / "upload.part").write_bytes(b"half an upload")
    (tmp_path / "jobs" / "not-a-job").mkdir()
    store.close()  # the server is gone (the kernel releases a killed server's lock the same way)

    reopened = JobStore(tmp_path)
    assert reopened.get(done.id).state == "done" and (reopened.folder(done.id) / STEMS_FOLDER / "vocals.wav").read_bytes() == b"kept"
    again = reopened.get(running.id)
    assert again.state == "queued" and again.progress == 0.0 and again.started is None
    assert not (reopened.folder(running.id) / STEMS_FOLDER).exists() and not (reopened.folder(running.id) / SPECTROGRAM).exists()
    assert json.loads((reopened.folder(running.id) / JOB_FILE).read_text())["state"] == "queued"
    assert reopened.get(upload_id) is None and not upload_folder.exists()
    assert (tmp_path / "jobs" / "not-a-job").is_dir(), "only folders with the server's id shape are touched"


def test_an_unreadable_job_json_is_skipped_not_fatal(tmp_path, caplog):
    store = JobStore(tmp_path)
    job = new_job(store)
    (store.folder(job.id) / JOB_FILE).write_text("not json")
    store.close()
    assert JobStore(tmp_path).get(job.id) is None
    assert "unreadable job.json" in caplog.text


def test_paths_are_checked_to_stay_inside_the_job_folder(tmp_path):
    store = JobStore(tmp_path)
    job = store.update(new_job(store).id, stems={"vocals": "../../../../etc/passwd"})
    with pytest.raises(DataError, match="outside the job folder"):
        store.stem_file(job, "vocals")
    with pytest.raises(DataError, match="stem 'input' is unknown"):
        store.stem_file(job, "input")
    with pytest.raises(DataError, match="has no instrumental yet"):
        store.stem_file(job, "instrumental")
    with pytest.raises(DataError, match="not a 32-digit hexadecimal id"):
        store.folder("../jobs")


def test_an_unwritable_working_folder_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(DataError, match="cannot create it"):
        JobStore(tmp_path / "file" / "work")
