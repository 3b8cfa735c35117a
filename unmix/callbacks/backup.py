"""The resume backup, written so that a kill can never corrupt it.

Keras' BackupAndRestore writes ``latest.weights.h5`` in place: a SIGKILL during
that write leaves a truncated file, and ``--resume`` then fails to open it
(seen in tests/training/test_trainer.py). Here both files are written to
temporary names first and renamed over the old ones, weights before metadata,
so the backup on disk is always a complete epoch. A failed write (a full disk)
leaves no partial file behind; ``check_backup`` refuses, in one line, a backup
that cannot be resumed from, before anything is loaded.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import h5py
import keras

from unmix.callbacks.checkpoint import weights_size
from unmix.data.disk import discard_partial_h5, ensure_space, is_no_space
from unmix.errors import TrainingError
from unmix.runfolder import RunFolder


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` with atomic writes (one backup per epoch)."""

    def _save_model(self) -> None:
        weights = self._weights_path
        partial = os.path.join(os.path.dirname(weights), ".partial-" + os.path.basename(weights))
        metadata = self._training_metadata_path + ".partial"
        writing = weights  # what the error names: the file the user sees
        try:
            os.makedirs(self.backup_dir, exist_ok=True)
            ensure_space(Path(partial), weights_size(self.model))
            self.model.save_weights(filepath=partial, overwrite=True)
            writing = self._training_metadata_path
            with open(metadata, "w", encoding="utf-8") as handle:
                json.dump({"epoch": self._current_epoch, "batch": self._last_batch_seen}, handle)
            os.replace(partial, weights)
            os.replace(metadata, self._training_metadata_path)
        except BaseException as error:
            discard_partial_h5(Path(partial))
            Path(metadata).unlink(missing_ok=True)
            if is_no_space(error):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), writing) from error
            raise


def check_backup(run: RunFolder) -> None:
    """Refuse a backup that ``--resume`` cannot continue from, before any training starts.

    Raises:
        TrainingError: the weights file is truncated or not HDF5, the metadata is not
            ``{"epoch": <whole number>}``, or one of the two is missing; the message names
            the file and says how to go on.
    """
    weights, metadata = run.backup_weights, run.backup_metadata
    if not weights.exists() and not metadata.exists():
        return

    def refuse(path: Path, reason: str) -> TrainingError:
        return TrainingError(
            f"cannot resume from {path}: {reason}; delete {run.backup} to restart this run from its first epoch, "
            f"or start a new run without --resume"
        )

    for present, absent in ((weights, metadata), (metadata, weights)):
        if present.exists() and not absent.exists():
            raise refuse(absent, f"it is missing while {present.name} exists")
    try:
        epoch = json.loads(metadata.read_text(encoding="utf-8")).get("epoch")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        raise refuse(metadata, 'not the JSON object {"epoch": N} that Keras writes (truncated or edited?)') from None
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise refuse(metadata, f"its epoch is {epoch!r}, expected a whole number >= 0")
    try:
        with h5py.File(weights, "r") as file:
            file.keys()
    except (OSError, RuntimeError, ValueError):
        raise refuse(weights, "not a readable HDF5 weights file (truncated?)") from None
