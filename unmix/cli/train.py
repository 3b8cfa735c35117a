"""``train.py`` / ``unmix-train``: train a separation model from a configuration.

TensorFlow is imported only after the arguments parse and the configuration
loads, so ``--help``, usage errors and unreadable configurations answer at once.
``--check`` then runs exactly the checks training runs before it creates a run
folder (``unmix.training.checks.check_configuration``): the names of models,
losses and optimizers live in registries that import TensorFlow, so it does too.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from unmix.cli import options
from unmix.cli.common import EXIT_OK, add_logging_flags, guarded, hide_gpus, import_tensorflow_quietly, set_tensorflow_log_level
from unmix.errors import ConfigurationError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="train.py",
        description="Train a network that splits songs into vocals and instrumental. "
        "Writes a run folder under <workingdir>/runs/.",
    )
    options.add(parser, "--configuration", note="what to train; default: $UNMIX_CONFIGURATION_FILE")
    options.add(parser, "--workingdir", "--resume", "--initial_weights", "--prepare_only", "--check", "--cpu")
    options.add(parser, "--list_models", note="the registered architectures, for training.model.name")
    options.add_deprecated(parser, "--weights", new="--initial_weights", command="train.py")
    add_logging_flags(parser)
    return parser


def configuration_path(argument: str | None, working_directory: Path) -> Path:
    """The configuration to use: the flag, else $UNMIX_CONFIGURATION_FILE (environment or .env)."""
    if argument:
        return Path(argument)
    from unmix.config import PROJECT_ROOT
    from unmix.config.env import load_environment

    variables = load_environment(working_directory=working_directory, project_root=PROJECT_ROOT)
    if variables.get("UNMIX_CONFIGURATION_FILE"):
        return Path(variables["UNMIX_CONFIGURATION_FILE"])
    raise ConfigurationError(
        "no configuration given: pass --configuration configurations/<name>.jsonc or set UNMIX_CONFIGURATION_FILE"
    )


def main(argv: list[str] | None = None) -> int:
    set_tensorflow_log_level()
    args = build_parser().parse_args(argv)
    if args.cpu:
        hide_gpus()
    from unmix import log

    log.setup(verbose=args.verbose, quiet=args.quiet)
    return guarded(lambda: _run(args), verbose=args.verbose)


def _run(args: argparse.Namespace) -> int:
    working_directory = Path(args.workingdir) if args.workingdir else Path.cwd()
    if args.list_models:
        import_tensorflow_quietly()
        from unmix.models.registry import available_models

        for name, description in available_models().items():
            sys.stdout.write(f"{name:16s} {description}\n")
        return EXIT_OK
    from unmix import config as configuration

    if args.resume:
        from unmix.runfolder import RunFolder

        run = RunFolder.open(args.resume)
        if args.configuration and not _same_file(Path(args.configuration), run.configuration):
            raise ConfigurationError(
                f"--resume {args.resume} continues with the run's own configuration ({run.configuration}), not --configuration "
                f"{args.configuration}: drop --configuration, or leave out --resume to train a new run with it"
            )
        from unmix.config.env import load_environment

        # The run's secrets are env() references in its configuration: read them from the environment and .env again.
        variables = load_environment(working_directory=working_directory, project_root=configuration.PROJECT_ROOT)
        config = configuration.load_resolved(run.configuration, environ=variables)
    else:
        config = configuration.load(configuration_path(args.configuration, working_directory), working_directory=working_directory)
    import_tensorflow_quietly()
    if args.check:
        from unmix.training.checks import check_configuration

        check_configuration(config)
        sys.stdout.write(config.to_json())
        return EXIT_OK
    configuration.require_collection_folder(config.collection)
    if args.initial_weights and not Path(args.initial_weights).is_file():
        raise ConfigurationError(f"--initial_weights: file not found: {args.initial_weights}")
    from unmix.training.trainer import train

    train(  # checks the configuration as --check does, before it creates the run folder
        config,
        working_directory=working_directory,
        resume=Path(args.resume) if args.resume else None,
        initial_weights=Path(args.initial_weights) if args.initial_weights else None,
        prepare_only=args.prepare_only,
        quiet=args.quiet,
    )
    return EXIT_OK


def _same_file(path: Path, other: Path) -> bool:
    return path.exists() and other.exists() and os.path.samefile(path, other)


if __name__ == "__main__":
    sys.exit(main())
