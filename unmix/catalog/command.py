"""``python3 -m unmix.catalog`` / ``unmix-catalog``: separate a whole catalogue, resumably.

    python3 -m unmix.catalog run SOURCE --output DEST [--model NAME | --run_folder RUN]
        [--engine local|ray] [--address auto|HOST:PORT] [--workers N] [--gpus_per_worker X]
        [--retries N] [--format wav] [--bit_depth 24] [--filename '{song}/{stem}.{ext}'] [--stems ...]
    python3 -m unmix.catalog status DEST
    python3 -m unmix.catalog report DEST

Exit codes: 0 every planned song has its stems (or ``status``/``report`` read the records);
1 a song failed, or the run stopped early (a full or read-only destination, another run holding
it, Ray unreachable): running the same command again resumes; 2 a usage error (a bad flag,
source or model name). Flags mean what they mean in ``predict.py`` (``unmix.cli.options``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from unmix.cli import options
from unmix.cli.common import EXIT_FAILURE, EXIT_OK, add_logging_flags, guarded, hide_gpus, keep_freed_memory, set_tensorflow_log_level
from unmix.errors import ConfigurationError
from unmix.separation.outputs import BIT_DEPTHS, DEFAULT_TEMPLATE, FORMATS, STEMS, OutputSpec, parse_stems


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 -m unmix.catalog", description="Separate a whole catalogue of songs, resumably, on this machine or on a Ray cluster.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="separate every song of SOURCE into DEST (again: resume, skipping songs with receipts)")
    run.add_argument("source", metavar="SOURCE", help="a folder of songs (searched recursively) or a text/CSV list of paths")
    options.add(run, "--output", required=True, metavar="DEST")
    model = run.add_argument_group("model (default: the best built-in model installed)")
    options.add(model, "--model", "--run_folder")
    output = run.add_argument_group("output (as predict.py writes it)")
    options.add(output, "--format", choices=FORMATS)
    options.add(output, "--bit_depth", choices=BIT_DEPTHS)
    options.add(output, "--filename", default=DEFAULT_TEMPLATE)
    options.add(output, "--stems", default=",".join(STEMS))
    engine = run.add_argument_group("engine")
    options.add(engine, "--engine", choices=("local", "ray"))
    options.add(engine, "--address", "--workers", "--gpus_per_worker", "--retries", "--cpu")
    add_logging_flags(run)
    for name, text in (("status", "counts of done, failed, in-flight and left songs"), ("report", "status, the failed songs with their errors, and each run's throughput")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("output", metavar="DEST", help="the --output of a catalogue run")
        add_logging_flags(sub)
    return parser


NUMERIC_FLAGS = ("--workers", "--gpus_per_worker", "--retries")


def main(argv: list[str] | None = None) -> int:
    set_tensorflow_log_level()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        if args.model and args.run_folder:
            parser.error("give one model: --model NAME or --run_folder RUN")
        keep_freed_memory()
        if args.cpu:
            hide_gpus()
    from unmix import log

    log.setup(verbose=args.verbose, quiet=args.quiet)
    return guarded(lambda: _run(args) if args.command == "run" else _show(args), verbose=args.verbose)


def _show(args: argparse.Namespace) -> int:
    from unmix.catalog.records import CatalogFolder
    from unmix.catalog.report import report_lines, status_lines

    folder = CatalogFolder(args.output)
    for line in (status_lines if args.command == "status" else report_lines)(folder):
        sys.stdout.write(line + "\n")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from unmix.catalog.engines import check_engine
    from unmix.catalog.runner import run_catalog
    from unmix.catalog.worker import Job

    options.check_numbers(args, *NUMERIC_FLAGS)  # before anything is planned or loaded
    check_engine(args.engine, address=args.address, workers=args.workers, gpus_per_worker=args.gpus_per_worker)
    output = OutputSpec(folder=Path(args.output), file_format=args.format, filename=args.filename, stems=parse_stems(args.stems), bit_depth=args.bit_depth)
    job = Job(
        output=str(output.folder.absolute()), model=_model(args), file_format=output.file_format, filename=output.filename,
        stems=output.stems, bit_depth=output.bit_depth, retries=args.retries,
    )  # fmt: skip
    summary = run_catalog(Path(args.source), job, engine=args.engine, address=args.address, workers=args.workers, gpus_per_worker=args.gpus_per_worker, show_progress=not args.quiet)
    for line in summary.lines():
        sys.stdout.write(line + "\n")
    return EXIT_FAILURE if summary.failed else EXIT_OK


def _model(args: argparse.Namespace) -> dict[str, str]:
    """``{"name", "folder", "identity"}`` of the chosen model, checked before any song is planned.

    Raises:
        ConfigurationError: an unknown built-in model or a folder that is no run folder.
        ModelError: a built-in model that is not installed, or a run without weights.
    """
    from unmix.pretrained import catalog
    from unmix.runfolder import RunFolder

    if args.run_folder:
        folder, name = Path(args.run_folder).absolute(), Path(args.run_folder).name
    else:
        name = args.model or catalog.default_name()
        if name not in catalog.names():
            raise ConfigurationError(f"--model {name}: not a built-in model; expected one of {', '.join(catalog.names())} (see predict.py --list_models)")
        folder = catalog.folder(name)
    return {"name": name, "folder": str(folder), "identity": RunFolder.open(folder).identity()}
