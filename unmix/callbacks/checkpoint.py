"""Best-model checkpoints that a kill can never leave half-written.

Keras' ModelCheckpoint writes in place; a kill during the write leaves a
truncated newest file that "pick the highest epoch" would choose. This callback
writes to a temporary name, renames it, and only then records it in
``weights/best.json`` (also atomically), so the record always names a complete file.
A write that fails (a full disk) leaves no ``.partial-*`` file and raises an
``OSError`` naming the checkpoint, which the trainer turns into one line; a write
that would not fit is not started (HDF5 can crash when the disk fills under it).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import keras
import numpy as np

from unmix.atomic import atomic_path, atomic_write_text
from unmix.callbacks.epoch_summary import is_number
from unmix.config.validate import monitor_mode
from unmix.data.disk import discard_partial_h5, ensure_space, h5_size
from unmix.runfolder import RunFolder

logger = logging.getLogger(__name__)

class BestCheckpoint(keras.callbacks.Callback):
    """Save the weights at each improvement of ``monitor``; record the best in best.json.

    Args:
        run_folder: the run folder (weights/ and best.json live there).
        file_template: e.g. ``callback_weights_{epoch:02d}.weights.h5`` (1-based epoch).
        monitor: the log key to watch, e.g. ``val_loss``.
        mode: ``min``, ``max`` or ``auto`` (see ``monitor_mode``).
        best_only: when False, every epoch is saved (best.json still names the best).
    """

    def __init__(self, run_folder: RunFolder, *, file_template: str, monitor: str = "val_loss", mode: str = "auto", best_only: bool = True) -> None:
        super().__init__()
        if not file_template.endswith(".weights.h5"):
            raise ValueError(f"checkpoint file must end in .weights.h5, received {file_template}")
        self.run_folder = run_folder
        self.file_template = file_template
        self.monitor = monitor
        self.best_only = best_only
        self.maximize = monitor_mode(monitor, mode) == "max"
        self.best = self._recorded_best()

    def _recorded_best(self) -> float | None:
        record = self.run_folder.best_record
        if record.is_file():
            try:
                return float(json.loads(record.read_text())["value"])
            except (ValueError, KeyError):
                return None
        return None

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        return value > self.best if self.maximize else value < self.best

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            logger.warning("checkpoint: %s is not in the logs (available: %s); nothing saved", self.monitor, ", ".join(sorted(logs or {})))
            return
        value = float(value)
        improved = math.isfinite(value) and self._improved(value)
        if not improved and self.best_only:
            return
        name = self._file_name(epoch, logs or {})
        target = self.run_folder.weights / name
        save_weights_atomically(self.model, target)
        if improved:
            logger.info("%s improved to %.6g: saved %s", self.monitor, value, target.name)
            self.best = value
            atomic_write_text(self.run_folder.best_record, json.dumps({"file": name, "epoch": epoch + 1, "monitor": self.monitor, "value": value}) + "\n")


    def _file_name(self, epoch: int, logs: dict) -> str:
        """The template filled in; a field the logs lack falls back to the epoch alone.

        ``check_configuration`` rejects unknown fields before training; this keeps an
        epoch's weights even if a model logs under other names than expected.
        """
        values = {k: float(v) for k, v in logs.items() if is_number(v)}
        try:
            return self.file_template.format(epoch=epoch + 1, **values)
        except (KeyError, IndexError, ValueError) as error:
            fallback = f"callback_weights_{epoch + 1:02d}.weights.h5"
            logger.warning("checkpoint: cannot fill %s (%s is not in the logs); saved as %s", self.file_template, error, fallback)
            return fallback


def weights_size(model: keras.Model) -> int:
    """About how many bytes ``model.save_weights`` writes (checked free before writing: see unmix.data.disk)."""
    n_bytes = sum(int(np.prod(w.shape)) * np.dtype(w.dtype).itemsize for w in model.weights)
    return h5_size(n_bytes, n_datasets=len(model.weights))


def save_weights_atomically(model: keras.Model, target: Path) -> None:
    """``model.save_weights`` through ``unmix.atomic`` (a temporary of this process, fsync, rename).

    The free space is checked first: HDF5 can crash when the disk fills under it.

    Raises:
        OSError: the write failed; nothing partial is left, and on a full disk the
            error is ``ENOSPC`` with ``filename`` set to ``target``.
    """
    with atomic_path(target, discard=discard_partial_h5) as temporary:
        ensure_space(temporary, weights_size(model))
        model.save_weights(temporary)
