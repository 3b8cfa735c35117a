"""Training speed per model on this machine (prints figures, never asserts).

For each configuration (the hourglass default and final, the U-Net and RNN defaults, and the
default-model candidate ``pretrained/default.jsonc``), the model is built and compiled as
``train.py`` does (configured loss, optimizer, metrics, jit_compile; one target per output)
and timed on synthetic batches of the configuration's shape and batch size:

- parameter count;
- seconds per ``train_on_batch`` (median of the timed steps after one warm-up step that
  builds and traces) and training windows/s (batch size / that median);
- where the time goes in a real run: the seconds ``WindowDataset.__getitem__`` takes for one
  batch on a small synthetic cache (reading, STFT, augmentation as configured; median of a
  few batches) next to the step. ``train.py`` gives Keras the dataset with one worker, which
  tf.data prefetches in a background thread, so the pipeline overlaps the step: the
  expected wait per step is max(0, pipeline - step); the "serial" share is the pipeline's
  part of pipeline + step, the worst case when both compete for the same cores.

The steps of a model stop after ``--steps`` or once ``--seconds`` have been spent (at least
one timed step), so the defaults stay within about five minutes even where one hourglass
step takes half a minute. The first line names the CPU (and GPU, if TensorFlow sees one)
and the load average, because a shared machine slows every figure.

Run: ``python benchmarks/train_step.py [--quick] [--models hourglass-default unet-default]``
(``--models`` also takes paths to .jsonc configurations).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

import numpy as np  # noqa: E402

CONFIGURATIONS = {
    "hourglass-default": "configurations/default-hourglass.jsonc",
    "hourglass-final": "configurations/final/hourglass.jsonc",
    "unet-default": "configurations/default-unet.jsonc",
    "rnn-default": "configurations/default-rnn.jsonc",
    "pretrained-default": "configurations/pretrained/default.jsonc",
}


def machine() -> str:
    """The CPU model, core count, GPUs TensorFlow sees, and the load average."""
    import tensorflow as tf

    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        cpu = names[0] if names else cpu
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return f"{cpu}, {os.cpu_count()} cores; GPU: {', '.join(gpus) or 'none'}; load average {load}"


def synthetic_songs(folder: Path, *, sample_rate: int, n_channels: int, n_songs: int, seconds: float) -> list:
    """A small cache of songs whose vocals are noisy tones and whose instrumental is noise."""
    from unmix.data.cache import cache_path, write_cached
    from unmix.data.songs import Song

    rng = np.random.default_rng(0)
    n_samples = int(seconds * sample_rate)
    t = np.arange(n_samples, dtype=np.float32) / sample_rate
    songs = []
    for k in range(n_songs):
        song = Song(id=f"synthetic/{k}", name=str(k), layout="unmix", vocals=(), instrumental=())
        tone = (0.3 * np.sin(2 * np.pi * (220 + 110 * k) * t)).astype(np.float32)
        vocals = np.stack([tone] * n_channels) + 0.02 * rng.standard_normal((n_channels, n_samples), dtype=np.float32)
        instrumental = 0.2 * rng.standard_normal((n_channels, n_samples), dtype=np.float32)
        songs.append(write_cached(cache_path(folder, song.id), song=song, key="benchmark", vocals=vocals.astype(np.float32),
                                  instrumental=instrumental, sample_rate=sample_rate))
    return songs


def pipeline_for(config, folder: Path, *, seconds: float):
    """The configured ``WindowDataset`` over a synthetic cache, and the model's input shape."""
    from unmix.pipeline.generator import WindowDataset
    from unmix.pipeline.stats import compute_zmuv_stats
    from unmix.pipeline.representations import get_representation
    from unmix.training.losses import loss_packs_mix
    from unmix.training.trainer import stft_options

    training, n_channels = config.training, config.collection.n_channels
    stft = stft_options(config)
    representation = get_representation(config.transformation.name, options=config.transformation.options, stft=stft)
    songs = synthetic_songs(folder, sample_rate=config.collection.sample_rate, n_channels=n_channels, n_songs=2, seconds=seconds)
    stats = compute_zmuv_stats(songs, stft=stft, n_channels=n_channels) if representation.normalizer_name == "zmuv" else None
    dataset = WindowDataset(
        songs, representation=representation, stft=stft, batch_size=training.batch_size, packs_mix=loss_packs_mix(training.loss_function),
        augmentation=training.augmentation if training.augmentation.enabled else None, stats=stats, seed=training.seed,
    )
    return dataset, tuple(representation.input_shape(n_channels)), representation.output_kind


