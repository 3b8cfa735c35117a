"""``predict.py`` / ``unmix-predict``: split songs into vocals and instrumental.

TensorFlow is imported only after the arguments parse. The command chooses the model (a run
folder, weights with their configuration, or a built-in model by name), loads it once, and hands
it with every song to ``unmix.separation.separate_songs``; one bad song is an error line and the
others go on.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any

from unmix.cli import options
from unmix.cli.common import EXIT_FAILURE, EXIT_OK, add_logging_flags, guarded, hide_gpus, keep_freed_memory, set_tensorflow_log_level, sigterm_as_interrupt
from unmix.paths import what_is
from unmix.errors import ConfigurationError, UnmixError, unknown_name
from unmix.separation.outputs import BIT_DEPTHS, DEFAULT_TEMPLATE, FORMATS, STEMS, OutputSpec, parse_stems

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="predict.py",
        description="Separate songs into vocals and instrumental with a trained model.",
    )
    model = parser.add_argument_group("model (a built-in model, a run folder, or weights and a configuration; default: the best built-in model installed)")
    options.add(model, "--model")
    options.add(model, "--list_models", note="the built-in models with their scores and speed")
    options.add(model, "--run_folder", "--weights")
    options.add(model, "--configuration", note="the one the --weights were trained with")
    options.add(model, "--sample_rate", "--workingdir")
    inputs = parser.add_argument_group("songs")
    options.add(inputs, "--song", "--songs", "--youtube")
    output = parser.add_argument_group("output")
    options.add(output, "--output")
    options.add(output, "--format", choices=FORMATS)
    options.add(output, "--bit_depth", choices=BIT_DEPTHS)
    options.add(output, "--filename", default=DEFAULT_TEMPLATE)
    options.add(output, "--stems", default=",".join(STEMS))
    compute = parser.add_argument_group("computation")
    options.add(compute, "--batch_size", "--overlap", "--wiener", "--precision", "--runtime", "--cpu")
    add_logging_flags(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    set_tensorflow_log_level()
    keep_freed_memory()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.list_models and not (args.song or args.songs or args.youtube):
        parser.error("nothing to separate: give --song FILE, --songs FOLDER or --youtube URL")
    chosen = [flag for flag, given in (("--model", args.model), ("--run_folder", args.run_folder), ("--weights", args.weights or args.configuration)) if given]
    if len(chosen) > 1:
        parser.error(f"give one model: {' and '.join(chosen)} were both given (--model NAME, --run_folder RUN, or --weights W with --configuration C)")
    if bool(args.weights) != bool(args.configuration):
        parser.error("--weights and --configuration go together")
    if args.cpu:
        hide_gpus()
    from unmix import log

    log.setup(verbose=args.verbose, quiet=args.quiet)
    with sigterm_as_interrupt():  # a terminated run removes its partial stems as Ctrl-C does
        return guarded(lambda: _list_models() if args.list_models else _run(args), verbose=args.verbose)


def _list_models() -> int:
    from unmix.pretrained import catalog

    default = catalog.default_name()
    for name in catalog.names():
        entry = catalog.describe(name)
        scores = "not measured"
        if entry.vocals_sdr is not None:
            high_band = f", vocals above 11 kHz {entry.vocals_high_band:.2f} dB SNR" if entry.vocals_high_band is not None else ""
            scores = f"vocals {entry.vocals_sdr:.2f} dB, instrumental {entry.instrumental_sdr:.2f} dB{high_band} (museval, 14 musdb18-7 valid songs)"
        speed = f"{entry.real_time_factor:.0f}x real time on a 2-core CPU" if entry.real_time_factor else "speed not measured"
        if entry.one_song_seconds:
            speed += f" (a 3-minute song in {entry.one_song_seconds:.1f} s, start-up included)"
        state = "installed" if entry.installed else "not installed: run " + catalog.install_command(name)
        marker = " (default)" if name == default else ""
        sys.stdout.write(f"{name}{marker}: {entry.description}\n    {scores}; {speed}; {state}\n")
    return EXIT_OK


NUMERIC_FLAGS = ("--sample_rate", "--batch_size", "--overlap", "--wiener")


def _run(args: argparse.Namespace) -> int:
    options.check_numbers(args, *NUMERIC_FLAGS)  # --sample_rate 0 was ignored, --wiener 1000000 ran for ever
    _check_inputs(args)
    if args.model:
        from unmix.pretrained import catalog

        if args.model not in catalog.names():  # a typo in the command, found before the model loads
            raise unknown_name("--model", "built-in model", args.model, catalog.names())
    working_directory = Path(args.workingdir) if args.workingdir else Path.cwd()
    # Checked first: a typo in --stems, --filename or --bit_depth costs no model load.
    output = OutputSpec(
        folder=Path(args.output) if args.output else working_directory, file_format=args.format, filename=args.filename, stems=parse_stems(args.stems), bit_depth=args.bit_depth,
    )  # fmt: skip
    if args.run_folder and not args.output:
        from unmix.runfolder import RunFolder

        output = dataclasses.replace(output, folder=RunFolder.open(args.run_folder).predictions)
    separator = _separator(args, working_directory)
    from unmix.separation.batch import separate_songs

    report = separate_songs(
        separator, output, songs=[Path(p) for p in args.song], folders=[Path(p) for p in args.songs], youtube=list(args.youtube), show_progress=not args.quiet,
    )  # fmt: skip
    for line in report.summary_lines():
        sys.stdout.write(line + "\n")
    if not report.done and not report.failed:
        raise UnmixError("nothing was separated: no audio file was found in " + ", ".join(map(str, [*args.song, *args.songs])) + "; give audio files (wav, flac, mp3, ogg, m4a, ...)")
    return EXIT_FAILURE if report.failed else EXIT_OK


def _check_inputs(args: argparse.Namespace) -> None:
    """Usage mistakes in --song, --songs and --youtube, found before the model loads.

    A missing song stays a per-song error (the others still go on); a device, a pipe or a
    file given as a folder, or a link that is no web link, is a mistake in the command.
    """
    from unmix.audio.youtube import check_url
    from unmix.errors import AudioError

    for value in args.song:
        kind = what_is(Path(value))
        if kind not in ("a file", "a folder", "not found"):
            raise ConfigurationError(f"--song {value} is {kind}, not an audio file: give an audio file (wav, flac, mp3, ogg, m4a, ...)")
    for value in args.songs:
        kind = what_is(Path(value))
        if kind not in ("a folder", "not found"):
            hint = f"for one song write --song {value}" if kind == "a file" else "give a folder of songs, or --song FILE for one song"
            raise ConfigurationError(f"--songs {value} is {kind}, not a folder: {hint}")
    for url in args.youtube:
        try:
            check_url(url)
        except AudioError as error:
            raise ConfigurationError(f"--youtube: {error}") from None


def _separator(args: argparse.Namespace, working_directory: Path) -> Any:
    """The model the flags name: a run folder, weights with a configuration, or a built-in model."""
    from unmix.separation.separator import Separator

    overrides = {"batch_size": args.batch_size, "wiener_iterations": args.wiener, "overlap": args.overlap, "sample_rate": args.sample_rate, "precision": args.precision}
    overrides = {key: value for key, value in overrides.items() if value is not None}
    if args.run_folder:
        return Separator.from_run_folder(args.run_folder, runtime=args.runtime, **overrides)
    if args.weights:
        if args.runtime == "openvino":
            raise ConfigurationError("--runtime openvino runs a run folder's exported network: give --run_folder or --model, or drop --runtime for --weights")
        return Separator.from_weights(args.weights, args.configuration, working_directory=working_directory, **overrides)
    from unmix.pretrained import catalog

    name = args.model or catalog.default_name()
    if not args.model:
        logger.info("using the built-in model %s; pass --model, --run_folder or --weights for another", name)
        if name != catalog.BEST:
            logger.warning("the better built-in model %s is not installed: run %s", catalog.BEST, catalog.install_command(catalog.BEST))
    return Separator.from_run_folder(catalog.folder(name), runtime=args.runtime, **overrides)


if __name__ == "__main__":
    sys.exit(main())
