"""Catalogue throughput and memory: ``predict.py --songs`` against ``unmix.catalog`` local and on Ray.

On the same generated songs (default 12 three-minute stereo 44.1 kHz songs), each command runs
as a fresh process into a fresh destination, in turn:

- ``predict.py --songs SRC``
- ``python3 -m unmix.catalog run SRC --engine local``
- ``python3 -m unmix.catalog run SRC --engine ray --workers N`` for each ``--ray_workers`` (a
  local Ray instance on 127.0.0.1, started and stopped by the command)

and prints, per command: the whole process's wall time (model loads and Ray's start included),
songs per hour, the ratio to ``predict.py --songs``, and the peak RSS per worker (the command's
own process for predict and local; each actor's ``ru_maxrss`` from the catalogue's ledger for
Ray). ``--rounds`` repeats the whole sequence and prints medians. Prints figures, never asserts.

Run: ``python benchmarks/catalog.py [--model NAME] [--songs 12] [--minutes 3] [--ray_workers 1 2] [--rounds 1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))
sys.path.insert(0, str(REPOSITORY / "benchmarks"))
# The wrapper of each command: its wall time and its peak RSS (the largest child's ru_maxrss, in MB).
MEASURE = (
    "import resource, subprocess, sys, time; start = time.perf_counter(); "
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
    "print(code, time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
)


def measure(command: list[str]) -> tuple[int, float, float]:
    """``(exit code, wall seconds, peak RSS MB)`` of ``command`` in a fresh process."""
    line = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, cwd=REPOSITORY, check=True).stdout.split()
    return int(line[0]), float(line[1]), float(line[2])


def actor_peaks(dest: Path) -> list[float]:
    """Each worker's peak RSS (MB) from the catalogue's ledger."""
    peaks: dict[str, float] = {}
    for line in (dest / ".unmix-catalog" / "ledger.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == "done":
            peaks[event["worker"]] = max(peaks.get(event["worker"], 0.0), float(event.get("peak_rss_mb") or 0.0))
    return sorted(peaks.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a built-in model (default: the default one)")
    parser.add_argument("--songs", type=int, default=12)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--ray_workers", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    from separate import write_song  # benchmarks/separate.py

    from unmix.pretrained import catalog

    model = args.model or catalog.default_name()
    work = Path(tempfile.mkdtemp(prefix="unmix-catalog-bench-"))
    try:
        source = work / "songs"
        source.mkdir()
        for number in range(args.songs):
            write_song(source / f"song{number:02d}.wav", minutes=args.minutes)
        audio_minutes = args.songs * args.minutes
        print(f"{args.songs} songs of {args.minutes:g} minutes ({audio_minutes:g} minutes of audio), model {model}, {os.cpu_count()} CPUs")
        modes = [("predict.py --songs", lambda dest: [sys.executable, "predict.py", "--songs", str(source), "--output", str(dest), "--model", model, "--quiet"]),
                 ("catalog --engine local", lambda dest: [sys.executable, "-m", "unmix.catalog", "run", str(source), "--output", str(dest), "--model", model, "--quiet"])]  # fmt: skip
        for workers in args.ray_workers:
            modes.append((f"catalog --engine ray --workers {workers}", lambda dest, w=workers: [sys.executable, "-m", "unmix.catalog", "run", str(source), "--output", str(dest), "--model", model, "--engine", "ray", "--workers", str(w), "--quiet"]))
        results: dict[str, list[tuple[float, list[float]]]] = {name: [] for name, _ in modes}
        for round_number in range(args.rounds):
            for name, command in modes:
                dest = work / "out"
                shutil.rmtree(dest, ignore_errors=True)
                code, seconds, peak = measure(command(dest))
                peaks = actor_peaks(dest) if "ray" in name else [peak]
                results[name].append((seconds, peaks))
                print(f"round {round_number + 1}: {name}: exit {code}, {seconds:.1f} s, peak RSS per worker {', '.join(f'{p:.0f}' for p in peaks)} MB", flush=True)
                time.sleep(2)
        base = statistics.median(seconds for seconds, _ in results[modes[0][0]])
        print("\n| command | wall (s), median | songs per hour | x predict.py --songs | peak RSS per worker (MB) |\n|---|---:|---:|---:|---:|")
        for name, _ in modes:
            seconds = statistics.median(s for s, _ in results[name])
            peak = max(max(p) for _, p in results[name])
            print(f"| {name} | {seconds:.1f} | {args.songs * 3600 / seconds:.1f} | {base / seconds:.2f} | {peak:.0f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
