"""progressbar2 bars on stderr, shared by preparation, separation and evaluation.

progressbar2 keeps the stderr it saw at its first import, which may be closed
since (a test capture or an embedding application replaced it); the bars here
always write to whatever ``sys.stderr`` is at each write.
"""

from __future__ import annotations

import sys
from typing import Any


class CurrentStderr:
    """A file-like object that forwards to the current ``sys.stderr``."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def count_bar(label: str, total: int, *, unit: str) -> Any:
    """A started bar ``<label> <n>/<total> <unit> [####] ETA``."""
    import progressbar

    widgets = [f"{label} ", progressbar.Counter(), f"/{total} {unit} ", progressbar.Bar(), " ", progressbar.ETA()]
    return progressbar.ProgressBar(max_value=max(total, 1), widgets=widgets, fd=CurrentStderr()).start()
