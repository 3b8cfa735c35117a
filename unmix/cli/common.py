"""What every command shares: logging flags and the mapping of errors to exit codes.

Exit codes: 0 success, 1 runtime failure (any ``UnmixError``), 2 usage or
configuration error (``ConfigurationError``, argparse). Errors are one line on
stderr, never a traceback (``--verbose`` adds the traceback for bug reports).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from unmix.errors import ConfigurationError, UnmixError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
logger = logging.getLogger("unmix")


class NotAvailableYet(UnmixError):
    """A part of unmix that is planned but not built yet."""


def add_logging_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--verbose", action="store_true", help="show debug lines (and tracebacks on errors)")
    group.add_argument("--quiet", action="store_true", help="show only warnings and errors")


def guarded(body: Callable[[], int], *, verbose: bool) -> int:
    """Run ``body`` and turn unmix errors into one stderr line and an exit code."""
    try:
        return body()
    except ConfigurationError as error:
        _report(error, verbose=verbose)
        return EXIT_USAGE
    except UnmixError as error:
        _report(error, verbose=verbose)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: what was written so far is kept\n")
        return 130


def _report(error: Exception, *, verbose: bool) -> None:
    if verbose:
        logger.debug("traceback", exc_info=error)
    sys.stderr.write(f"error: {error}\n")


def not_available(feature: str) -> NotAvailableYet:
    return NotAvailableYet(f"{feature} is not available yet in this version of unmix")
