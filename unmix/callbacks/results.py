"""``results.csv``: Keras' CSVLogger, appending to the run folder's results file, with a full disk named.

CSVLogger writes each epoch's row through an open file and flushes it; a full disk
raises an ``OSError`` that names no file, and the buffered rest of the row would be
written again (and fail again) when the file is collected. Here the failure closes the
file, dropping that rest, and names ``results.csv``, so that the trainer's
``stop_on_full_disk`` ends the run with its one line. The row cut short is removed on
``--resume`` (``RunFolder.keep_results_until``).
"""

from __future__ import annotations

import contextlib
import errno
import os

import keras

from unmix.atomic import is_no_space
from unmix.runfolder import RunFolder


class ResultsLogger(keras.callbacks.CSVLogger):
    """``keras.callbacks.CSVLogger`` on ``run_folder.results`` (appended: resumes continue it)."""

    def __init__(self, run_folder: RunFolder) -> None:
        super().__init__(str(run_folder.results), separator=run_folder.results_separator, append=True)
        self.run_folder = run_folder

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        try:
            super().on_epoch_end(epoch, logs)
        except OSError as error:
            if not is_no_space(error):
                raise
            if self.csv_file is not None:
                with contextlib.suppress(OSError):  # its flush fails again; the descriptor is closed all the same
                    self.csv_file.close()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.run_folder.results)) from error
