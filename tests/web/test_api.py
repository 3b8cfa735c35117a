"""The JSON API through FastAPI's TestClient: upload, progress, result, download, queue, restart."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import soundfile
from fastapi.testclient import TestClient

from tests.web.support import SAMPLE_RATE, song_samples, tiny_factory, upload, wait_for, write_song
from unmix import audio
from unmix.errors import ConfigurationError
from unmix.web.app import create_app
from unmix.web.jobs import JOB_FILE, RUNNING


@pytest.fixture
def song(tmp_path):
    return write_song(tmp_path / "songs" / "My Song.wav", seconds=1.0)


def test_options_offer_the_built_in_models_and_the_output_formats(tmp_path):
    with TestClient(create_app(tmp_path / "work", separator_factory=tiny_factory(), models=["fast"], default_model="fast")) as client:
        options = client.get("/api/options").json()
    assert options["default_model"] == "fast" and options["formats"] == ["wav", "flac", "mp3"] and options["max_upload_mb"] == 500
    fast = next(model for model in options["models"] if model["name"] == "fast")
    assert fast["offered"] and fast["installed"] and fast["vocals_sdr"] > 0 and fast["description"]


def test_a_default_model_that_is_not_offered_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="unknown installed model 'nope'"):
        create_app(tmp_path, separator_factory=tiny_factory(), models=["fast"], default_model="nope")


def test_upload_separate_and_download_both_stems(tmp_path, song):
    with TestClient(create_app(tmp_path / "work", separator_factory=tiny_factory())) as client:
        response = upload(client, song, name="C:\\music\\../My Song.wav")
        assert response.status_code == 201, response.text
        job = response.json()
        assert job["state"] == "queued" and job["name"] == "My Song.wav" and job["duration_s"] == pytest.approx(1.0)
        job = wait_for(client, job["id"], "done", "failed")
        assert job["state"] == "done", job["error"]
        assert job["progress"] == 1.0 and set(job["stems"]) == {"vocals", "instrumental"}
        for stem, url in job["stems"].items():
            download = client.get(url)
            assert download.status_code == 200 and download.headers["content-type"] == "audio/wav"
            assert f"My%20Song%20-%20{stem}.wav" in download.headers["content-disposition"]
            path = tmp_path / f"{stem}.wav"
            path.write_bytes(download.content)
            samples, rate = audio.load(path)
            assert rate == SAMPLE_RATE and samples.shape == (2, SAMPLE_RATE)
        picture = client.get(job["spectrogram"])
        assert picture.status_code == 200 and picture.content.startswith(b"\x89PNG")
        assert [listed["id"] for listed in client.get("/api/jobs").json()["jobs"]] == [job["id"]]


@pytest.mark.parametrize("file_format", ["flac", "mp3"])
def test_the_chosen_output_format_is_written(tmp_path, song, file_format):
    with TestClient(create_app(tmp_path / "work", separator_factory=tiny_factory())) as client:
        job = wait_for(client, upload(client, song, file_format=file_format).json()["id"], "done", "failed")
        assert job["state"] == "done" and job["format"] == file_format, job["error"]
        download = client.get(job["stems"]["vocals"])
    assert download.headers["content-type"] == {"flac": "audio/flac", "mp3": "audio/mpeg"}[file_format]
    path = tmp_path / f"vocals.{file_format}"
    path.write_bytes(download.content)
    assert audio.info(path).duration_s == pytest.approx(1.0, abs=0.1)


def test_progress_rises_block_by_block_to_one(tmp_path):
    # The separator reports after each 10 s block it reads: a 30 s song reports twice on the way.
    song = write_song(tmp_path / "long.wav", seconds=30.0)
    with TestClient(create_app(tmp_path / "work", separator_factory=tiny_factory(delay_s=0.01, block_seconds=2.0))) as client:
        job_id = upload(client, song).json()["id"]
        seen = []
        while (job := client.get(f"/api/jobs/{job_id}").json())["state"] in ("queued", "running"):
            seen.append(job["progress"])
            time.sleep(0.01)
    assert job["state"] == "done" and job["progress"] == 1.0
    assert seen == sorted(seen), "progress went backwards"
    assert len({p for p in seen if 0 < p < 1}) >= 2, f"no progress between the ends: {sorted(set(seen))}"


def test_uploads_queue_behind_one_worker_and_all_finish_in_order(tmp_path, song):
    gate = threading.Event()
    with TestClient(create_app(tmp_path / "work", separator_factory=tiny_factory(gate=gate))) as client:
        ids = [upload(client, song, name=f"song {k}.wav").json()["id"] for k in range(4)]
        wait_for(client, ids[0], "running")
        jobs = {job["id"]: job for job in client.get("/api/jobs").json()["jobs"]}
        assert [jobs[i]["state"] for i in ids] == ["running", "queued", "queued", "queued"]
        assert [jobs[i]["position"] for i in ids] == [None, 1, 2, 3]
        gate.set()
        done = [wait_for(client, i, "done", "failed") for i in ids]
    assert [job["state"] for job in done] == ["done"] * 4
    intervals = [(job["started"], job["finished"]) for job in done]
    assert all(first[1] <= second[0] for first, second in zip(intervals, intervals[1:])), f"jobs overlapped: {intervals}"


def test_a_restart_keeps_finished_jobs_and_requeues_the_unfinished(tmp_path, song):
    work = tmp_path / "work"
    with TestClient(create_app(work, separator_factory=tiny_factory())) as client:
        finished = wait_for(client, upload(client, song, name="first.wav").json()["id"], "done")
    long_song = write_song(tmp_path / "long.wav", seconds=30.0)
    with TestClient(create_app(work, separator_factory=tiny_factory(delay_s=0.05, block_seconds=2.0))) as client:
        stopped = upload(client, long_song, name="second.wav").json()["id"]
        while client.get(f"/api/jobs/{stopped}").json()["progress"] == 0:
            time.sleep(0.01)
    # Stopping the server mid-job leaves what a kill leaves: job.json still says running.
    assert json.loads((work / "jobs" / stopped / JOB_FILE).read_text())["state"] == RUNNING
    interrupted_upload = work / "jobs" / ("ab" * 16)
    interrupted_upload.mkdir()
    (interrupted_upload / "upload.part").write_bytes(b"half a song")

    app = create_app(work, separator_factory=tiny_factory())
    store = app.state.store
    assert store.get(finished["id"]).state == "done"
    assert store.get(stopped).state == "queued" and store.get(stopped).progress == 0
    assert not (work / "jobs" / stopped / "stems").exists(), "partial outputs were kept"
    assert not interrupted_upload.exists()
    with TestClient(app) as client:
        again = wait_for(client, stopped, "done", "failed")
        assert again["state"] == "done", again["error"]
        assert client.get(finished["stems"]["vocals"]).status_code == 200
        assert {job["name"] for job in client.get("/api/jobs").json()["jobs"]} == {"first.wav", "second.wav"}


def test_a_separation_that_fails_shows_its_reason(tmp_path, song):
    def broken(name):
        raise ConfigurationError(f"model {name}: this test's factory always fails")

    with TestClient(create_app(tmp_path / "work", separator_factory=broken)) as client:
        job = wait_for(client, upload(client, song).json()["id"], "done", "failed")
    assert job["state"] == "failed" and job["error"] == "model fast: this test's factory always fails"
    assert job["stems"] == {} and job["spectrogram"] is None


def test_a_song_too_loud_to_separate_fails_its_job_and_is_never_done(tmp_path):
    """A float WAV at ±3.4e38 (finite) separated into NaN stems, and the page marked the job done."""
    song = tmp_path / "loud.wav"
    samples = song_samples(seconds=1.0)
    soundfile.write(song, (np.sign(samples) * 3.4e38).astype(np.float32).T, SAMPLE_RATE, subtype="FLOAT")
    with TestClient(create_app(tmp_path / "work", separator_factory=tiny_factory())) as client:
        job = wait_for(client, upload(client, song).json()["id"], "done", "failed")
    assert job["state"] == "failed" and job["stems"] == {}
    assert "is 3.4e+38, beyond ±2^31" in job["error"] and job["error"].endswith("normalise the audio's peak to 1.0 and separate again")
    assert not (tmp_path / "work" / "jobs" / job["id"] / "stems").exists()


def test_a_song_of_other_rate_and_channels_comes_back_alike(tmp_path):
    song = write_song(tmp_path / "mono.flac", seconds=0.5, sample_rate=11025, n_channels=1)
    with TestClient(create_app(tmp_path / "work", separator_factory=tiny_factory())) as client:
        job = wait_for(client, upload(client, song).json()["id"], "done", "failed")
        (tmp_path / "v.wav").write_bytes(client.get(job["stems"]["vocals"]).content)
        (tmp_path / "i.wav").write_bytes(client.get(job["stems"]["instrumental"]).content)
    vocals, rate = audio.load(tmp_path / "v.wav")
    instrumental, _ = audio.load(tmp_path / "i.wav")
    mix, _ = audio.load(song)
    assert rate == 11025 and vocals.shape == mix.shape
    np.testing.assert_allclose(vocals + instrumental, mix, atol=1e-4)


def test_an_mp3_job_of_a_surround_song_says_what_the_format_forces(tmp_path):
    """A 6-channel 96 kHz song became a stereo 48 kHz MP3 without a word on its card (issue 29, minor 5)."""
    song = write_song(tmp_path / "surround.wav", sample_rate=96000, n_channels=6)
    with TestClient(create_app(tmp_path / "work", separator_factory=tiny_factory())) as client:
        jobs = {file_format: upload(client, song, file_format=file_format).json()["id"] for file_format in ("mp3", "flac")}
        done = {file_format: wait_for(client, job_id, "done", "failed") for file_format, job_id in jobs.items()}
        assert all(job["state"] == "done" for job in done.values()), [job["error"] for job in done.values()]
        path = tmp_path / "vocals.mp3"
        path.write_bytes(client.get(done["mp3"]["stems"]["vocals"]).content)
    assert done["mp3"]["note"] == (
        "MP3 holds at most 2 channels at up to 48000 Hz: the stems are stereo (a downmix of the song's 6 channels) "
        "at 48000 Hz (the song has 96000 Hz); choose wav or flac to keep the song's"
    )
    assert (audio.info(path).sample_rate, audio.info(path).n_channels) == (48000, 2)
    assert done["flac"]["note"] is None
