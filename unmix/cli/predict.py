"""``predict.py`` / ``unmix-predict``: split songs into vocals and instrumental.

TensorFlow is imported only after the arguments parse. One model load serves
every song of the call; one bad song is an error line and the others go on.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from unmix.cli.common import EXIT_FAILURE, EXIT_OK, add_logging_flags, guarded, not_available
from unmix.errors import ConfigurationError

FORMATS = ("wav", "flac", "mp3")
DEFAULT_TEMPLATE = "{song}/{stem}.{ext}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="predict.py",
        description="Separate songs into vocals and instrumental with a trained model.",
    )
    model = parser.add_argument_group("model (a run folder, or weights and a configuration)")
    model.add_argument("--run_folder", help="a training run folder: its configuration and best weights are used")
    model.add_argument("--weights", help="a weights file (.weights.h5 or .keras); needs --configuration")
    model.add_argument("--configuration", help="the configuration the weights were trained with")
    model.add_argument("--sample_rate", type=int, help="sample rate the model runs at (default: the configuration's)")
    model.add_argument("--workingdir", help="where outputs go without --run_folder or --output (default: the current folder)")
    inputs = parser.add_argument_group("songs")
    inputs.add_argument("--song", action="append", default=[], help="a song file (repeatable)")
    inputs.add_argument("--songs", action="append", default=[], help="a folder of songs, searched recursively (repeatable)")
    inputs.add_argument("--youtube", action="append", default=[], help="a YouTube link to download and separate (repeatable)")
    output = parser.add_argument_group("output")
    output.add_argument("--output", help="output folder (default: the run's predictions/ or the working directory)")
    output.add_argument("--format", choices=FORMATS, default="wav", help="audio format of the stems (default: wav)")
    output.add_argument("--filename", default=DEFAULT_TEMPLATE, help="file name template with {song}, {stem}, {ext} (default: %(default)s)")
    output.add_argument("--stems", default="vocals,instrumental", help="comma-separated stems to write (default: %(default)s)")
    compute = parser.add_argument_group("computation")
    compute.add_argument("--batch_size", type=int, help="windows per model call (default: the configuration's batch size × 4)")
    compute.add_argument("--overlap", type=float, help="fraction of a window shared with the next, 0 ≤ x < 1 (default: the configuration's transformation.overlap)")
    compute.add_argument("--wiener", type=int, metavar="ITERATIONS", help="multichannel Wiener post-filter iterations (0 soft masks; default off)")
    compute.add_argument("--cpu", action="store_true", help="run on the CPU even when a GPU is visible")
    add_logging_flags(parser)
    return parser


def parse_stems(text: str) -> tuple[str, ...]:
    stems = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in stems if s not in ("vocals", "instrumental")]
    if not stems or unknown:
        raise ConfigurationError(f"--stems: expected vocals and/or instrumental, received {text!r}")
    return stems


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not (args.song or args.songs or args.youtube):
        parser.error("nothing to separate: give --song FILE, --songs FOLDER or --youtube URL")
    if args.run_folder and (args.weights or args.configuration):
        parser.error("give either --run_folder or --weights with --configuration, not both")
    if bool(args.weights) != bool(args.configuration):
        parser.error("--weights and --configuration go together")
    if args.cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"  # must happen before TensorFlow loads
    from unmix import log

    log.setup(verbose=args.verbose, quiet=args.quiet)
    return guarded(lambda: _run(args), verbose=args.verbose)


def _run(args: argparse.Namespace) -> int:
    stems = parse_stems(args.stems)
    if args.overlap is not None and not 0 <= args.overlap < 1:
        raise ConfigurationError(f"--overlap must be in [0, 1), received {args.overlap}")
    if args.batch_size is not None and args.batch_size < 1:
        raise ConfigurationError(f"--batch_size must be a positive integer, received {args.batch_size}")
    try:
        from unmix.separation.files import separate_command
    except ImportError:
        raise not_available("separation") from None
    report = separate_command(
        run_folder=Path(args.run_folder) if args.run_folder else None,
        weights=Path(args.weights) if args.weights else None,
        configuration=Path(args.configuration) if args.configuration else None,
        working_directory=Path(args.workingdir) if args.workingdir else Path.cwd(),
        sample_rate=args.sample_rate,
        songs=[Path(p) for p in args.song],
        song_folders=[Path(p) for p in args.songs],
        youtube=list(args.youtube),
        output=Path(args.output) if args.output else None,
        file_format=args.format,
        filename=args.filename,
        stems=stems,
        batch_size=args.batch_size,
        wiener_iterations=args.wiener,
        overlap=args.overlap,
    )
    for line in report.summary_lines():
        sys.stdout.write(line + "\n")
    return EXIT_FAILURE if report.failed else EXIT_OK


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
