"""A full disk during training ends the run with one line, and ``--resume`` goes on from there.

Every writer of a run (checkpoints, the resume backup, best.json, the final exports)
writes through ``unmix.atomic``, which removes its temporary when a write fails and
names the file in the ``OSError``; results.csv is Keras' CSVLogger, whose full disk
``callbacks.results.ResultsLogger`` names. What
reaches ``stop_on_full_disk`` is turned into one ``TrainingError`` line. Before,
h5py printed its error stack again and again and the process died with a
segmentation fault (exit 139), leaving a ``.partial-*`` file: HDF5 crashes when
the space runs out as it closes a file, so the h5 writers check the free space
first (``unmix.data.disk.ensure_space``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

from unmix.atomic import PREFIX, is_no_space, no_space_message, target_of
from unmix.data.disk import discard_partial_h5
from unmix.errors import TrainingError
from unmix.runfolder import RunFolder

# HDF5's error stack names the file it failed on: "..., filename = '/x/y.h5', ...".
_HDF5_FILENAME = re.compile(r"filename = '([^']+)'")
# The temporaries of the run's writers (unmix.atomic's ".partial-*"; "*.partial" and "*.tmp": earlier versions').
PARTIAL_PATTERNS = (PREFIX + "*", "*.partial", "*.tmp")


@contextlib.contextmanager
def stop_on_full_disk(run: RunFolder) -> Iterator[None]:
    """Turn a full-disk error inside the block into ``TrainingError``; remove partial files.

    Raises:
        TrainingError: ``"no space left on device while writing FILE; free space, then
            continue with --resume RUN"``. Checkpoints and the backup written before stay.
    """
    try:
        yield
    except (OSError, RuntimeError) as error:
        if not is_no_space(error):
            raise
        remove_partial_files(run.path)
        raise TrainingError(no_space_message(written_file(error, run.path), then=f"continue with --resume {run.path}")) from error


def written_file(error: BaseException, fallback: Path) -> Path:
    """The file a failed write was writing: the error's filename, HDF5's, or ``fallback``."""
    filename = getattr(error, "filename", None)
    if filename:
        return Path(str(filename))
    match = _HDF5_FILENAME.search(str(error))
    if not match:
        return fallback
    return target_of(Path(match.group(1))) or Path(match.group(1))


def remove_partial_files(folder: Path) -> None:
    """Delete every temporary an interrupted write left in ``folder``."""
    for pattern in PARTIAL_PATTERNS:
        for path in folder.rglob(pattern):
            discard_partial_h5(path)
