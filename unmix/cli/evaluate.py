"""``evaluate.py`` / ``unmix-evaluate``: separation scores of a trained run, or of an oracle.

Scores the run's test songs (the split is recomputed from the run's configuration, so
they are the songs training held out), or every song of another collection. ``--oracle``
scores the ideal ratio mask, the ideal binary mask or the unprocessed mixture on the
same songs instead, so every figure can be read against its ceiling and floor; oracles
need no weights and no TensorFlow, and run from a plain ``--configuration`` too.

Exit codes: 0 every song scored, 1 some songs failed (the others are still written) or
a runtime error, 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from pathlib import Path

from unmix.cli.common import EXIT_FAILURE, EXIT_OK, add_logging_flags, guarded
from unmix.errors import ConfigurationError, DataError

METRIC_CHOICES = ("museval", "mir_eval", "global")
ORACLE_CHOICES = ("irm", "ibm", "mixture")
SONG_CHOICES = ("test", "validation", "all")
_ROLE = {"test": "test", "validation": "validation"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evaluate.py",
        description="Score the separation of a trained run (or of an oracle) with BSSEval v4 (museval), "
        "BSSEval v3 (mir_eval) or global SDR. Writes accuracy_<collection>.csv, per-track scores "
        "(CSV and museval JSON) and a box plot under evaluation/<collection>/, and prints a table.",
    )
    what = parser.add_argument_group("what to score")
    what.add_argument("--run_folder", help="a training run: its configuration, split and best weights")
    what.add_argument("--weights", metavar="FILE",
                      help="with --run_folder: score this checkpoint (a path, or a file name in the run's weights/) "
                      "instead of the best one")
    what.add_argument("--configuration", help="a .jsonc configuration, for --oracle without a run")
    what.add_argument("--oracle", type=str.lower, choices=ORACLE_CHOICES,
                      help="score an oracle instead of the model: irm (ceiling), ibm, mixture (floor)")
    songs = parser.add_argument_group("songs")
    songs.add_argument("--collection", help="score every song of this collection folder instead of the run's songs")
    songs.add_argument("--songs", choices=SONG_CHOICES,
                       help="which songs of the configured collection: test (default), validation or all")
    songs.add_argument("--test_data_count", type=int, metavar="N",
                       help="test songs: recompute the split with N test songs; otherwise score the first N songs")
    scoring = parser.add_argument_group("scoring")
    scoring.add_argument("--metric", default="museval", help="museval (default, BSSEval v4), mir_eval (v3) or global")
    scoring.add_argument("--workingdir", help="holds cache/ (and evaluation/ without --run_folder); default: the current folder")
    scoring.add_argument("--cpu", action="store_true", help="run the model on the CPU even when a GPU is visible")
    add_logging_flags(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.run_folder and args.configuration:
        parser.error("give --run_folder (a trained run) or --configuration (with --oracle), not both")
    if not args.run_folder and not args.configuration:
        parser.error("nothing to score: give --run_folder RUN (a trained run) or --configuration C with --oracle irm|ibm|mixture")
    if args.weights and (not args.run_folder or args.oracle):
        parser.error("--weights picks a checkpoint of --run_folder; it needs --run_folder and no --oracle")
    if args.collection and args.songs:
        parser.error("--songs picks songs of the configured collection; with --collection every song is scored")
    if args.cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"  # before TensorFlow loads
    from unmix import log

    log.setup(verbose=args.verbose, quiet=args.quiet)
    return guarded(lambda: _run(args), verbose=args.verbose)


def _run(args: argparse.Namespace) -> int:
    from unmix import config as configuration
    from unmix.evaluation.evaluate import check_metric, evaluate_songs, format_table, write_accuracy, write_evaluation
    from unmix.runfolder import RunFolder

    metric = check_metric(args.metric)
    if args.test_data_count is not None and args.test_data_count < 1:
        raise ConfigurationError(f"--test_data_count: Received: {args.test_data_count}; expected a whole number >= 1.")
    working_directory = Path(args.workingdir) if args.workingdir else Path.cwd()
    run = RunFolder.open(args.run_folder) if args.run_folder else None
    if run is not None:
        config = configuration.load_resolved(run.configuration)
    else:
        if not args.oracle:
            raise ConfigurationError("--configuration scores only oracles: add --oracle irm|ibm|mixture, or pass --run_folder")
        config = configuration.load(args.configuration, working_directory=working_directory)
    songs, role, collection = _songs(args, config, working_directory=working_directory, run=run)
    estimator, label, epoch = _estimator(args, config, run)
    result = evaluate_songs(estimator, songs, sample_rate=config.collection.sample_rate, metric=metric, progress=not args.quiet)
    if not result.tracks:
        first = f" (first: {result.failed[0][0]}: {result.failed[0][1]})" if result.failed else ""
        raise DataError(f"no song could be scored: {len(result.failed)} failed{first}")
    folder = run.evaluation(collection) if run is not None else working_directory / "evaluation" / collection
    files = write_evaluation(result, folder, label=label, title=f"{label} on {collection} ({role} songs, {metric})")
    accuracy = run.accuracy(collection) if run is not None else folder / f"accuracy_{collection}.csv"
    write_accuracy(result, accuracy, epoch=epoch, kind=role if args.oracle is None else f"{role}-{label}")
    title = f"{label} on {len(songs)} {role} song(s) of {collection}: {metric}, median over songs of per-track medians (dB)"
    lines = [*format_table(result, title=title), f"scores: {files.folder}", f"accuracy row: {accuracy}"]
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_FAILURE if result.failed else EXIT_OK


def _songs(args: argparse.Namespace, config, *, working_directory: Path, run) -> tuple[list, str, str]:
    """The songs to score, the name of their role, and the collection's name."""
    from unmix.data.collection import prepare_collection
    from unmix.data.split import hash_order

    collection = config.collection
    if args.collection:
        # Every song of another collection: no held-out or validation songs to respect.
        replaced = dataclasses.replace(
            collection, folder=str(args.collection), name=None, validation_songs=(), validation_split_file=None,
            test_data_count=0, song_limit=0, validation_ratio=0.0,
        )  # fmt: skip
        prepared = prepare_collection(_with_collection(config, replaced), working_directory=working_directory, progress=not args.quiet)
        songs = [prepared.cached[i] for i in hash_order(prepared.cached)]
        return songs[: args.test_data_count] if args.test_data_count else songs, "all", prepared.collection_name
    role = args.songs or "test"
    if role == "test" and args.test_data_count is not None:
        if run is not None and args.test_data_count > collection.test_data_count:
            import logging

            logging.getLogger(__name__).warning(
                "--test_data_count %d > the run's %d test songs: the extra songs may have been trained on",
                args.test_data_count, collection.test_data_count,
            )  # fmt: skip
        config = _with_collection(config, dataclasses.replace(collection, test_data_count=args.test_data_count))
    prepared = prepare_collection(config, working_directory=working_directory, progress=not args.quiet)
    if role == "all":
        songs = [prepared.cached[i] for i in hash_order(prepared.cached)]
    else:
        songs = prepared.songs(_ROLE[role])
    if role != "test" and args.test_data_count:
        songs = songs[: args.test_data_count]
    if not songs:
        hint = "set --test_data_count N" if role == "test" else "choose other --songs"
        raise DataError(f"no {role} songs in collection {prepared.collection_name}: {hint}")
    return list(songs), role, prepared.collection_name


