"""Measure the training pipeline against training itself (prints figures, never asserts).

For the default hourglass shape (44.1 kHz stereo, FFT 1536, hop 384, 64-frame windows,
batch 4) and the U-Net shape (same windows, batch 8) on this machine:

- windows/s the ``WindowDataset`` delivers alone (augmentation on, as in our configs),
- the time one ``train_on_batch`` step takes, and the ratio of the two (windows the
  pipeline delivers per window training consumes; target >= 5),
- the cache's size per minute of audio,
- first-epoch vs later-epoch time (``limit_items_per_song`` windows per song),
- peak RSS of a fresh process iterating one epoch over a small and a 10x larger
  collection of short synthetic songs (target: flat).

The last line reads ``pipeline/training ratio: <N>`` for the default hourglass.
Run: ``python benchmarks/pipeline.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Runnable from a checkout without installing: the repository root goes first on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from unmix.config.schema import AugmentationOptions, TransformOptions  # noqa: E402
from unmix.data.cache import CachedSong, cache_path, write_cached  # noqa: E402
from unmix.data.songs import Song  # noqa: E402
from unmix.dsp.stft import StftOptions  # noqa: E402
from unmix.pipeline.representations import get_representation  # noqa: E402

SAMPLE_RATE = 44100
STFT = StftOptions(n_fft=1536, hop_length=384)
SHAPES = {"hourglass": 4, "unet": 8}  # model name -> batch size
AUGMENTATION = AugmentationOptions(enabled=True)


def synthesise(cache_dir: Path, n_songs: int, duration_s: float, seed: int = 0) -> list[CachedSong]:
    """Write ``n_songs`` stereo songs (noisy tones as vocals, noise as instrumental) into a cache."""
    rng = np.random.default_rng(seed)
    n_samples = int(duration_s * SAMPLE_RATE)
    t = np.arange(n_samples, dtype=np.float32) / SAMPLE_RATE
    cached = []
    for k in range(n_songs):
        song = Song(id=f"synthetic/{k:05d}", name=str(k), layout="unmix", vocals=(), instrumental=())
        tone = 0.3 * np.sin(2 * np.pi * (200 + k % 50 * 10) * t)
        vocals = np.stack([tone, tone * 0.8]) + 0.02 * rng.standard_normal((2, n_samples), dtype=np.float32)
        instrumental = 0.2 * rng.standard_normal((2, n_samples), dtype=np.float32)
        cached.append(write_cached(cache_path(cache_dir, song.id), song=song, key="benchmark",
                                   vocals=vocals.astype(np.float32), instrumental=instrumental, sample_rate=SAMPLE_RATE))
    return cached


def make_dataset(songs, *, batch_size: int, limit: int = 0, augmentation=AUGMENTATION, seed: int = 0):
    from unmix.pipeline.generator import WindowDataset

    representation = get_representation("train_window_predict_mask", options=TransformOptions(), stft=STFT)
    return WindowDataset(songs, representation=representation, stft=STFT, batch_size=batch_size, packs_mix=True,
                         limit_items_per_song=limit, augmentation=augmentation, seed=seed, workers=0)


def pipeline_rate(dataset, n_batches: int) -> float:
    """Windows per second, single-threaded (what one Keras worker thread would deliver)."""
    dataset[0]
    start = time.perf_counter()
    for batch in range(n_batches):
        dataset[batch % len(dataset)]
    return n_batches * dataset[0][0].shape[0] / (time.perf_counter() - start)


def training_step_s(name: str, batch, steps: int) -> float | None:
    """Seconds per ``train_on_batch`` of the registered model (default options, L11 loss)."""
    try:
        import keras

        from unmix.models.registry import build_model, prediction_model  # noqa: F401
        from unmix.training.losses import get_loss
    except ImportError as error:  # models or losses not there yet
        print(f"  training step: skipped ({error})")
        return None
    keras.utils.set_random_seed(0)
    x, y = batch
    model = build_model(name, None, input_shape=x.shape[1:], output="mask")
    outputs = len(model.outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=[get_loss("L11_loss")] * outputs)
    targets = [y] * outputs if outputs > 1 else y
    model.train_on_batch(x, targets)  # build and trace
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, targets)
    return (time.perf_counter() - start) / steps


def epoch_times(songs, *, batch_size: int, limit: int) -> tuple[float, float]:
    dataset = make_dataset(songs, batch_size=batch_size, limit=limit)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        for batch in range(len(dataset)):
            dataset[batch]
        times.append(time.perf_counter() - start)
        dataset.on_epoch_end()
    return times[0], times[1]


def rss_child(cache_dir: Path, limit: int) -> None:
    """In a fresh process: RSS after imports, then peak RSS over one epoch (JSON on stdout)."""
    import keras  # noqa: F401  (counted in the baseline, as in training)

    songs = [CachedSong(song_id=Path(p).stem, path=Path(p), n_samples=int(n), sample_rate=SAMPLE_RATE, n_channels=2)
             for p, n in json.loads((cache_dir / "songs.json").read_text())]
    import psutil

    before = psutil.Process().memory_info().rss
    dataset = make_dataset(songs, batch_size=4, limit=limit)
    for batch in range(len(dataset)):
        dataset[batch]
    print(json.dumps({"baseline_mb": before / 2**20, "peak_mb": peak_rss() / 2**20, "batches": len(dataset)}))


def peak_rss() -> int:
    """Peak resident memory of this process in bytes.

    ``VmHWM`` rather than ``getrusage``: Linux keeps ``ru_maxrss`` across ``exec``, so a
    child started by a big parent would report the parent's peak.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss_for(n_songs: int, duration_s: float, limit: int, root: Path) -> dict:
    cache_dir = root / f"rss{n_songs}"
    cache_dir.mkdir()
    songs = synthesise(cache_dir, n_songs, duration_s, seed=n_songs)
    (cache_dir / "songs.json").write_text(json.dumps([[str(s.path), s.n_samples] for s in songs]))
    child = subprocess.run([sys.executable, __file__, "--rss_child", str(cache_dir), "--limit", str(limit)],
                           capture_output=True, text=True)
    if child.returncode:
        raise RuntimeError(f"the RSS measurement failed:\n{child.stderr[-3000:]}")
    output = child.stdout
    for song in songs:
        song.path.unlink()
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    from unmix.cli.common import set_tensorflow_log_level

    set_tensorflow_log_level()  # before anything imports TensorFlow, as every unmix command does
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts: about a minute")
    parser.add_argument("--songs", type=int, default=8, help="songs of the throughput cache")
    parser.add_argument("--song_seconds", "--song-seconds", type=float, default=30.0)
    parser.add_argument("--batches", type=int, default=100, help="batches timed for windows/s")
    parser.add_argument("--steps", type=int, default=3, help="training steps timed")
    parser.add_argument("--rss_songs", "--rss-songs", type=int, nargs=2, default=(100, 1000), metavar=("SMALL", "LARGE"))
    parser.add_argument("--rss_seconds", "--rss-seconds", type=float, default=2.0, help="length of the RSS test songs")
    parser.add_argument("--limit", type=int, default=2, help="limit_items_per_song for epochs and RSS")
    parser.add_argument("--rss_child", "--rss-child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child is not None:
        rss_child(args.rss_child, args.limit)
        return
    if args.quick:
        args.songs, args.song_seconds, args.batches, args.steps = 4, 10.0, 30, 2
        args.rss_songs = (20, 200)
    ratio = None
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "main").mkdir()
        start = time.perf_counter()
        songs = synthesise(root / "main", args.songs, args.song_seconds)
        size_mb = sum(s.path.stat().st_size for s in songs) / 1e6
        minutes = args.songs * args.song_seconds / 60
        print(f"cache: {size_mb / minutes:.1f} MB per minute of audio (44.1 kHz stereo float32, vocals + "
              f"instrumental); written in {time.perf_counter() - start:.1f} s")
        for name, batch_size in SHAPES.items():
            print(f"{name} shape: (769, 64, 2) windows, batch {batch_size}")
            for label, augmentation in (("augmentation on", AUGMENTATION), ("augmentation off", None)):
                rate = pipeline_rate(make_dataset(songs, batch_size=batch_size, augmentation=augmentation), args.batches)
                print(f"  pipeline ({label}): {rate:.1f} windows/s")
                if augmentation is not None:
                    delivered = rate
            step = training_step_s(name, make_dataset(songs, batch_size=batch_size)[0], args.steps)
            if step is not None:
                consumed = batch_size / step
                print(f"  training step: {step:.3f} s ({consumed:.2f} windows/s)")
                print(f"  ratio: {delivered / consumed:.1f}")
                if name == "hourglass":
                    ratio = delivered / consumed
        first, later = epoch_times(songs, batch_size=4, limit=args.limit)
        print(f"epoch time ({args.songs} songs x {args.limit} windows, batch 4): first {first:.2f} s, "
              f"second {later:.2f} s")
        small, large = (rss_for(n, args.rss_seconds, args.limit, root) for n in args.rss_songs)
        for n, result in zip(args.rss_songs, (small, large)):
            print(f"peak RSS, {n} songs of {args.rss_seconds:g} s, one epoch ({result['batches']} batches): "
                  f"{result['peak_mb']:.0f} MB (after imports {result['baseline_mb']:.0f} MB, "
                  f"growth {result['peak_mb'] - result['baseline_mb']:.0f} MB)")
    print(f"pipeline/training ratio: {'n/a (models not available)' if ratio is None else f'{ratio:.1f}'}")


if __name__ == "__main__":
    main()
