"""progressbar2 bars on stderr, shared by preparation, separation and evaluation.

progressbar2 keeps the stderr it saw at its first import, which may be closed
since (a test capture or an embedding application replaced it); the bars here
always write to whatever ``sys.stderr`` is at each write. Keras draws its own bar
on stdout; :func:`end_open_line_on_error` keeps an error from being glued to it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
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


def end_count_bar(bar: Any) -> None:
    """End a :func:`count_bar`'s line at the count it reached: 100 % only when every item was counted."""
    bar.update(bar.value, force=True)
    bar.finish(dirty=True)


class SecondsBar:
    """``progress(done_seconds, total_seconds)`` of one song: counts the seconds done and, when shown, draws a bar.

    The bar starts at the first call, so a song that fails before any audio is decoded leaves no
    empty bar behind.
    """

    def __init__(self, name: str, *, show: bool) -> None:
        self.name = name
        self.show = show
        self.done_seconds = 0.0
        self.total_seconds = 0.0
        self._bar: Any = None

    def __call__(self, done_seconds: float, total_seconds: float) -> None:
        self.done_seconds, self.total_seconds = done_seconds, total_seconds
        if not self.show:
            return
        if self._bar is None:
            import progressbar

            widgets = [f"{self.name[:40]} ", progressbar.Percentage(), " ", progressbar.Bar(), " ", progressbar.SimpleProgress(format="%(value)d/%(max_value)d s"), " ", progressbar.ETA()]
            self._bar = progressbar.ProgressBar(max_value=max(1, int(total_seconds)), widgets=widgets, fd=CurrentStderr(), max_error=False)
            self._bar.start()
        self._bar.update(min(int(done_seconds), self._bar.max_value))

    def finish(self, *, complete: bool = True) -> None:
        """End the bar's line; it shows 100 % only for a song separated to the length last announced.

        An interrupted or failed song (``complete=False``), or one that decoded short of the
        length its header declared, keeps the seconds it reached, below 100 %: progressbar2's
        own ``finish`` would fill the bar whatever was done.
        """
        if self._bar is None:
            return
        if complete and self.done_seconds >= self.total_seconds:
            self._bar.finish()
            return
        self._bar.update(min(int(self.done_seconds), self._bar.max_value - 1), force=True)
        self._bar.finish(dirty=True)


class LineTracker:
    """A stream that forwards to another and remembers whether the last text left its line open."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.line_open = False

    def write(self, text: str) -> int:
        if text:
            self.line_open = not text.endswith("\n")
        return self.stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextlib.contextmanager
def end_open_line_on_error() -> Iterator[None]:
    """Route ``sys.stdout`` through a :class:`LineTracker` for the block; an exception ends an open line first.

    Keras' progress bar redraws one line of stdout and ends it only when the epoch is done, so
    an error raised in between (a full disk at a checkpoint, Ctrl-C) was written right after
    the bar, on the same line of the terminal. The newline goes to stdout, where the bar is,
    and is flushed before the exception travels on to whoever prints it.
    """
    tracker = LineTracker(sys.stdout)
    with contextlib.redirect_stdout(tracker):
        try:
            yield
        except BaseException:
            if tracker.line_open:
                with contextlib.suppress(OSError, ValueError):  # a closed or full stdout must not hide the error
                    tracker.write("\n")
                    tracker.flush()
            raise
