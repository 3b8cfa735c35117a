"""``evaluate.py`` / ``unmix-evaluate``: separation scores of a trained run, or of an oracle.

Scores the run's test songs (the split is recomputed from the run's configuration, so
they are the songs training held out), or every song of another collection; a weights file
with the configuration it was trained with (``--weights W --configuration C``) scores the
same way, on that configuration's collection. ``--oracle``
scores the ideal ratio mask, the ideal binary mask or the unprocessed mixture on the
same songs instead, so every figure can be read against its ceiling and floor; oracles
need no weights and no TensorFlow, and run from a plain ``--configuration`` too.
``--protocol mir1k`` scores channel-split clips as MIR-1K papers do (``unmix.evaluation.mir1k``):
per-clip rows in ``tracks.csv``, the G-values in ``global.csv`` and on stdout.

Exit codes: 0 every song scored, 1 some songs failed (the others are still written) or
a runtime error, 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import re
import sys
from pathlib import Path

from unmix.cli import options
from unmix.cli.common import EXIT_FAILURE, EXIT_OK, add_logging_flags, guarded, hide_gpus, keep_freed_memory, set_tensorflow_log_level
from unmix.paths import what_is
from unmix.errors import ConfigurationError, DataError

logger = logging.getLogger(__name__)

_ROLE = {"test": "test", "validation": "validation"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evaluate.py",
        description="Score the separation of a trained run (or of an oracle) with BSSEval v4 (museval), "
        "BSSEval v3 (mir_eval) or global SDR, and each stem's SNR above --high_band_edge. Writes accuracy_<collection>.csv, per-track scores "
        "(CSV and museval JSON) and a box plot under evaluation/<collection>/ of the run "
        "(<workingdir>/evaluations/<model>/ for a built-in model), and prints a table.",
    )
    what = parser.add_argument_group("what to score (a run folder, weights with their configuration, or an oracle)")
    options.add(what, "--run_folder", "--checkpoint", "--weights")
    options.add(what, "--configuration", note="the one the --weights were trained with, or the collection and STFT of an --oracle")
    options.add(what, "--oracle")
    songs = parser.add_argument_group("songs")
    options.add(songs, "--collection", "--split", "--test_data_count")
    options.add_deprecated(songs, "--songs", new="--split", command="evaluate.py", choices=options.SONG_SETS,
                           hint="; a folder of songs with their stems is --collection FOLDER")  # fmt: skip
    scoring = parser.add_argument_group("scoring")
    options.add(scoring, "--protocol", "--metric", "--baseline", "--high_band_edge")
    options.add(scoring, "--workingdir", "--runtime", "--cpu")
    add_logging_flags(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    set_tensorflow_log_level()
    keep_freed_memory()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.run_folder and args.configuration:
        parser.error("give --run_folder (a trained run) or --configuration (with --weights or --oracle), not both")
    if not args.run_folder and not args.configuration:
        parser.error("nothing to score: give --run_folder RUN (a trained run), --weights W with --configuration C, or --configuration C with --oracle irm|ibm|mixture")
    if args.run_folder and args.weights and not args.checkpoint:
        # The old meaning (a checkpoint of the run): --weights is now the seed's, with --configuration.
        options.warn_deprecated(f"evaluate.py --run_folder RUN --weights {args.weights}", f"--checkpoint {args.weights}")
        args.checkpoint, args.weights = args.weights, None
    if args.checkpoint and (not args.run_folder or args.oracle):
        parser.error("--checkpoint picks a checkpoint of --run_folder; it needs --run_folder and no --oracle")
    if args.weights and args.oracle:
        parser.error("give --weights W (a model to score) or --oracle, not both")
    if args.collection and args.split:
        parser.error("--split picks songs of the configured collection; with --collection every song is scored")
    if args.protocol == "mir1k":
        given = [flag for flag, on in (("--baseline", args.baseline), ("--metric", args.metric != "museval"), ("--high_band_edge", args.high_band_edge != 11025.0)) if on]
        if given:
            parser.error(f"{given[0]} belongs to the standard protocol; --protocol mir1k always scores whole clips with BSSEval v3 (NSDR, GNSDR)")
    if args.cpu:
        hide_gpus()
    from unmix import log

    log.setup(verbose=args.verbose, quiet=args.quiet)
    return guarded(lambda: _run(args), verbose=args.verbose)


NUMERIC_FLAGS = ("--test_data_count", "--high_band_edge")


def _run(args: argparse.Namespace) -> int:
    from unmix.evaluation.evaluate import check_metric, evaluate_songs, format_table, write_accuracy, write_evaluation
    from unmix.evaluation.compare import format_baseline_comparison, read_baseline
    from unmix.evaluation.band_snr import check_edge_hz

    options.check_numbers(args, *NUMERIC_FLAGS)  # before any song is prepared
    if args.protocol == "mir1k":
        return _run_mir1k(args)
    metric = check_metric(args.metric)
    high_band_edge_hz = check_edge_hz(args.high_band_edge)
    config, run, working_directory = _configuration(args)
    baseline = read_baseline(args.baseline, metric=metric) if args.baseline else None  # before a long scoring
    songs, role, collection = _songs(args, config, working_directory=working_directory, run=run)
    estimator, label, epoch = _estimator(args, config, run, working_directory=working_directory)
    result = evaluate_songs(
        estimator, songs, sample_rate=config.collection.sample_rate, metric=metric, progress=not args.quiet, high_band_edge_hz=high_band_edge_hz
    )
    if not result.tracks:
        first = f" (first: {result.failed[0][0]}: {result.failed[0][1]})" if result.failed else ""
        raise DataError(f"no song could be scored: {len(result.failed)} failed{first}")
    folder, accuracy = _destination(run, collection, working_directory=working_directory)
    files = write_evaluation(result, folder, label=label, split=role, title=f"{label} on {collection} ({role} songs, {metric})")
    write_accuracy(result, accuracy, epoch=epoch, kind=role if args.oracle is None else f"{role}-{label}")
    title = f"{label} on {len(songs)} {role} song(s) of {collection}: {metric}, median over songs of per-track medians (dB)"
    lines = [*format_table(result, title=title), f"scores: {files.folder}", f"accuracy row: {accuracy}"]
    if baseline is not None:
        source, rows = baseline
        lines += format_baseline_comparison(source, result.tracks, rows)
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_FAILURE if result.failed else EXIT_OK


def _configuration(args: argparse.Namespace):
    """The configuration to score with, the run folder (None without one) and the working directory."""
    from unmix import config as configuration
    from unmix.config.validate import check_ranges
    from unmix.runfolder import RunFolder

    if args.collection:
        _check_collection(args.collection)
    working_directory = Path(args.workingdir) if args.workingdir else Path.cwd()
    run = RunFolder.open(args.run_folder) if args.run_folder else None
    if run is not None:
        config = configuration.load_resolved(run.configuration)
    else:
        if not args.oracle and not args.weights:
            raise ConfigurationError("--configuration alone scores nothing: add --weights W (trained with it) or --oracle irm|ibm|mixture, or pass --run_folder")
        config = configuration.load(args.configuration, working_directory=working_directory)
    check_ranges(config)  # a batch_size of 0 is named with its key and file before any song is prepared
    return config, run, working_directory


def _run_mir1k(args: argparse.Namespace) -> int:
    """``--protocol mir1k``: the clips at 16 kHz mono, scored whole; tracks.csv and global.csv."""
    from unmix.evaluation.mir1k import SAMPLE_RATE, evaluate_mir1k, format_mir1k_table, write_mir1k_tables

    config, run, working_directory = _configuration(args)
    config = config.replace("collection.sample_rate", SAMPLE_RATE).replace("collection.stereo", False)
    if args.collection:  # a folder of MIR-1K clips: every one, whatever the configuration's patterns
        config = config.replace("collection.channel_split.patterns", ["**/*.wav", "**/*.flac"])
    songs, role, collection = _songs(args, config, working_directory=working_directory, run=run)
    estimator, label, _ = _estimator(args, config, run, working_directory=working_directory)
    result = evaluate_mir1k(estimator, songs, progress=not args.quiet)
    if not result.clips:
        first = f" (first: {result.failed[0][0]}: {result.failed[0][1]})" if result.failed else ""
        raise DataError(f"no clip could be scored: {len(result.failed)} failed{first}")
    folder, _ = _destination(run, collection, working_directory=working_directory)
    tracks, overall = write_mir1k_tables(result, folder / f"{label}_mir1k")
    title = f"{label} on {len(songs)} {role} clip(s) of {collection}: MIR-1K protocol (dB)"
    sys.stdout.write("\n".join([*format_mir1k_table(result, title=title), f"scores: {tracks}", f"G-values: {overall}"]) + "\n")
    return EXIT_FAILURE if result.failed else EXIT_OK


def _check_collection(value: str) -> None:
    """``--collection`` names a folder; the message names the flag, not ``collection.folder``."""
    kind = what_is(Path(value).expanduser())
    if kind != "a folder":
        detail = "folder not found" if kind == "not found" else f"{kind}, not a folder"
        raise ConfigurationError(f"--collection {value}: {detail}; give the folder of a song collection (songs with their stems)")


def _destination(run, collection: str, *, working_directory: Path) -> tuple[Path, Path]:
    """The folder of the per-track scores and the accuracy CSV.

    A trained run keeps its evaluations. A built-in model's folder belongs to the installation
    (inside the package, or the models cache), so its results go under
    ``<workingdir>/evaluations/<model>/`` instead; without a run folder, under
    ``<workingdir>/evaluation/<collection>/``.
    """
    if run is None:
        folder = working_directory / "evaluation" / collection
        return folder, folder / f"accuracy_{collection}.csv"
    built_in = _built_in_name(run.path)
    if built_in is None:
        return run.evaluation(collection), run.accuracy(collection)
    base = working_directory / "evaluations" / built_in
    logger.info("%s is a built-in model: its results go to %s, not into its folder", built_in, base)
    return base / collection, base / f"accuracy_{collection}.csv"


def _built_in_name(folder: Path) -> str | None:
    """The built-in model whose folder ``folder`` is (or lies in the package or the models cache), else None."""
    from unmix.pretrained import catalog

    resolved = folder.resolve()
    for name in catalog.names():
        if catalog.describe(name).folder.resolve() == resolved:
            return name
    package = Path(catalog.__file__).resolve().parents[1]
    inside = [root for root in (package, catalog.models_dir().resolve()) if resolved.is_relative_to(root)]
    return resolved.name if inside else None


def _songs(args: argparse.Namespace, config, *, working_directory: Path, run) -> tuple[list, str, str]:
    """The songs to score, the name of their role, and the collection's name."""
    from unmix.data.collection import cache_folder, prepare_collection
    from unmix.data.split import hash_order

    def prepared_of(section):
        cache = cache_folder(config.environment, section, working_directory=working_directory)
        return prepare_collection(section, cache_dir=cache, workers=config.training.workers or None, progress=not args.quiet)

    collection = config.collection
    if args.collection:
        # Every song of another collection: no held-out or validation songs to respect.
        replaced = dataclasses.replace(
            collection, folder=str(args.collection), name=None, validation_songs=(), validation_split_file=None,
            test_data_count=0, song_limit=0, validation_ratio=0.0,
        )  # fmt: skip
        prepared = prepared_of(replaced)
        songs = [prepared.cached[i] for i in hash_order(prepared.cached)]
        return songs[: args.test_data_count] if args.test_data_count else songs, "all", prepared.collection_name
    role = args.split or "test"
    if role == "test" and args.test_data_count is not None:
        if run is not None and args.test_data_count > collection.test_data_count:
            logger.warning(
                "--test_data_count %d > the run's %d test songs: the extra songs may have been trained on",
                args.test_data_count, collection.test_data_count,
            )  # fmt: skip
        collection = dataclasses.replace(collection, test_data_count=args.test_data_count)
    prepared = prepared_of(collection)
    if role == "all":
        songs = [prepared.cached[i] for i in hash_order(prepared.cached)]
    else:
        songs = prepared.songs(_ROLE[role])
    if role != "test" and args.test_data_count:
        songs = songs[: args.test_data_count]
    if not songs:
        hint = "set --test_data_count N" if role == "test" else "choose another --split"
        raise DataError(f"no {role} songs in collection {prepared.collection_name}: {hint}")
    return list(songs), role, prepared.collection_name