def compiled_model(config, input_shape: tuple[int, ...], output: str):
    """The model exactly as the trainer builds and compiles it (default strategy)."""
    from unmix.training.trainer import compiled_model as build

    return build(config.training, input_shape=tuple(input_shape), output=output)


def timed(function, *, repeats: int, budget_s: float) -> list[float]:
    """Seconds of each call, stopping after ``repeats`` calls or once ``budget_s`` is spent."""
    times: list[float] = []
    spent = 0.0
    while len(times) < repeats and (not times or spent < budget_s):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
        spent += times[-1]
    return times


def benchmark(label: str, path: Path, *, steps: int, budget_s: float, batches: int, song_seconds: float) -> None:
    import keras

    from unmix import config as configuration

    with tempfile.TemporaryDirectory() as folder:
        config = configuration.load(path, working_directory=Path(folder), environ={})
        training = config.training
        keras.utils.set_random_seed(training.seed)
        dataset, input_shape, output = pipeline_for(config, Path(folder), seconds=song_seconds)
        dataset[0]  # opens the cache files once, as the first epoch does
        pipeline = timed(lambda: dataset[int(np.random.default_rng().integers(len(dataset)))], repeats=batches, budget_s=budget_s / 2)
        x, y = dataset[0]
    model = compiled_model(config, input_shape, output)
    n_outputs = len(model.outputs)
    targets = tuple([y] * n_outputs) if n_outputs > 1 else y
    start = time.perf_counter()
    model.train_on_batch(x, targets)
    warm_up = time.perf_counter() - start
    steps_s = timed(lambda: model.train_on_batch(x, targets), repeats=steps, budget_s=budget_s)
    step, load = statistics.median(steps_s), statistics.median(pipeline)
    batch = training.batch_size
    print(
        f"{label:20s} {training.model.name:9s} {model.count_params():>11,d} {str(input_shape):>16s} {batch:>5d} "
        f"{batch / step:>9.2f} {step:>8.3f} ({len(steps_s)}) {warm_up:>7.1f} {load:>9.3f} ({len(pipeline)}) "
        f"{max(0.0, load - step):>7.3f} {100 * load / (load + step):>6.1f}%",
        flush=True,
    )
    keras.backend.clear_session()


def main() -> None:
    from unmix.cli.common import import_tensorflow_quietly, set_tensorflow_log_level

    set_tensorflow_log_level()  # before anything imports TensorFlow, as every unmix command does
    import_tensorflow_quietly()  # its start-up lines once, filtered by that level
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(CONFIGURATIONS), help=f"names ({', '.join(CONFIGURATIONS)}) or .jsonc paths")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per model (after one warm-up)")
    parser.add_argument("--seconds", type=float, default=40.0, help="stop timing a model's steps after this many seconds")
    parser.add_argument("--batches", type=int, default=8, help="pipeline batches timed per model")
    parser.add_argument("--song_seconds", "--song-seconds", type=float, default=8.0, help="length of each of the two synthetic songs")
    parser.add_argument("--quick", action="store_true", help="one timed step and three pipeline batches per model")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.seconds, args.batches = 1, 20.0, 3
    print(f"machine: {machine()}")
    print(f"{'configuration':20s} {'model':9s} {'parameters':>11s} {'input':>16s} {'batch':>5s} {'windows/s':>9s} "
          f"{'s/step':>8s} {'(n)':3s} {'warm-up':>7s} {'pipe s/b':>9s} {'(n)':3s} {'wait s':>7s} {'serial':>7s}")
    started = time.perf_counter()
    for name in args.models:
        path = Path(CONFIGURATIONS.get(name, name))
        path = path if path.is_absolute() else REPOSITORY / path
        if not path.is_file():
            parser.error(f"--models: {name!r} is neither a known name ({', '.join(CONFIGURATIONS)}) nor a configuration file")
        benchmark(name, path, steps=args.steps, budget_s=args.seconds, batches=args.batches, song_seconds=args.song_seconds)
    print(f"total {time.perf_counter() - started:.0f} s; s/step = median train_on_batch after a warm-up (which traces); "
          "pipe s/b = WindowDataset.__getitem__ per batch; wait = expected pipeline wait per step with prefetch; "
          "serial = pipeline share of pipeline + step")


if __name__ == "__main__":
    main()
