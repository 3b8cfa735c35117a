"""Where a separation's seconds go: per stage of a warm run, and per phase of a whole one-song process.

Two tables, each printed as Markdown (docs/speed.md holds them with this command):

1. **Warm pipeline, per stage.** A generated 3-minute stereo 44.1 kHz song is separated to WAV
   by an already loaded and traced separator with one block worker (so every stage runs on the
   main thread and its time is its own); each stage's function is wrapped with a timer that
   counts its time *exclusive* of the stages it calls: decode, resample, STFT, windows and
   overlap-add, network, ratio masks, inverse STFT, write, and the rest. Median of ``--repeats``.
   The same song is then timed with the separator's own block workers (what a user gets).
2. **One-song process, per phase.** ``predict.py --model M --song S --runtime R`` in a fresh
   process, timed from outside (median of ``--repeats``), and a fresh process that takes the
   same steps with timestamps: interpreter start and exit (TensorFlow's exit alone takes a second), unmix's imports, TensorFlow's import (the
   TensorFlow runtime only), model load (building, weights, export-reading and compiling),
   separation and writing; with its peak RSS.

Prints figures, never asserts. Run: ``python benchmarks/stages.py [--model fast] [--runtime
auto tensorflow] [--minutes 3] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

STAGES = ("decode", "resample", "stft", "windows + overlap-add", "network", "ratio masks", "inverse stft", "write")


class Stopwatch:
    """Exclusive time per stage: a stage's clock stops while a stage it calls runs (one thread)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._stack: list[list] = []
        self.active = False  # off while blocks run on several threads

    def enter(self, stage: str) -> None:
        now = time.perf_counter()
        if self._stack:
            outer = self._stack[-1]
            self.seconds[outer[0]] += now - outer[1]
        self._stack.append([stage, now])

    def leave(self) -> None:
        now = time.perf_counter()
        stage, began = self._stack.pop()
        self.seconds[stage] += now - began
        if self._stack:
            self._stack[-1][1] = now

    def wrap(self, owner, name: str, stage: str) -> None:
        function = getattr(owner, name)

        def timed(*args, **kwargs):
            if not self.active:
                return function(*args, **kwargs)
            self.enter(stage)
            try:
                return function(*args, **kwargs)
            finally:
                self.leave()

        setattr(owner, name, timed)

    def wrap_iterator(self, owner, name: str, stage: str) -> None:
        """Time each ``next()`` of the iterator ``owner.name(...)`` returns (a decoder's blocks)."""
        function = getattr(owner, name)
        watch = self

        def timed(*args, **kwargs):
            iterator = iter(function(*args, **kwargs))
            while True:
                active = watch.active
                if active:
                    watch.enter(stage)
                try:
                    item = next(iterator)
                except StopIteration:
                    return
                finally:
                    if active:
                        watch.leave()
                yield item

        setattr(owner, name, timed)


def instrument(watch: Stopwatch) -> None:
    import unmix.audio
    from unmix.audio import writer
    from unmix.separation import kernel, streaming

    watch.wrap_iterator(unmix.audio, "read_blocks", "decode")
    watch.wrap(streaming._Resampler, "__call__", "resample")
    watch.wrap(kernel, "stft", "stft")
    watch.wrap(kernel, "istft", "inverse stft")
    watch.wrap(kernel.Kernel, "magnitudes", "windows + overlap-add")
    watch.wrap(kernel.Kernel, "_call_model", "network")
    watch.wrap(kernel.Kernel, "_ratio_masks", "ratio masks")
    watch.wrap(writer.AudioWriter, "write", "write")


def warm_stages(watch: Stopwatch, model: str, runtime: str, *, minutes: float, repeats: int, folder: Path) -> None:
    import separate  # benchmarks/separate.py: the same generated song

    from unmix.pretrained import catalog
    from unmix.separation.separator import Separator

    song = folder / f"song-{minutes:g}min.wav"
    if not song.exists():
        separate.write_song(song, minutes=minutes)
    seconds = minutes * 60
    separator = Separator.from_run_folder(catalog.folder(model), runtime=runtime)
    network = type(separator.kernel.predict).__name__
    warm = folder / "warm.wav"
    separate.write_song(warm, minutes=5 / 60)
    separator.separate_file(warm, folder / "out")
    workers = separator.workers
    totals = []
    for _ in range(repeats):
        begin = time.perf_counter()
        separator.separate_file(song, folder / "out")
        totals.append(time.perf_counter() - begin)
    separator.workers = 1
    runs = []
    for _ in range(repeats):
        watch.seconds.clear()
        watch.active = True
        begin = time.perf_counter()
        separator.separate_file(song, folder / "out")
        total = time.perf_counter() - begin
        watch.active = False
        runs.append((total, dict(watch.seconds)))
    total = statistics.median(run[0] for run in runs)
    print(f"\n### {model}, runtime {runtime} ({network}): warm, {seconds:.0f} s song, median of {repeats}\n")
    print("| stage | seconds | share | real-time factor of the stage alone |")
    print("|---|---:|---:|---:|")
    accounted = 0.0
    for stage in STAGES:
        value = statistics.median(run[1].get(stage, 0.0) for run in runs)
        accounted += value
        print(f"| {stage} | {value:.2f} | {100 * value / total:.0f} % | {seconds / value if value else float('inf'):.0f}x |")
    rest = total - accounted
    print(f"| rest (checks, copies, queues) | {rest:.2f} | {100 * rest / total:.0f} % | |")
    print(f"| **total, 1 block worker** | **{total:.2f}** | 100 % | **{seconds / total:.1f}x** |")
    median = statistics.median(totals)
    print(f"| **total, {workers} block workers (as predict.py)** | **{median:.2f}** | | **{seconds / median:.1f}x** |")


