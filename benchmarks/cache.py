"""Measure the preparation cache: size per minute of audio and window read speed.

Writes synthetic songs into a temporary cache, then reads random training
windows (64 frames at hop 384 = 24,576 samples) with one open per read
(``read_stems``) and with one open per song (``open_stems``). With
``--collection`` it also times ``prepare`` on a real folder (e.g.
``../shared/data/musdb18-7``) into a temporary cache, cold then warm. Never
asserts timings. Run: ``python benchmarks/cache.py [--songs N] [--collection DIR]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from unmix.data.cache import cache_path, open_stems, read_stems, write_cached
from unmix.data.layouts import discover
from unmix.data.prepare import prepare
from unmix.data.songs import Song, StemSource

SAMPLE_RATE = 11025
WINDOW_SAMPLES = 64 * 384


def _synthetic(cache_dir: Path, n_songs: int, duration_s: float, rng: np.random.Generator):
    cached = []
    for k in range(n_songs):
        song = Song(id=f"synthetic/{k}", name=str(k), layout="unmix", vocals=(StemSource(Path("v")),),
                    instrumental=(StemSource(Path("i")),))
        shape = (2, int(duration_s * SAMPLE_RATE))
        vocals = rng.standard_normal(shape).astype(np.float32)
        instrumental = rng.standard_normal(shape).astype(np.float32)
        cached.append(write_cached(cache_path(cache_dir, song.id), song=song, key="benchmark", vocals=vocals,
                                   instrumental=instrumental, sample_rate=SAMPLE_RATE))
    return cached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=10)
    parser.add_argument("--duration_s", "--duration-s", type=float, default=60.0)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--collection", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        cache_dir = Path(folder)
        start = time.perf_counter()
        cached = _synthetic(cache_dir, args.songs, args.duration_s, rng)
        write_s = time.perf_counter() - start
        size_mb = sum(c.path.stat().st_size for c in cached) / 1e6
        minutes = args.songs * args.duration_s / 60
        print(f"write: {minutes / write_s:.1f} min of audio/s; size {size_mb / minutes:.2f} MB per minute "
              f"(stereo, {SAMPLE_RATE} Hz, vocals + instrumental)")
        picks = [(cached[rng.integers(len(cached))], 0) for _ in range(args.reads)]
        picks = [(c, int(rng.integers(c.n_samples - WINDOW_SAMPLES))) for c, _ in picks]
        start = time.perf_counter()
        for c, offset in picks:
            read_stems(c, start=offset, stop=offset + WINDOW_SAMPLES)
        per_read = (time.perf_counter() - start) / args.reads
        print(f"read_stems (open per read): {1 / per_read:.0f} windows/s")
        start = time.perf_counter()
        with open_stems(cached[0]) as reader:
            for _ in range(args.reads):
                offset = int(rng.integers(cached[0].n_samples - WINDOW_SAMPLES))
                reader.read(start=offset, stop=offset + WINDOW_SAMPLES)
        per_read = (time.perf_counter() - start) / args.reads
        print(f"open_stems (one open per song): {1 / per_read:.0f} windows/s")
        if args.collection is not None:
            songs = discover(args.collection).songs
            for run in ("cold", "warm"):
                start = time.perf_counter()
                prepared = prepare(songs, cache_dir=cache_dir / "real", sample_rate=SAMPLE_RATE, n_channels=2,
                                   workers=args.workers, progress=False)
                print(f"prepare {run}: {len(prepared.cached)} songs in {time.perf_counter() - start:.1f} s, "
                      f"{len(prepared.failed)} failed")


if __name__ == "__main__":
    main()
