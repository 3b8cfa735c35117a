"""The README's first command: separate a real song with the built-in default model.

The example is the MUSDB18 clip that the ``stempeg`` package ships ("The Easton
Ellises - Falcon 69", CC BY-NC-SA 3.0). Because it comes with its true stems,
the quick start also scores the separation (museval v4, median SDR) against
them, next to the mixture floor, and draws the spectrograms of mix, vocals and
instrumental into a PNG.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from unmix.cli.common import EXIT_OK, add_logging_flags, guarded, set_tensorflow_log_level


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quickstart", description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="separated", help="output folder (default: ./separated)")
    parser.add_argument("--run_folder", help="use this run folder instead of the built-in default model")
    parser.add_argument("--model", metavar="NAME", help="use this built-in model (see predict.py --list_models) instead of the default")
    add_logging_flags(parser)
    return parser


def example_song() -> tuple[str, np.ndarray, np.ndarray, int]:
    """Name, vocals and instrumental (channels, samples) and rate of the stempeg example clip."""
    import stempeg

    from unmix import audio

    path = Path(stempeg.example_stem_path())
    vocals, rate = audio.load(path, stream=4)
    instrumental = sum(audio.load(path, stream=k)[0] for k in (1, 2, 3))
    return path.name.removesuffix(".stem.mp4"), vocals, instrumental, rate


def run(*, output: Path, run_folder: Path | None = None, model: str | None = None) -> list[str]:
    """Separate the example; return the lines to print (where the files are, the scores)."""
    from unmix import audio
    from unmix.evaluation.bsseval import score_museval
    from unmix.evaluation.plots import spectrogram_plot
    from unmix.pretrained import catalog
    from unmix.separation.separator import Separator

    folder = run_folder or catalog.folder(model or catalog.default_name())
    name, vocals, instrumental, rate = example_song()
    mix = vocals + instrumental
    started = time.perf_counter()
    separator = Separator.from_run_folder(folder)
    loaded = time.perf_counter()
    estimates = separator.separate(mix, rate)
    separated = time.perf_counter()
    song_folder = output / name
    paths = {}
    for stem, samples in [("mixture", mix), *estimates.items()]:
        paths[stem] = song_folder / f"{stem}.wav"
        audio.save(paths[stem], samples, rate)
    png = song_folder / "spectrograms.png"
    spectrogram_plot(png, {"mix": mix, "vocals (separated)": estimates["vocals"], "instrumental (separated)": estimates["instrumental"]}, sample_rate=rate)
    references = {"vocals": vocals, "instrumental": instrumental}
    scores = score_museval(references, estimates, sample_rate=rate).medians()
    floor = score_museval(references, {"vocals": mix, "instrumental": mix}, sample_rate=rate).medians()
    seconds = mix.shape[1] / rate
    return [
        f"model: {folder}",
        f"separated {name} ({seconds:.1f} s) in {separated - loaded:.2f} s ({seconds / max(separated - loaded, 1e-9):.0f}x real time; model load {loaded - started:.1f} s)",
        *(f"  {stem:13s} {path}" for stem, path in paths.items()),
        f"  spectrograms  {png}",
        "SDR (museval v4, median over 1 s windows) against the clip's true stems:",
        f"  vocals        {scores['vocals']['SDR']:6.2f} dB   (mixture floor {floor['vocals']['SDR']:6.2f} dB)",
        f"  instrumental  {scores['instrumental']['SDR']:6.2f} dB   (mixture floor {floor['instrumental']['SDR']:6.2f} dB)",
    ]


def main(argv: list[str] | None = None) -> int:
    set_tensorflow_log_level()
    args = build_parser().parse_args(argv)
    from unmix import log

    log.setup(verbose=args.verbose, quiet=args.quiet)

    def body() -> int:
        for line in run(output=Path(args.output), run_folder=Path(args.run_folder) if args.run_folder else None, model=args.model):
            sys.stdout.write(line + "\n")
        return EXIT_OK

    return guarded(body, verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
