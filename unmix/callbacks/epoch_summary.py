"""One summary line per epoch: losses, learning rate, seconds, peak memory.

Keras' progress bar shows the batches; this line is what stays readable in
logs.txt. It also puts the learning rate into the logs (before CSVLogger runs)
so results.csv records it.
"""

from __future__ import annotations

import logging
import time

import keras
import psutil

logger = logging.getLogger(__name__)


def current_learning_rate(model: keras.Model) -> float:
    rate = model.optimizer.learning_rate
    try:
        return float(keras.ops.convert_to_numpy(rate))
    except Exception:  # a schedule object
        return float(keras.ops.convert_to_numpy(rate(model.optimizer.iterations)))


class LearningRateLogger(keras.callbacks.Callback):
    """Add ``learning_rate`` to the epoch logs (place it before CSVLogger)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = current_learning_rate(self.model)


class EpochSummary(keras.callbacks.Callback):
    """Log ``epoch N/M: loss … val_loss … lr … s, peak … MB``."""

    def __init__(self, *, total_epochs: int) -> None:
        super().__init__()
        self.total_epochs = total_epochs
        self._started = 0.0
        self._process = psutil.Process()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        seconds = time.perf_counter() - self._started
        values = " ".join(f"{k} {float(v):.5g}" for k, v in sorted(logs.items()) if k != "learning_rate" and is_number(v))
        peak_mb = _peak_rss_mb(self._process)
        rate = logs.get("learning_rate", current_learning_rate(self.model))
        logger.info("epoch %d/%d: %s lr %.3g, %.1f s, peak %.0f MB", epoch + 1, self.total_epochs, values, rate, seconds, peak_mb)


def _peak_rss_mb(process: psutil.Process) -> float:
    info = process.memory_info()
    peak = getattr(info, "peak_wset", None)  # Windows
    if peak is None:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return peak / 2**20


def is_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
        return True
    except (TypeError, ValueError):
        return False
