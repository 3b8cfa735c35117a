"""The resume backup, written so that a kill can never corrupt it.

Keras' BackupAndRestore writes ``latest.weights.h5`` in place: a SIGKILL during
that write leaves a truncated file, and ``--resume`` then fails to open it
(seen in tests/training/test_trainer.py). Its ``double_checkpoint`` option keeps
a copy of the previous backup for that failure, but ``on_train_begin`` falls back
to it only when loading raises ``OSError`` (a half-written metadata file raises
``ValueError`` and is not covered), and it doubles the disk use. Here the public ``on_epoch_end`` hook writes both files
through ``unmix.atomic`` instead, weights before metadata, under the names
``RunFolder`` gives (Keras' own, so its ``on_train_begin`` restores them): the
backup on disk is always a complete epoch, and a failed write (a full disk)
leaves no partial file behind. No private member of Keras is used or overridden.
``check_backup`` refuses, in one line, a backup that cannot be resumed from,
before anything is loaded.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import keras

from unmix.callbacks.checkpoint import save_weights_atomically
from unmix.errors import TrainingError
from unmix.runfolder import RunFolder


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` with atomic writes, one backup per epoch.

    Restoring is Keras' own (``on_train_begin``); the backup is kept after training
    (``--resume`` of a finished run continues nothing, and the files say where it ended).
    """

    def __init__(self, run_folder: RunFolder) -> None:
        super().__init__(backup_dir=str(run_folder.backup), save_freq="epoch", delete_checkpoint=False)
        self.run_folder = run_folder

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        save_weights_atomically(self.model, self.run_folder.backup_weights)
        self.run_folder.write_backup_epoch(epoch + 1)


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
        run.backup_epoch()
    except OSError:
        raise refuse(metadata, 'not the JSON object {"epoch": N} that Keras writes (truncated or edited?)') from None
    except ValueError as error:
        raise refuse(metadata, str(error)) from None
    try:
        with h5py.File(weights, "r") as file:
            file.keys()
    except (OSError, RuntimeError, ValueError):
        raise refuse(weights, "not a readable HDF5 weights file (truncated?)") from None
