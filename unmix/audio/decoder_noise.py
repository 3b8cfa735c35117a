"""Keep libmpg123's console chatter out of the user's terminal.

libsndfile decodes MP3 with a bundled libmpg123, which writes lines such as
``Note: Illegal Audio-MPEG-Header …`` or ``Warning: Xing stream size off …`` straight to
file descriptor 2, past Python's logging. While an MP3 call runs, :func:`muted` points
descriptor 2 at a temporary file; afterwards every decoder line is logged at debug level and
anything else written meanwhile (another thread's progress bar) is passed on unchanged. The
caller turns the first sign of damage in a file into one warning naming it
(:meth:`Capture.warn_once`). A size mismatch in the Xing header alone is not reported here:
it means the file was cut short, which the truncation check already says in its own words.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

# libmpg123's messages start with one of these words.
_DECODER_LINE = re.compile(r"^(Note|Warning|Error|\[[^\]]*\] (?:error|warning)): ")
# Descriptor 2 is one per process: one redirection at a time, or a restore could undo another's.
_redirect_lock = threading.Lock()


def split_decoder_lines(text: str) -> tuple[list[str], str]:
    """Split captured stderr text into (decoder lines, everything else unchanged)."""
    decoder: list[str] = []
    other: list[str] = []
    for line in text.splitlines(keepends=True):
        (decoder if _DECODER_LINE.match(line) else other).append(line)
    return [line.rstrip("\n") for line in decoder], "".join(other)


@dataclass
class Capture:
    """What the decoder said about one file, across one or more calls."""

    path: Path
    lines: list[str] = field(default_factory=list)
    warned: bool = False

    def damage(self) -> str | None:
        """The first decoder line that reports damage (not the Xing size note), or None."""
        for line in self.lines:
            if "Xing stream size" not in line:
                return line.split(": ", 1)[-1].rstrip(".!")
        return None

    def warn_once(self) -> None:
        """One warning naming the file, the first time damage shows."""
        reason = self.damage()
        if reason and not self.warned:
            self.warned = True
            logger.warning(
                "%s: the MP3 decoder skipped damaged data (%s); parts of the song may be missing or "
                "garbled: re-encode or replace the file", self.path, reason,
            )  # fmt: skip


@contextlib.contextmanager
def muted(capture: Capture) -> Iterator[Capture]:
    """Capture descriptor 2 during one libsndfile call on ``capture.path`` (MP3 only; others pass)."""
    if capture.path.suffix.lower() != ".mp3":
        yield capture
        return
    with _redirect_lock, tempfile.TemporaryFile(mode="w+b") as sink:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield capture
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            decoder, other = split_decoder_lines(sink.read().decode("utf-8", "replace"))
            if other:
                os.write(2, other.encode("utf-8", "replace"))
            for line in decoder:
                logger.debug("%s: MP3 decoder: %s", capture.path, line)
            capture.lines.extend(decoder)
