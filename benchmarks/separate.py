"""Separation speed and memory: real-time factors and peak RSS on generated songs.

For each model (a run folder, configurations, or by default the built-in default model, then the
untrained ``default-hourglass``) on a generated stereo 44.1 kHz song:

- end-to-end real-time factor (seconds of audio per wall second): decode, resample, STFT,
  network, overlap-add, inverse STFT, resample back, write; the median of ``--repeats`` runs
  after a warm-up run (which traces the model's graph once), with and without the model load;
- network-only real-time factor: the same number of windows through the model alone, as many
  calls at once as the separator has block workers;
- peak RSS of a whole ``predict`` run on 3-, 30- and 60-minute songs, each measured in a fresh
  subprocess (``VmHWM`` of ``/proc/self/status``, else ``ru_maxrss``).

The default model is ``unmix/pretrained/default`` (the shipped run folder) when it exists, else
``configurations/distill/fast-unet.jsonc`` built untrained (same architecture, so the same
speed). Prints figures, never asserts. The first model is the "default" of the tracking lines
``end-to-end real-time factor: <N>x`` and ``peak RSS 60 min: <N> MB``.

Run folders' networks run as a user's would: ``--runtime auto`` (the default) takes the network's
OpenVINO export when there is one (``python -m unmix.pretrained export``), ``tensorflow`` never.

Run: ``python benchmarks/separate.py [--run_folder RUN | --configuration C ...] [--runtime R] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))  # run from a checkout without installing
SAMPLE_RATE = 44100
DEFAULT_RUN_FOLDER = REPOSITORY / "unmix" / "pretrained" / "default"
DEFAULT_CONFIGURATION = "configurations/distill/fast-unet.jsonc"
OTHER_CONFIGURATIONS = ("configurations/default-hourglass.jsonc",)


def default_models() -> list[tuple[str, str]]:
    """The built-in default model (its run folder, else its configuration untrained), then the hourglass."""
    first = (str(DEFAULT_RUN_FOLDER), "run") if (DEFAULT_RUN_FOLDER / "configuration.jsonc").is_file() else (DEFAULT_CONFIGURATION, "configuration")
    return [first, *((c, "configuration") for c in OTHER_CONFIGURATIONS)]


def write_song(path: Path, *, minutes: float, sample_rate: int = SAMPLE_RATE) -> float:
    """A stereo song of tones, a wandering "voice" and noise, written in blocks (bounded memory)."""
    from unmix import audio

    rng = np.random.default_rng(0)
    n_samples = int(minutes * 60 * sample_rate)
    block = 10 * sample_rate
    with audio.open_writer(path, sample_rate=sample_rate, n_channels=2, subtype="PCM_16") as writer:
        for start in range(0, n_samples, block):
            t = np.arange(start, min(start + block, n_samples)) / sample_rate
            voice = 0.2 * np.sin(2 * np.pi * (300 + 80 * np.sin(0.5 * t)) * t) * (np.sin(0.7 * t) > 0)
            bass = 0.2 * np.sin(2 * np.pi * 55 * t)
            hiss = 0.02 * rng.standard_normal((2, t.size))
            writer.write(np.stack([voice + bass, 0.8 * voice + bass]) + hiss)
    return n_samples / sample_rate


def load(model: str, kind: str, runtime: str = "auto"):
    from unmix.separation.separator import Separator

    if kind == "run":
        return Separator.from_run_folder(model, runtime=runtime)
    from unmix.config import load as load_configuration

    return Separator.from_config(None, load_configuration(REPOSITORY / model if not Path(model).is_absolute() else model))


def network_only(separator, n_seconds: float) -> float:
    """Seconds the model alone needs for the windows of ``n_seconds`` of stereo audio."""
    from unmix.dsp.windows import window_starts
    from unmix.separation.arrays import channel_groups

    hop = separator.stft_options.hop_length
    n_frames = 1 + int(n_seconds * separator.sample_rate) // hop
    n_windows = len(window_starts(n_frames, size=separator.size, step=separator.step)) * len(channel_groups(2, separator.n_channels))
    shape = (separator.batch_size, separator.stft_options.n_bins, separator.size, separator.n_channels)
    batch = np.random.default_rng(0).random(shape, dtype=np.float32)
    separator.predict_batch(batch)  # trace once
    calls = -(-n_windows // separator.batch_size)
    begin = time.perf_counter()
    # As many calls at once as the separator runs blocks (an exported network has a stream each).
    with ThreadPoolExecutor(max_workers=separator.workers) as pool:
        list(pool.map(lambda _: separator.predict_batch(batch), range(calls)))
    return time.perf_counter() - begin


def speed(model: str, kind: str, *, minutes: float, folder: Path, repeats: int, runtime: str = "auto") -> float:
    song = folder / f"song-{minutes:g}min.wav"
    if not song.exists():
        write_song(song, minutes=minutes)
    seconds = minutes * 60
    begin = time.perf_counter()
    separator = load(model, kind, runtime)
    load_s = time.perf_counter() - begin
    warm = folder / "warm.wav"
    write_song(warm, minutes=5 / 60)
    separator.separate_file(warm, folder / "out")  # traces the model once
    runs = []
    for _ in range(max(1, repeats)):
        begin = time.perf_counter()
        separator.separate_file(song, folder / "out")
        runs.append(time.perf_counter() - begin)
    total_s = statistics.median(runs)
    network_s = network_only(separator, seconds)
    network = "OpenVINO" if type(separator.kernel.predict).__name__ == "ExportedNetwork" else "TensorFlow"
    print(f"{model}: {seconds:.0f} s of stereo {SAMPLE_RATE} Hz at a model rate of {separator.sample_rate} Hz, batch {separator.batch_size}, {separator.workers} worker(s), network run by {network}")
    print(f"  model load {load_s:.1f} s; end to end {total_s:.2f} s (median of {len(runs)}: {', '.join(f'{r:.2f}' for r in runs)}); network only {network_s:.2f} s")
    print(f"  end to end  {seconds / total_s:8.1f}x real time ({seconds / (total_s + load_s):.1f}x with the model load)")
    print(f"  network     {seconds / network_s:8.1f}x real time")
    return seconds / total_s


def peak_rss_mb(model: str, kind: str, *, minutes: float, folder: Path, runtime: str = "auto") -> float:
    """Peak RSS of a fresh process that loads the model and separates a song of ``minutes``."""
    song = folder / f"song-{minutes:g}min.wav"
    if not song.exists():
        write_song(song, minutes=minutes)
    command = [sys.executable, __file__, "--child", model, kind, str(song), str(folder / "out"), "--runtime", runtime]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def child(model: str, kind: str, song: str, output: str, runtime: str) -> None:
    separator = load(model, kind, runtime)
    separator.separate_file(song, output)
    print(_peak_rss_kb() / 1024)


def _peak_rss_kb() -> float:
    """This process's peak RSS in kB. VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the
    parent through fork and exec, so a child of a large parent would report the parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def main() -> None:
    from unmix.cli.common import keep_freed_memory, set_tensorflow_log_level

    set_tensorflow_log_level()  # before anything imports TensorFlow, as every unmix command does
    keep_freed_memory()  # as predict.py does: the figures are a user's (the RSS children inherit it too)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    models = parser.add_mutually_exclusive_group()
    models.add_argument("--run_folder", help="a trained run folder (default: the built-in default model, then the untrained hourglass)")
    models.add_argument("--configuration", action="append", help="configuration(s) to build untrained (repeatable)")
    parser.add_argument("--quick", action="store_true", help="the default model only, 30 s songs, one run, and peak RSS for 1 and 3 minutes only")
    parser.add_argument("--repeats", type=int, default=3, help="timed end-to-end runs per model; the median is reported (default 3)")
    parser.add_argument("--minutes", type=float, default=3.0, help="song length of the speed test (default 3)")
    parser.add_argument("--rss_minutes", type=float, nargs="*", default=[3, 30, 60], help="song lengths of the RSS test")
    parser.add_argument("--rss_configuration", help="model of the RSS test (default: the first model; a light one such as configurations/default-dummy.jsonc measures the pipeline alone)")
    parser.add_argument("--runtime", choices=("auto", "tensorflow", "openvino"), default="auto", help="what runs a run folder's network (default auto: its OpenVINO export when there is one)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.runtime)
        return
    if args.run_folder:
        chosen = [(args.run_folder, "run")]
    elif args.configuration:
        chosen = [(c, "configuration") for c in args.configuration]
    else:
        chosen = default_models()[:1] if args.quick else default_models()
    minutes = 0.5 if args.quick else args.minutes
    repeats = 1 if args.quick else args.repeats
    rss_minutes = [1, 3] if args.quick else args.rss_minutes
    print(f"CPUs: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="unmix-bench-") as temporary:
        folder = Path(temporary)
        factors = [speed(model, kind, minutes=minutes, folder=folder, repeats=repeats, runtime=args.runtime) for model, kind in chosen]
        model, kind = (args.rss_configuration, "configuration") if args.rss_configuration else chosen[0]
        rss = {m: peak_rss_mb(model, kind, minutes=m, folder=folder, runtime=args.runtime) for m in rss_minutes}
    for m, mb in rss.items():
        print(f"{model}: peak RSS {m:g} min: {mb:.0f} MB")
    print(f"end-to-end real-time factor: {factors[0]:.1f}x")
    if rss:  # `--rss_minutes` with no value skips the memory test
        print(f"peak RSS {max(rss):g} min: {rss[max(rss)]:.0f} MB")


if __name__ == "__main__":
    main()