def _estimator(args: argparse.Namespace, config, run, *, working_directory: Path):
    """The estimator, its label in file names, and the epoch its accuracy row carries."""
    if args.oracle:
        from unmix.dsp.stft import StftOptions
        from unmix.evaluation.oracles import Oracle

        stft = StftOptions.from_section(config.transformation)
        oracle = Oracle(args.oracle, stft=stft)
        return oracle, oracle.label, 0
    from unmix.separation.separator import Separator

    if run is None:  # --weights W --configuration C
        separator = Separator.from_weights(args.weights, args.configuration, working_directory=working_directory)
        return separator.separate, "model", _weights_epoch(Path(args.weights))
    weights = _checkpoint(args.checkpoint, run) if args.checkpoint else run.best_weights(choose_flag="--checkpoint FILE")
    separator = Separator.from_run_folder(run.path, weights=weights, runtime=args.runtime)
    return separator.separate, "model", _weights_epoch(weights)


def _checkpoint(name: str, run) -> Path:
    """``--checkpoint`` as given, else the file of that name in the run's ``weights/``."""
    for candidate in (Path(name), run.weights / name):
        if candidate.is_file():
            return candidate
    raise ConfigurationError(f"--checkpoint: no file {name} (nor {run.weights / name}): give a .weights.h5 checkpoint of this run")


def _weights_epoch(weights: Path) -> int:
    """The epoch in a checkpoint's name (``callback_weights_07.weights.h5``), else 0 (unknown)."""
    numbers = re.findall(r"\d+", weights.name.removesuffix(".weights.h5"))
    return int(numbers[-1]) if numbers and weights.name.startswith("callback_weights_") else 0


if __name__ == "__main__":
    sys.exit(main())
