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
