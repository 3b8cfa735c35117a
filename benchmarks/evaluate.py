"""Evaluation costs: scoring a 3-minute stereo song per metric, and the accuracy callback's epoch overhead.

Run from the repository root:
    python -m benchmarks.evaluate [--seconds 180] [--sample_rate 44100] [--skip_callback]

Part 1 scores one synthetic song (seeded tones plus noise) through `evaluate_songs` with
the IRM oracle as estimator, so the figures include what an evaluation does besides the
metric (reading the song, building estimates). Part 2 trains a mini run (synthetic
collection, real pipeline and `Separator`, the `dummy` model unless --model says
otherwise) for a few epochs with and without `AccuracyCallback(every=1)` and reports the
time the callback adds per epoch. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def synthetic_stems(*, seconds: float, sample_rate: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Vocals (a gliding, gated tone) and instrumental (two tones and noise), float32 (2, samples)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    gate = (np.sin(2 * np.pi * 0.7 * t) > -0.3).astype(np.float32)
    vocals = 0.3 * np.sin(2 * np.pi * 440 * t * (1 + 0.02 * np.sin(2 * np.pi * 0.5 * t))) * gate
    instrumental = 0.2 * np.sin(2 * np.pi * 110 * t) + 0.1 * np.sin(2 * np.pi * 165 * t)
    vocals = np.stack([vocals, np.roll(vocals, 7)]) + 0.01 * rng.standard_normal((2, n))
    instrumental = np.stack([instrumental, np.roll(instrumental, 3)]) + 0.05 * rng.standard_normal((2, n))
    return vocals.astype(np.float32), instrumental.astype(np.float32)


def score_song(*, seconds: float, sample_rate: int, metrics: list[str]) -> None:
    import mir_eval.separation  # noqa: F401  (import time is not scoring time)
    import museval  # noqa: F401

    from unmix.dsp.stft import StftOptions
    from unmix.evaluation.evaluate import evaluate_songs
    from unmix.evaluation.oracles import Oracle

    vocals, instrumental = synthetic_stems(seconds=seconds, sample_rate=sample_rate, seed=0)
    oracle = Oracle("irm", stft=StftOptions())
    print(f"## scoring one {seconds:g} s stereo song at {sample_rate} Hz (evaluate_songs, IRM oracle, FFT 1536/384)")
    print(f"{'metric':<10} {'total s':>8} {'estimate s':>11} {'score s':>8}  vocals SDR  instr. SDR")
    for metric in metrics:
        start = time.perf_counter()
        result = evaluate_songs(oracle, [("song", vocals, instrumental)], sample_rate=sample_rate, metric=metric, progress=False)
        total = time.perf_counter() - start
        medians = result.medians()
        print(f"{metric:<10} {total:8.2f} {result.separation_s:11.2f} {result.scoring_s:8.2f}  "
              f"{medians['vocals']['SDR']:10.2f}  {medians['instrumental']['SDR']:10.2f}")  # fmt: skip


def callback_overhead(*, model: str, model_options: dict, epochs: int, test_seconds: float, metric: str) -> None:
    import keras
    import soundfile

    import unmix.config
    from unmix.callbacks.accuracy import AccuracyCallback, separator_for_training
    from unmix.data.collection import cache_folder, prepare_collection
    from unmix.dsp.stft import StftOptions
    from unmix.models.registry import build_model
    from unmix.pipeline.generator import WindowDataset
    from unmix.pipeline.representations import get_representation
    from unmix.runfolder import RunFolder

    sample_rate = 22050
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        for index in range(6):  # 4 training songs of 20 s, 2 test songs of test_seconds
            seconds = test_seconds if index >= 4 else 20.0
            vocals, instrumental = synthetic_stems(seconds=seconds, sample_rate=sample_rate, seed=index)
            folder = root / "collection" / f"song{index}"
            folder.mkdir(parents=True)
            soundfile.write(folder / f"vocals_song{index}.wav", vocals.T, sample_rate, subtype="FLOAT")
            soundfile.write(folder / f"instrumental_song{index}.wav", instrumental.T, sample_rate, subtype="FLOAT")
        configuration = root / "mini.jsonc"
        configuration.write_text(json.dumps({
            "collection": {"folder": str(root / "collection"), "sample_rate": sample_rate, "validation_ratio": 0.0,
                           "test_data_count": 2},
            "training": {"model": {"name": model, "options": model_options}, "batch_size": 8},
        }))  # fmt: skip
        config = unmix.config.load(configuration, working_directory=root, environ={})
        prepared = prepare_collection(config.collection, cache_dir=cache_folder(config.environment, config.collection, working_directory=root), progress=False)
        section = config.transformation
        stft = StftOptions.from_section(section)
        representation = get_representation(section.name, options=section.options, stft=stft)
        data = WindowDataset(prepared.songs("training"), representation=representation, stft=stft, batch_size=8, packs_mix=False)
        test_songs = prepared.songs("test")
        print(f"\n## accuracy callback overhead: model {model}, {len(data)} batches/epoch of 8 windows, "
              f"{len(test_songs)} test songs of {test_seconds:g} s at {sample_rate} Hz, metric {metric}")  # fmt: skip
        timings = {}
        for with_callback in (False, True, False, True):  # alternate: the first fit pays for tracing
            network = build_model(model, model_options, input_shape=representation.input_shape(2), output=representation.output_kind)
            network.compile(optimizer="adam", loss="mean_squared_error")
            callbacks = []
            if with_callback:
                run = RunFolder.create(working_directory=root, output_path="runs", configuration_name="mini")
                callbacks.append(AccuracyCallback(
                    run, songs=test_songs, every=1, save_count=1, metric=metric, collection_name="mini",
                    separator_factory=separator_for_training(config, stats=None),
                ))  # fmt: skip
            start = time.perf_counter()
            network.fit(data, epochs=epochs, verbose=0, callbacks=callbacks)
            timings[with_callback] = (time.perf_counter() - start) / epochs
            keras.backend.clear_session()
        overhead = timings[True] - timings[False]
        print(f"seconds per epoch without the callback {timings[False]:.2f}, with it (every epoch) {timings[True]:.2f}: "
              f"+{overhead:.2f} s per evaluation ({overhead / max(timings[False], 1e-9):.0%} of an epoch)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    from unmix.cli.common import import_tensorflow_quietly, set_tensorflow_log_level

    set_tensorflow_log_level()  # before anything imports TensorFlow, as every unmix command does
    import_tensorflow_quietly()  # its start-up lines once, filtered by that level
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="song length for part 1 (default 180)")
    parser.add_argument("--sample_rate", "--sample-rate", type=int, default=44100, help="Hz for part 1 (default 44100)")
    parser.add_argument("--metrics", nargs="+", default=["museval", "mir_eval", "global"])
    parser.add_argument("--skip_callback", "--skip-callback", action="store_true", help="only part 1")
    parser.add_argument("--model", default="dummy", help="model of the mini run (default dummy)")
    parser.add_argument("--model_options", "--model-options", default="{}", help="JSON options of that model")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--test_seconds", "--test-seconds", type=float, default=30.0, help="length of each of the 2 test songs")
    parser.add_argument("--callback_metric", "--callback-metric", default="museval")
    args = parser.parse_args(argv)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    score_song(seconds=args.seconds, sample_rate=args.sample_rate, metrics=args.metrics)
    if not args.skip_callback:
        callback_overhead(model=args.model, model_options=json.loads(args.model_options), epochs=args.epochs,
                          test_seconds=args.test_seconds, metric=args.callback_metric)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
