"""What the web tests share: a tiny NumPy separator (no model is loaded), short generated songs,
an upload helper and a wait for a job's state.

Also a server entry point, ``python -m tests.web.support FOLDER PORT``, for the test that kills a
real server process in the middle of a job.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from unmix import audio
from unmix.config.schema import TransformOptions
from unmix.dsp.stft import StftOptions
from unmix.pipeline.representations import get_representation
from unmix.separation.separator import Separator

REPOSITORY = Path(__file__).resolve().parents[2]
STFT = StftOptions(n_fft=256, hop_length=64)
SAMPLE_RATE = 8000


def tiny_separator(*, delay_s: float = 0.0, gate: threading.Event | None = None, block_seconds: float = 30.0) -> Separator:
    """A separator whose "model" answers a mask of 0.5, optionally slowly or behind a gate."""
    representation = get_representation("train_window_predict_mask", options=TransformOptions(size=16, step=16), stft=STFT)

    def predict(batch: np.ndarray) -> np.ndarray:
        if gate is not None:
            gate.wait(30)
        if delay_s:
            time.sleep(delay_s)
        return np.full_like(batch, 0.5)

    return Separator(predict, representation=representation, stft_options=STFT, sample_rate=SAMPLE_RATE, n_channels=2, batch_size=4, block_seconds=block_seconds, workers=1)


def tiny_factory(**options):
    """A separator factory (model name -> separator) that builds :func:`tiny_separator` for any name."""
    return lambda name: tiny_separator(**options)


def song_samples(*, seconds: float = 1.0, sample_rate: int = SAMPLE_RATE, n_channels: int = 2) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return np.stack([0.3 * np.sin(2 * np.pi * 330 * t + k) + 0.05 * np.sin(2 * np.pi * 1200 * t) for k in range(n_channels)]).astype(np.float32)


def write_song(path: Path, *, seconds: float = 1.0, sample_rate: int = SAMPLE_RATE, n_channels: int = 2) -> Path:
    """A short stereo song (two tones) at ``path``; the format follows the extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    audio.save(path, song_samples(seconds=seconds, sample_rate=sample_rate, n_channels=n_channels), sample_rate)
    return path


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def upload(client, path: Path, *, name: str | None = None, model: str = "fast", file_format: str = "wav", content: bytes | None = None):
    """POST a song as the page does (multipart: model, format, file); returns the response."""
    data = path.read_bytes() if content is None else content
    return client.post("/api/jobs", data={"model": model, "format": file_format}, files={"file": (name or path.name, data, "application/octet-stream")})


def wait_for(client, job_id: str, *states: str, timeout_s: float = 60.0) -> dict:
    """Poll a job until it reaches one of ``states``; returns it (fails the test on timeout)."""
    deadline = time.monotonic() + timeout_s
    while True:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} is still {job['state']} after {timeout_s} s, expected {states}")
        time.sleep(0.02)


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def post_song(url: str, song: Path) -> dict:
    """POST a song to a real server's ``/api/jobs`` (multipart, standard library only)."""
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nfast\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{song.name}"\r\n\r\n'
    ).encode() + song.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def start_server(folder: Path, port: int, *, timeout_s: float = 60.0) -> subprocess.Popen:
    """A real server process (:func:`main`) on ``folder``, returned once it answers."""
    process = subprocess.Popen([sys.executable, "-m", "tests.web.support", str(folder), str(port)], cwd=REPOSITORY, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            get_json(f"http://127.0.0.1:{port}/api/jobs")
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError("the server did not start") from None
            time.sleep(0.1)


@contextlib.contextmanager
def server_with_a_job_in_progress(folder: Path, song: Path) -> Iterator[tuple[subprocess.Popen, str, str]]:
    """A real server on ``folder`` separating ``song``: ``(process, base url, job id)`` once the
    job's first block is done; the process is killed when the block ends, if it still runs."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_server(folder, port)
    try:
        job_id = post_song(f"{base}/api/jobs", song)["id"]
        deadline = time.monotonic() + 60
        while get_json(f"{base}/api/jobs/{job_id}")["progress"] == 0:
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.02)
        yield process, base, job_id
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def main(argv: list[str]) -> int:
    """Serve a working folder with a slow tiny separator (0.05 s a model call, 2 s blocks)."""
    import uvicorn

    from unmix.web.app import create_app

    folder, port = Path(argv[0]), int(argv[1])
    holder = f"tests.web.support (pid {os.getpid()}) at http://127.0.0.1:{port}/"
    app = create_app(folder, separator_factory=tiny_factory(delay_s=0.05, block_seconds=2.0), holder=holder)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
