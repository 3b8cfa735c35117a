"""The callbacks of a training run, built from ``training.callbacks``.

Keras' own callbacks first (CSVLogger, BackupAndRestore, EarlyStopping,
ReduceLROnPlateau, TerminateOnNaN, TensorBoard); unmix's own where a run-folder
artifact needs it (atomic best checkpoints, plots, the summary line).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import keras

from unmix.callbacks.backup import AtomicBackupAndRestore
from unmix.callbacks.checkpoint import BestCheckpoint, monitor_mode
from unmix.callbacks.epoch_summary import EpochSummary, LearningRateLogger
from unmix.callbacks.live_plots import LossPlot
from unmix.callbacks.results import ResultsLogger
from unmix.runfolder import RunFolder

logger = logging.getLogger(__name__)


def _section(callbacks: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    section = callbacks.get(name, {})
    return section if section.get("enabled", True) else {}


def build_callbacks(
    run_folder: RunFolder,
    *,
    callbacks: Mapping[str, Any],
    monitor_fallback: str,
    total_epochs: int,
    history: dict[str, list[float]],
    first_epoch: int,
    extra: list[keras.callbacks.Callback] = (),
    quiet: bool = False,
) -> list[keras.callbacks.Callback]:
    """Return the callback list in the order they must run at each epoch end.

    Every path comes from ``run_folder`` (open it with ``RunFolder.names`` of the same
    ``callbacks``); the monitor directions from ``monitor_mode``.

    Args:
        monitor_fallback: the key to monitor when the configured one cannot exist
            (``loss`` when there are no validation songs).
        history: earlier epochs' values (resume), for the loss plot.
        first_epoch: the 1-based epoch the history starts at.
        extra: callbacks that run after the checkpoint (e.g. spectrogram plots, accuracy).
        quiet: Keras' own callbacks print nothing (``--quiet``); unmix's log lines still go to logs.txt.
    """

    def monitor(section: Mapping[str, Any]) -> str:
        wanted = section.get("monitor", "val_loss")
        return monitor_fallback if wanted.startswith("val_") and monitor_fallback == "loss" else wanted

    def mode(section: Mapping[str, Any], name: str) -> str:
        return monitor_mode(monitor(section), section.get("mode", "auto"), key=f"training.callbacks.{name}")

    result: list[keras.callbacks.Callback] = [
        keras.callbacks.TerminateOnNaN(),
        LearningRateLogger(),
    ]
    if reduce := _section(callbacks, "reduce_learningrate"):
        result.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor(reduce),
                factor=reduce.get("factor", 0.2),
                patience=reduce.get("patience", 5),
                mode=mode(reduce, "reduce_learningrate"),
                min_lr=reduce.get("min_learningrate", reduce.get("min_lr", 0.0)),
                verbose=0 if quiet else 1,
            )
        )
    if checkpoint := _section(callbacks, "model_checkpoint"):
        result.append(
            BestCheckpoint(
                run_folder,
                file_template=_weights_template(checkpoint.get("file", "callback_weights_{epoch:02d}.weights.h5")),
                monitor=monitor(checkpoint),
                mode=mode(checkpoint, "model_checkpoint"),
                best_only=checkpoint.get("best_only", True),
            )
        )
    if _section(callbacks, "csv_logger"):
        result.append(ResultsLogger(run_folder))
    result.append(AtomicBackupAndRestore(run_folder))
    if board := _section(callbacks, "tensorboard"):
        result.append(
            keras.callbacks.TensorBoard(
                log_dir=str(run_folder.tensorboard),
                histogram_freq=board.get("histogram_freq", 0),
                write_graph=board.get("write_graph", True),
                update_freq=board.get("update_freq", "epoch"),
            )
        )
    result.append(LossPlot(run_folder.plots / "loss.png", history=history, first_epoch=first_epoch))
    result.extend(extra)
    if stopping := _section(callbacks, "early_stopping"):
        result.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor(stopping),
                min_delta=stopping.get("min_delta", 0.0),
                mode=mode(stopping, "early_stopping"),
                patience=stopping.get("patience", 20),
                restore_best_weights=stopping.get("restore_best_weights", True),
                verbose=0 if quiet else stopping.get("verbose", 1),
            )
        )
    result.append(EpochSummary(total_epochs=total_epochs))
    return result


def _weights_template(name: str) -> str:
    """Seed configurations name ``….h5``; Keras 3 weights files must end in ``.weights.h5``."""
    if name.endswith(".weights.h5"):
        return name
    stem = name[: -len(".h5")] if name.endswith(".h5") else name
    return stem + ".weights.h5"
