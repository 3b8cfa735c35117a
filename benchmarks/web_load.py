"""Web page under load: 20 uploads at once on 127.0.0.1, all queued, all finished, none lost.

Starts ``unmix.web`` in a subprocess (uvicorn on a free 127.0.0.1 port, a fresh working folder)
with a small NumPy separator (a model that answers a mask of 0.5: the STFT, resampling,
overlap-add and file writing are real, the network is not), so the run is bounded: a few
seconds of CPU a song. Then, from this process:

- posts ``--uploads`` generated songs (stereo 44.1 kHz, 16-bit WAV) at once from as many threads;
- while they upload and the worker separates them, fetches ``/`` every ``--interval`` seconds
  and records its time to first byte (the status line), and the same on the idle server first;
- waits until every job is done, and checks that each one finished and both stems download.

Prints the figures, never asserts a timing; exits 1 if an upload was refused, a job failed or
was lost. Only 127.0.0.1 is contacted.

Run: ``python benchmarks/web_load.py [--uploads 20] [--seconds 20]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))  # run from a checkout without installing
HOST = "127.0.0.1"


def small_separator():
    """A real ``Separator`` around a constant-mask "model" (8 kHz model rate, 1024-point STFT)."""
    from unmix.config.schema import TransformOptions
    from unmix.dsp.stft import StftOptions
    from unmix.pipeline.representations import get_representation
    from unmix.separation.separator import Separator

    stft = StftOptions(n_fft=1024, hop_length=256)
    representation = get_representation("train_window_predict_mask", options=TransformOptions(size=64, step=32), stft=stft)
    return Separator(lambda batch: np.full_like(batch, 0.5), representation=representation, stft_options=stft, sample_rate=8000, n_channels=2, batch_size=8)


def serve(folder: str, port: str) -> None:
    """The server half (run in a subprocess, so the client's threads do not share its interpreter)."""
    import uvicorn

    from unmix.web.app import create_app

    app = create_app(Path(folder), separator_factory=lambda name: small_separator(), models=["fast"], default_model="fast")
    uvicorn.run(app, host=HOST, port=int(port), log_level="warning")


def write_song(path: Path, *, seconds: float, seed: int) -> bytes:
    from unmix import audio

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 44100)) / 44100
    voice = 0.2 * np.sin(2 * np.pi * (300 + 40 * seed + 80 * np.sin(0.5 * t)) * t)
    samples = np.stack([voice + 0.2 * np.sin(2 * np.pi * 55 * t), 0.8 * voice + 0.2 * np.sin(2 * np.pi * 55 * t)]) + 0.02 * rng.standard_normal((2, t.size))
    audio.save(path, samples.astype(np.float32), 44100, subtype="PCM_16")
    return path.read_bytes()


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes, float]:
    """One request on a new connection: status, body and the time to first byte in seconds."""
    connection = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        started = time.perf_counter()
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()  # returns once the status line has arrived
        first_byte = time.perf_counter() - started
        return response.status, response.read(), first_byte
    finally:
        connection.close()


def multipart(name: str, content: bytes) -> tuple[bytes, dict]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nfast\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="format"\r\n\r\nwav\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n\r\n'
    ).encode()
    body = head + content + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def page_times(port: int, *, stop: threading.Event, interval: float, into: list[float]) -> None:
    while not stop.is_set():
        status, _, first_byte = request(port, "GET", "/")
        if status == 200:
            into.append(first_byte)
        stop.wait(interval)


def describe(times: list[float]) -> str:
    ms = sorted(1000 * t for t in times)
    if not ms:
        return "no sample"
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    return f"median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms (n={len(ms)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each generated song")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between page fetches under load")
    parser.add_argument("--serve", nargs=2, metavar=("FOLDER", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return 0
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="unmix-web-load-") as scratch:
        folder = Path(scratch)
        songs = [write_song(folder / f"song-{k}.wav", seconds=args.seconds, seed=k) for k in range(args.uploads)]
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(folder / "work"), str(port)], cwd=REPOSITORY)
        try:
            return run(port, songs, args)
        finally:
            server.terminate()
            server.wait(30)


def run(port: int, songs: list[bytes], args: argparse.Namespace) -> int:
    deadline = time.monotonic() + 60
    while True:
        try:
            request(port, "GET", "/api/jobs")
            break
        except OSError:
            if time.monotonic() > deadline:
                print("the server did not start")
                return 1
            time.sleep(0.1)
    idle = [request(port, "GET", "/")[2] for _ in range(20)]
    print(f"{len(songs)} songs of {args.seconds:g} s (stereo 44.1 kHz 16-bit WAV, {len(songs[0]) / 1e6:.1f} MB each) to http://{HOST}:{port}/")
    print(f"time to first byte of / idle:       {describe(idle)}")

    loaded: list[float] = []
    stop = threading.Event()
    watcher = threading.Thread(target=page_times, args=(port,), kwargs={"stop": stop, "interval": args.interval, "into": loaded})
    watcher.start()
    barrier = threading.Barrier(len(songs))
    answers: list[tuple[int, dict]] = [(0, {})] * len(songs)

    def send(index: int) -> None:
        body, headers = multipart(f"song {index}.wav", songs[index])
        barrier.wait()
        status, text, _ = request(port, "POST", "/api/jobs", body, headers)
        answers[index] = (status, json.loads(text))

    started = time.perf_counter()
    senders = [threading.Thread(target=send, args=(k,)) for k in range(len(songs))]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    uploaded_s = time.perf_counter() - started
    accepted = [body["id"] for status, body in answers if status == 201]
    states = [job["state"] for job in json.loads(request(port, "GET", "/api/jobs")[1])["jobs"]]
    print(f"uploads: {len(accepted)} of {len(songs)} accepted (201) in {uploaded_s:.1f} s; right after: {states.count('queued')} queued, {states.count('running')} running, {states.count('done')} done")
    for status, body in answers:
        if status != 201:
            print(f"  refused with {status}: {body.get('error')}")

    while True:
        jobs = {job["id"]: job for job in json.loads(request(port, "GET", "/api/jobs")[1])["jobs"]}
        if all(jobs.get(i, {}).get("state") in ("done", "failed") for i in accepted):
            break
        time.sleep(0.5)
    finished_s = time.perf_counter() - started
    stop.set()
    watcher.join()
    done = [i for i in accepted if jobs[i]["state"] == "done"]
    downloadable = sum(all(request(port, "GET", url)[0] == 200 for url in jobs[i]["stems"].values()) for i in done)
    overlaps = sorted((jobs[i]["started"], jobs[i]["finished"]) for i in done)
    one_at_a_time = all(a[1] <= b[0] for a, b in zip(overlaps, overlaps[1:]))
    lost = len(songs) - len(jobs)
    print(f"finished: {len(done)} done, {len(accepted) - len(done)} failed, {lost} lost, in {finished_s:.1f} s from the first upload; one at a time: {one_at_a_time}; both stems download: {downloadable}/{len(done)}")
    print(f"time to first byte of / under load: {describe(loaded)}")
    ok = len(done) == len(songs) == downloadable and lost == 0 and one_at_a_time
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
