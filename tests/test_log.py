"""unmix.log: a run's logs.txt on a full disk drops its lines instead of a traceback per line."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

from unmix import log


def test_a_full_disk_under_logs_txt_prints_no_traceback(tmp_path: Path, capsys, monkeypatch) -> None:
    handler = log.add_log_file(tmp_path / "logs.txt")

    def full(text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(handler.stream, "write", full)
    monkeypatch.setattr(handler.stream, "flush", lambda: full(""))
    logging.getLogger("unmix.tests").info("a line that cannot be written")
    log.remove_handler(handler)  # its last flush fails too, quietly
    captured = capsys.readouterr()
    assert "Logging error" not in captured.err and "Traceback" not in captured.err


def test_other_logging_errors_are_still_reported(tmp_path: Path, capsys, monkeypatch) -> None:
    handler = log.add_log_file(tmp_path / "logs.txt")

    def broken(text: str) -> int:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(handler.stream, "write", broken)
    monkeypatch.setattr(logging, "raiseExceptions", True)
    logging.getLogger("unmix.tests").info("a line that cannot be written")
    monkeypatch.undo()
    log.remove_handler(handler)
    assert "Logging error" in capsys.readouterr().err


def test_numpy_runtime_warnings_go_to_the_debug_log_not_the_console(tmp_path: Path, capsys) -> None:
    """A command's console got numpy's two-line RuntimeWarnings beside unmix's one-line messages (issue 29, minor 17)."""
    import warnings

    import numpy as np

    saved = warnings.showwarning
    shown = []  # what reaches the handler that was there before: the console's
    try:
        warnings.showwarning = lambda message, category, *rest, **options: shown.append((category, str(message)))
        log.setup(verbose=False)
        handler = log.add_log_file(tmp_path / "logs.txt")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            np.array([1e39]).astype(np.float32)  # numpy: "overflow encountered in cast"
            warnings.warn("a deprecation stays visible", DeprecationWarning)
        log.remove_handler(handler)
    finally:
        warnings.showwarning = saved
    assert shown == [(DeprecationWarning, "a deprecation stays visible")]
    assert "overflow" not in capsys.readouterr().err
    assert "RuntimeWarning: overflow encountered in cast" in (tmp_path / "logs.txt").read_text()