def process_phases(model: str, runtime: str, *, minutes: float, repeats: int, folder: Path) -> None:
    import separate

    song = folder / f"song-{minutes:g}min.wav"
    if not song.exists():
        separate.write_song(song, minutes=minutes)
    walls = []
    for _ in range(repeats):
        begin = time.perf_counter()
        subprocess.run(
            [sys.executable, str(REPOSITORY / "predict.py"), "--model", model, "--song", str(song), "--output", str(folder / "p"), "--runtime", runtime, "--quiet"],
            check=True, capture_output=True,
        )  # fmt: skip
        walls.append(time.perf_counter() - begin)
    phases = []
    for _ in range(repeats):
        begin = time.perf_counter()
        result = subprocess.run([sys.executable, __file__, "--child", model, runtime, str(song), str(folder / "c")], check=True, capture_output=True, text=True)
        wall = time.perf_counter() - begin
        marks = json.loads(result.stdout.strip().splitlines()[-1])
        phases.append({"interpreter start and exit": wall - marks["total"], **{k: v for k, v in marks.items() if k != "total"}, "wall": wall})
    print(f"\n### {model}, runtime {runtime}: one {minutes * 60:.0f} s song, whole process, median of {repeats}\n")
    print(f"`predict.py --model {model} --song S --runtime {runtime}`: **{statistics.median(walls):.2f} s** ({', '.join(f'{w:.2f}' for w in walls)})\n")
    print("| phase | seconds |")
    print("|---|---:|")
    for key in phases[0]:
        if key == "peak RSS MB":
            continue
        print(f"| {key} | {statistics.median(p[key] for p in phases):.2f} |")
    print(f"\npeak RSS: {statistics.median(p['peak RSS MB'] for p in phases):.0f} MB")


def child(model: str, runtime: str, song: str, output: str) -> None:
    """The steps of a one-song predict.py run, with a timestamp after each."""
    began = time.perf_counter()
    marks = {}
    from unmix.cli.common import keep_freed_memory, set_tensorflow_log_level

    set_tensorflow_log_level()
    keep_freed_memory()
    import unmix.cli.predict  # noqa: F401
    from unmix.pretrained import catalog
    from unmix.separation.separator import Separator

    marks["unmix imports"] = time.perf_counter() - began
    mark = time.perf_counter()
    if runtime == "tensorflow":
        from unmix.cli.common import import_tensorflow_quietly

        import_tensorflow_quietly()
        import keras  # noqa: F401
    marks["TensorFlow import"] = time.perf_counter() - mark
    mark = time.perf_counter()
    separator = Separator.from_run_folder(catalog.folder(model), runtime=runtime)
    marks["model load"] = time.perf_counter() - mark
    mark = time.perf_counter()
    separator.separate_file(song, output)
    marks["separation and writing (first call traces)"] = time.perf_counter() - mark
    marks["total"] = time.perf_counter() - began
    from separate import _peak_rss_kb

    marks["peak RSS MB"] = _peak_rss_kb() / 1024
    print(json.dumps(marks))


def main() -> None:
    from unmix.cli.common import keep_freed_memory, set_tensorflow_log_level

    set_tensorflow_log_level()
    keep_freed_memory()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", default=["fast", "spleeter-2stems"], help="built-in models (default: fast spleeter-2stems)")
    parser.add_argument("--runtime", nargs="+", default=["auto", "tensorflow"], help="runtimes to compare (default: auto tensorflow)")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", choices=("warm", "process"), help="leave one table out")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(f"CPUs: {os.cpu_count()}")
    watch = Stopwatch()
    instrument(watch)
    with tempfile.TemporaryDirectory(prefix="unmix-stages-") as temporary:
        folder = Path(temporary)
        for model in args.model:
            for runtime in args.runtime:
                if args.skip != "process":
                    process_phases(model, runtime, minutes=args.minutes, repeats=args.repeats, folder=folder)
                if args.skip != "warm":
                    warm_stages(watch, model, runtime, minutes=args.minutes, repeats=args.repeats, folder=folder)


if __name__ == "__main__":
    main()
