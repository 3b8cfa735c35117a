"""Seconds to score one stereo song with each metric (museval v4, mir_eval v3, global SDR).

Run from the repository root (or with unmix installed):
    python -m benchmarks.metrics [--seconds 180] [--sample_rate 44100]

The song is seeded synthetic audio (tones plus noise) with estimates that leak the other
source and add noise, so the scorers do the same work as on real music of that length.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from unmix.evaluation.bsseval import METRICS, score


def make_song(*, seconds: float, sample_rate: int, seed: int = 0) -> tuple[dict, dict]:
    """References and estimates, float32 (2, samples), for "vocals" and "instrumental"."""
    rng = np.random.default_rng(seed)
    n_samples = int(seconds * sample_rate)
    t = np.arange(n_samples) / sample_rate
    references = {}
    for name, frequency in (("vocals", 440.0), ("instrumental", 110.0)):
        tone = 0.3 * np.sin(2 * np.pi * frequency * t * (1 + 0.01 * np.sin(2 * np.pi * 0.5 * t)))
        references[name] = (tone + 0.05 * rng.standard_normal((2, n_samples))).astype(np.float32)
    other = {"vocals": "instrumental", "instrumental": "vocals"}
    estimates = {
        name: (audio + 0.1 * references[other[name]] + 0.02 * rng.standard_normal(audio.shape)).astype(np.float32)
        for name, audio in references.items()
    }
    return references, estimates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="song length in seconds (default 180)")
    parser.add_argument("--sample_rate", "--sample-rate", type=int, default=44100, help="Hz (default 44100)")
    parser.add_argument("--metrics", nargs="+", default=list(METRICS), choices=METRICS)
    args = parser.parse_args(argv)

    # Import the scorers' packages first so their import time (pandas, musdb) is not timed.
    import mir_eval.separation  # noqa: F401
    import museval  # noqa: F401

    references, estimates = make_song(seconds=args.seconds, sample_rate=args.sample_rate)
    print(f"# {args.seconds:g} s stereo at {args.sample_rate} Hz; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs")
    print(f"{'metric':<10} {'seconds':>8}  vocals SDR  instrumental SDR")
    for metric in args.metrics:
        start = time.perf_counter()
        scores = score(references, estimates, sample_rate=args.sample_rate, metric=metric)
        elapsed = time.perf_counter() - start
        medians = scores.medians()
        print(f"{metric:<10} {elapsed:8.2f}  {medians['vocals']['SDR']:10.2f}  {medians['instrumental']['SDR']:16.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
