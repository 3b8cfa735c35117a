"""Importing TensorFlow without its start-up noise: the one place it is imported on purpose.

A separation whose network runs exported (``unmix.separation.exported``) never imports
TensorFlow at all; everything else that needs it (training, the Keras runtime) calls
:func:`import_tensorflow_quietly` first, so its start-up lines pass ``TF_CPP_MIN_LOG_LEVEL``.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile


# An absl/TF C++ log line: severity letter, MMDD, time, thread, file:line] message.
_ABSL_LINE = re.compile(r"^([IWEF])\d{4} [\d:.]+\s+\d+ [^\]]+\] (.*)$")
_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
_LEVELS = "IWEF"


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its import-time C++ log lines filtered by ``TF_CPP_MIN_LOG_LEVEL``.

    TensorFlow 2.21 logs "oneDNN custom operations are on" through absl before
    ``absl::InitializeLog()``, which writes to stderr whatever ``TF_CPP_MIN_LOG_LEVEL``
    says; and it does so twice, because two of its libraries carry their own copy of
    the check (``libtensorflow_framework.so.2`` and the profiler plugin
    ``_pywrap_profiler_plugin.so`` that ``import tensorflow`` loads). The import's
    stderr is captured at the descriptor level and replayed: absl lines below the
    level are dropped, repeated ones shown once, everything else kept as written.
    """
    if "tensorflow" in sys.modules:
        return
    try:
        level = int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") or 0)
    except ValueError:
        level = 0
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            _replay(capture.read().decode("utf-8", "replace"), level=level)


def _replay(text: str, *, level: int) -> None:
    seen: set[str] = set()
    kept = []
    for line in text.splitlines(keepends=True):
        match = _ABSL_LINE.match(line.rstrip("\n"))
        if line.rstrip("\n") == _ABSL_PREAMBLE:
            continue
        if match:
            if _LEVELS.index(match.group(1)) < level or match.group(2) in seen:
                continue
            seen.add(match.group(2))
        kept.append(line)
    if kept:
        sys.stderr.write("".join(kept))
        sys.stderr.flush()
