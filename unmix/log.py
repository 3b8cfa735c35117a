"""Console and file logging for the command-line tools.

Library modules only call ``logging.getLogger(__name__)``; this module is the one
place that installs handlers, and only the CLI calls ``setup``. The console gets
coloured lines on stderr (colorama), ``logs.txt`` the same lines without colour.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import sys
import time
import warnings
from pathlib import Path

import colorama

LOGGER_NAME = "unmix"
_COLOURS = {
    logging.DEBUG: colorama.Style.DIM,
    logging.INFO: "",
    logging.WARNING: colorama.Fore.YELLOW,
    logging.ERROR: colorama.Fore.RED,
    logging.CRITICAL: colorama.Fore.RED + colorama.Style.BRIGHT,
}


class _ConsoleFormatter(logging.Formatter):
    def __init__(self, *, colour: bool) -> None:
        super().__init__()
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.levelno >= logging.WARNING:
            text = f"{record.levelname.lower()}: {text}"
        if self.colour and _COLOURS.get(record.levelno):
            return f"{_COLOURS[record.levelno]}{text}{colorama.Style.RESET_ALL}"
        return text


class _FileFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(record.created))
        return f"{stamp}\t{record.levelname.capitalize()}: {record.getMessage()}"


def setup(*, verbose: bool = False, quiet: bool = False) -> logging.Logger:
    """Install the console handler on the ``unmix`` logger (idempotent).

    Args:
        verbose: show debug lines.
        quiet: show only warnings and errors.
    """
    logger = logging.getLogger(LOGGER_NAME)
    for handler in [h for h in logger.handlers if getattr(h, "_unmix_console", False)]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._unmix_console = True  # type: ignore[attr-defined]
    handler.setFormatter(_ConsoleFormatter(colour=sys.stderr.isatty()))
    handler.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    _runtime_warnings_to_debug(logger)
    return logger


def _runtime_warnings_to_debug(logger: logging.Logger) -> None:
    """Send numpy's RuntimeWarnings (overflow, invalid value, divide by zero) to the debug log.

    Each one printed two lines of numpy's wording and a source line on the console, beside the
    one-line messages unmix gives; what they point at is checked and said in unmix's own words
    (a NaN or too loud sample, a silent stem). ``--verbose`` and ``logs.txt`` still show them.
    Other warnings go on to the handler that was there. Installed by ``setup``, that is by a
    command, once; never at import.
    """
    previous = warnings.showwarning
    if getattr(previous, "_unmix_runtime", False):
        return

    def show(message, category, filename, lineno, file=None, line=None):  # warnings.showwarning's signature
        if issubclass(category, RuntimeWarning):
            logger.debug("%s: %s (%s:%d)", category.__name__, message, filename, lineno)
        else:
            previous(message, category, filename, lineno, file, line)

    show._unmix_runtime = True  # type: ignore[attr-defined]
    warnings.showwarning = show


class _RunLogHandler(logging.FileHandler):
    """logs.txt: on a full disk, lines are dropped quietly instead of a traceback per line.

    logging prints "--- Logging error ---" and a traceback for every record it cannot
    write; when the disk is full the run stops with its own one-line error anyway.
    """

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return
        super().handleError(record)


def add_log_file(path: Path) -> logging.Handler:
    """Also write every unmix log line (debug included) to ``path``, e.g. a run's logs.txt."""
    handler = _RunLogHandler(path, encoding="utf-8")
    handler.setFormatter(_FileFormatter())
    handler.setLevel(logging.DEBUG)
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return handler


def remove_handler(handler: logging.Handler) -> None:
    """Detach and close a handler added by ``add_log_file`` (a flush that fails on a full disk is dropped)."""
    logging.getLogger(LOGGER_NAME).removeHandler(handler)
    with contextlib.suppress(OSError):
        handler.close()
