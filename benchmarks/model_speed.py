"""Network-only inference speed of candidate default models on this CPU.

Prints parameters, windows/s and the real-time factor the network alone allows
(seconds of 44.1 kHz audio per second, hop 384, windows of 64 frames, no overlap).
Usage: python benchmarks/model_speed.py [--batch 32] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CANDIDATES = {
    "unet (default)": ("unet", {}),
    "unet light (8..256)": ("unet", {"filters": [8, 16, 32, 64, 128, 256]}),
    "unet tiny (4..128)": ("unet", {"filters": [4, 8, 16, 32, 64, 128]}),
    "rnn 128x2": ("rnn", {"hidden_size": 128, "layers": 2}),
    "rnn 256x3": ("rnn", {"hidden_size": 256, "layers": 3}),
    "hourglass light": ("hourglass", {"stacks": 4, "initial_filters": 16, "hg_module": {"filters": 32}}),
}


def main() -> None:
    from unmix.cli.common import import_tensorflow_quietly, set_tensorflow_log_level

    set_tensorflow_log_level()  # before anything imports TensorFlow, as every unmix command does
    import_tensorflow_quietly()  # its start-up lines once, filtered by that level
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="candidate names to run")
    args = parser.parse_args()
    import numpy as np

    from unmix.models.registry import build_model

    frames, hop, rate = 64, 384, 44100
    x = np.random.default_rng(0).random((args.batch, 769, frames, 2), dtype=np.float32)
    print(f"{'model':24s} {'params':>10s} {'windows/s':>10s} {'network RTF':>12s}")
    for label, (name, options) in CANDIDATES.items():
        if args.only and label not in args.only:
            continue
        model = build_model(name, options, input_shape=(769, frames, 2), output="mask")
        model.predict_on_batch(x)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            model.predict_on_batch(x)
            times.append(time.perf_counter() - start)
        windows_per_s = args.batch / statistics.median(times)
        rtf = windows_per_s * frames * hop / rate
        print(f"{label:24s} {model.count_params():>10,d} {windows_per_s:>10.1f} {rtf:>11.1f}x", flush=True)


if __name__ == "__main__":
    main()