def _with_collection(config, collection):
    return config.replace("collection", dataclasses.asdict(collection))


def _estimator(args: argparse.Namespace, config, run):
    """The estimator, its label in file names, and the epoch its accuracy row carries."""
    if args.oracle:
        from unmix.dsp.stft import StftOptions
        from unmix.evaluation.oracles import Oracle

        stft = StftOptions.from_section(config.transformation)
        oracle = Oracle(args.oracle, stft=stft)
        return oracle, oracle.label, 0
    from unmix.separation.separator import Separator

    weights = _checkpoint(args.weights, run) if args.weights else run.best_weights()
    separator = Separator.from_run_folder(run.path, weights=weights)
    return separator.separate, "model", _weights_epoch(weights)


def _checkpoint(name: str, run) -> Path:
    """``--weights`` as given, else the file of that name in the run's ``weights/``."""
    for candidate in (Path(name), run.weights / name):
        if candidate.is_file():
            return candidate
    raise ConfigurationError(f"--weights: no file {name} (nor {run.weights / name}): give a .weights.h5 checkpoint of this run")


def _weights_epoch(weights: Path) -> int:
    """The epoch in a checkpoint's name (``callback_weights_07.weights.h5``), else 0 (unknown)."""
    numbers = re.findall(r"\d+", weights.name.removesuffix(".weights.h5"))
    return int(numbers[-1]) if numbers and weights.name.startswith("callback_weights_") else 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
