"""Bad uploads get a 4xx with one clear line, and leave nothing behind; downloads stay in their job folder."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.web.support import tiny_factory, upload, wait_for, write_song
from unmix.web.app import create_app
from unmix.web.uploads import PART_FILE, receive_form
from unmix.web.validation import UploadRejected


@pytest.fixture
def song(tmp_path):
    return write_song(tmp_path / "songs" / "song.wav", seconds=1.0)


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(tmp_path / "work", separator_factory=tiny_factory(), max_upload_mb=0.1)) as client:
        yield client


def leftovers(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "work" / "jobs").iterdir())


def corrupt_files(song: Path, tmp_path: Path) -> dict[str, bytes]:
    wav = song.read_bytes()
    flac = write_song(tmp_path / "songs" / "song.flac").read_bytes()
    return {
        "wav without a data chunk": wav[:40],
        "wav with a broken fmt chunk": wav[:20] + b"\xff" * 20 + wav[40:],
        "flac cut short": flac[:200],
        "flac with scrambled frames": flac[:100] + bytes(b ^ 0x5A for b in flac[100:]),
    }


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"these are the lyrics, not the song\n" * 40, "lyrics.wav"),
        (b"\x89PNG\r\n\x1a\n" + bytes(600), "cover.mp3"),
        (bytes(range(256)) * 20, "noise.flac"),
    ],
)
def test_a_file_that_is_not_audio_is_refused_by_decoding_it_whatever_its_name(client, tmp_path, song, content, name):
    response = upload(client, song, name=name, content=content)
    assert response.status_code == 415
    assert response.json()["error"].startswith("this file is not audio that unmix can decode")
    assert client.get("/api/jobs").json()["jobs"] == [] and leftovers(tmp_path) == []


def test_audio_with_a_misleading_name_is_accepted(client, song):
    response = upload(client, song, name="notes.txt")
    assert response.status_code == 201 and response.json()["name"] == "notes.txt"
    assert wait_for(client, response.json()["id"], "done", "failed")["state"] == "done"


def test_corrupt_audio_is_refused_with_422(client, tmp_path, song):
    for what, content in corrupt_files(song, tmp_path).items():
        response = upload(client, song, content=content)
        assert response.status_code == 422, what
        assert "corrupt or truncated" in response.json()["error"], what
    assert leftovers(tmp_path) == []


def test_an_empty_file_is_refused(client, tmp_path, song):
    response = upload(client, song, content=b"")
    assert response.status_code == 400 and response.json()["error"] == "the file is empty (0 bytes); choose an audio file"
    assert leftovers(tmp_path) == []


def test_a_file_over_the_limit_is_refused_with_413(client, tmp_path):
    big = write_song(tmp_path / "big.wav", seconds=4.0)  # 256 KB of float32 at 8 kHz stereo; the limit is 0.1 MB
    response = upload(client, big)
    assert response.status_code == 413
    assert response.json()["error"] == "the file is larger than the limit of 0.1 MB; choose a smaller file or start the server with a larger --max_upload_mb"
    assert leftovers(tmp_path) == []


def test_a_declared_length_over_the_limit_is_refused_before_reading(client):
    response = client.post("/api/jobs", content=b"x", headers={"content-type": "multipart/form-data; boundary=b", "content-length": str(10**9)})
    assert response.status_code == 413


def test_the_upload_stream_stops_at_the_limit(tmp_path):
    """The body is read chunk by chunk and abandoned as soon as the file passes the limit."""
    boundary = "limit"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'.encode()
    consumed = []

    async def body():
        yield head
        for index in range(1000):  # 64 MB on offer
            consumed.append(index)
            yield bytes(64 * 1024)

    async def receive():
        return await receive_form(body(), content_type=f"multipart/form-data; boundary={boundary}", content_length=None, folder=tmp_path, max_bytes=200 * 1024)

    with pytest.raises(UploadRejected, match="larger than the limit") as caught:
        asyncio.run(receive())
    assert caught.value.status == 413
    assert len(consumed) == 4, "reading went on past the limit"
    assert (tmp_path / PART_FILE).stat().st_size <= 200 * 1024


@pytest.mark.parametrize(
    ("data", "with_file", "message"),
    [
        ({"model": "fast"}, False, "no file in the upload; choose a song"),
        ({"model": "slow"}, True, "model: unknown model 'slow'; known: "),
        ({"model": "fast", "format": "ogg"}, True, "unknown output format 'ogg'; expected one of wav, flac, mp3"),
    ],
)
def test_a_form_without_a_file_or_with_unknown_choices_is_refused(client, tmp_path, song, data, with_file, message):
    files = {"file": ("song.wav", song.read_bytes())} if with_file else {"comment": (None, b"a text field, no file")}
    response = client.post("/api/jobs", data=data, files=files)
    assert response.status_code == 400 and response.json()["error"].startswith(message)
    assert leftovers(tmp_path) == []


def test_a_body_that_is_not_a_multipart_form_is_refused(client, song):
    response = client.post("/api/jobs", content=song.read_bytes(), headers={"content-type": "audio/wav"})
    assert response.status_code == 400 and "multipart/form-data" in response.json()["error"]


def test_a_model_that_is_known_but_not_offered_says_how_to_install_it(tmp_path, song):
    with TestClient(create_app(tmp_path / "work", separator_factory=tiny_factory(), models=["fast"], default_model="fast")) as client:
        response = upload(client, song, model="spleeter-2stems")
    assert response.status_code == 400
    assert response.json()["error"] == "the model spleeter-2stems is not installed on this server: run python3 -m unmix.pretrained install spleeter-2stems and restart it"


# === Downloads never leave the job folder ===
@pytest.fixture
def finished(client, tmp_path, song):
    job = wait_for(client, upload(client, song).json()["id"], "done")
    (tmp_path / "work" / "secret.txt").write_text("SECRET outside the jobs")
    return job


def test_downloads_refuse_traversal_bad_ids_and_unknown_stems(client, tmp_path, finished):
    job_id = finished["id"]
    attempts = [
        f"/api/jobs/{job_id}/stems/..%2F..%2Fsecret.txt",
        f"/api/jobs/{job_id}/stems/%2e%2e%2f%2e%2e%2fsecret.txt",
        f"/api/jobs/{job_id}/stems/%2Fetc%2Fpasswd",
        f"/api/jobs/{job_id}/stems/job.json",
        f"/api/jobs/{job_id}/stems/input",
        f"/api/jobs/{job_id}/stems/mixture",
        "/api/jobs/..%2Fsecret.txt/stems/vocals",
        "/api/jobs/%2Fetc%2Fpasswd/stems/vocals",
        "/api/jobs/../../secret.txt",
        "/api/jobs/xyz/stems/vocals",
        f"/api/jobs/{job_id.upper()}/stems/vocals",
        f"/api/jobs/{job_id[:-1]}/stems/vocals",
        f"/api/jobs/{'0' * 32}/stems/vocals",
        "/static/..%2F..%2F..%2Fweb%2Fjobs.py",
        "/static/%2e%2e/app.py",
    ]
    for url in attempts:
        response = client.get(url)
        assert response.status_code in (400, 404), url
        assert b"SECRET" not in response.content and b'"input_file"' not in response.content and b"import" not in response.content, url
    assert client.get(f"/api/jobs/{job_id}/stems/mixture").json()["error"] == "stem 'mixture' is unknown; expected one of vocals, instrumental"
    assert client.get("/api/jobs/xyz").json()["error"] == "job id 'xyz' is not a 32-digit hexadecimal id"
    assert client.get(f"/api/jobs/{'0' * 32}").status_code == 404


def test_raw_paths_with_dot_segments_reach_no_file(client, finished):
    """The same attempts sent to the ASGI app unnormalised, as a raw HTTP client could."""
    app = client.app  # the serving app: a second one on its working folder would be refused
    paths = [
        f"/api/jobs/{finished['id']}/stems/../../../secret.txt",
        f"/api/jobs/{finished['id']}/../../secret.txt",
        "/api/jobs/../../secret.txt/stems/vocals",
        "/static/../jobs.py",
        f"/api/jobs/{finished['id']}/stems//etc/passwd",
    ]
    for path in paths:
        status, body = asyncio.run(raw_get(app, path))
        assert status in (400, 404), path
        assert b"SECRET" not in body and b"import" not in body, path


def test_a_stem_replaced_by_a_link_outside_the_folder_is_not_served(client, tmp_path, finished):
    stem = tmp_path / "work" / "jobs" / finished["id"] / "stems" / "vocals.wav"
    stem.unlink()
    os.symlink(tmp_path / "work" / "secret.txt", stem)
    response = client.get(finished["stems"]["vocals"])
    assert response.status_code == 404 and b"SECRET" not in response.content


async def raw_get(app, path: str) -> tuple[int, bytes]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
             "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 1), "server": ("testserver", 80)}  # fmt: skip
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
