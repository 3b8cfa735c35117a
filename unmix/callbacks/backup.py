"""The resume backup, written so that a kill can never corrupt it.

Keras' BackupAndRestore writes ``latest.weights.h5`` in place: a SIGKILL during
that write leaves a truncated file, and ``--resume`` then fails to open it
(seen in tests/training/test_trainer.py). Here both files are written to
temporary names first and renamed over the old ones, weights before metadata,
so the backup on disk is always a complete epoch.
"""

from __future__ import annotations

import json
import os

import keras


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` with atomic writes (one backup per epoch)."""

    def _save_model(self) -> None:
        os.makedirs(self.backup_dir, exist_ok=True)
        weights = self._weights_path
        partial = os.path.join(os.path.dirname(weights), ".partial-" + os.path.basename(weights))
        self.model.save_weights(filepath=partial, overwrite=True)
        metadata = self._training_metadata_path + ".partial"
        with open(metadata, "w", encoding="utf-8") as handle:
            json.dump({"epoch": self._current_epoch, "batch": self._last_batch_seen}, handle)
        os.replace(partial, weights)
        os.replace(metadata, self._training_metadata_path)
