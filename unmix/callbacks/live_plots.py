"""Plots refreshed during training: the loss curves and spectrograms of one window.

matplotlib runs with the Agg backend (no display needed). A failing plot is a
warning, never a failed run.
"""

from __future__ import annotations

import logging
from pathlib import Path

import keras
import numpy as np

from unmix.atomic import atomic_path

logger = logging.getLogger(__name__)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


class LossPlot(keras.callbacks.Callback):
    """Write ``plots/loss.png`` (every loss-like key over epochs) after each epoch."""

    def __init__(self, path: Path, *, history: dict[str, list[float]] | None = None, first_epoch: int = 1) -> None:
        super().__init__()
        self.path = path
        self.history: dict[str, list[float]] = {k: list(v) for k, v in (history or {}).items()}
        self.epochs: list[int] = list(range(first_epoch, first_epoch + len(next(iter(self.history.values()), []))))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epochs.append(epoch + 1)
        for key, value in (logs or {}).items():
            if "loss" in key:
                self.history.setdefault(key, [np.nan] * (len(self.epochs) - 1)).append(float(value))
        try:
            plt = _pyplot()
            figure, axis = plt.subplots(figsize=(7, 4))
            for key, values in sorted(self.history.items()):
                axis.plot(self.epochs[-len(values):], values, label=key, marker="." if len(values) < 30 else None)
            axis.set_xlabel("epoch")
            axis.set_ylabel("loss")
            axis.set_yscale("log" if all(v > 0 for vs in self.history.values() for v in vs if np.isfinite(v)) else "linear")
            axis.legend()
            axis.grid(alpha=0.3)
            figure.tight_layout()
            save_figure(figure, self.path, dpi=100)
            plt.close(figure)
        except Exception as error:  # a plot must never stop training
            logger.warning("could not write %s: %s", self.path, error)


class SpectrogramPlot(keras.callbacks.Callback):
    """Every ``every`` epochs, plot mix, true vocals and predicted vocals of one fixed window.

    Args:
        folder: the run's plots/ folder.
        window: ``(x, mix_mag, vocals_mag)`` of one validation window, (bins, frames, ch).
        to_vocals: maps the model's prediction for x to a vocals magnitude (the representation's).
        every: epochs between plots.
    """

    def __init__(self, folder: Path, *, window: tuple[np.ndarray, np.ndarray, np.ndarray], to_vocals, every: int = 5) -> None:
        super().__init__()
        self.folder = folder
        self.window = window
        self.to_vocals = to_vocals
        self.every = max(1, every)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (epoch + 1) % self.every and epoch != 0:
            return
        x, mix_mag, vocals_mag = self.window
        try:
            prediction = self.model.predict_on_batch(x[None])
            if isinstance(prediction, dict):  # one output per stem
                prediction = prediction["vocals"]
            elif isinstance(prediction, (list, tuple)):
                prediction = prediction[-1]
            predicted = self.to_vocals(np.asarray(prediction)[0], mix_mag)
            plt = _pyplot()
            figure, axes = plt.subplots(1, 3, figsize=(12, 4), sharey=True)
            for axis, (title, magnitude) in zip(axes, [("mix", mix_mag), ("true vocals", vocals_mag), ("predicted vocals", predicted)]):
                axis.imshow(20 * np.log10(magnitude[..., 0] + 1e-6), origin="lower", aspect="auto", cmap="magma", vmin=-80, vmax=20)
                axis.set_title(title)
                axis.set_xlabel("frame")
            axes[0].set_ylabel("bin")
            figure.suptitle(f"epoch {epoch + 1}")
            figure.tight_layout()
            save_figure(figure, self.folder / f"spectrogram_epoch_{epoch + 1:04d}.png", dpi=80)
            plt.close(figure)
        except Exception as error:
            logger.warning("could not plot spectrograms at epoch %d: %s", epoch + 1, error)


def save_figure(figure, path: Path, *, dpi: int) -> None:
    """``figure.savefig`` through a temporary name: a full disk leaves the last good image, not an empty one."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=dpi)


def plot_model_diagram(model: keras.Model, path: Path) -> None:
    """``keras.utils.plot_model``; a missing graphviz binary or pydot is a warning."""
    try:
        keras.utils.plot_model(model, to_file=str(path), show_shapes=True)
    except (ImportError, OSError, Exception) as error:  # pydot/graphviz raise assorted types
        logger.warning("model diagram skipped (%s): install graphviz (apt-get install graphviz) for plots/model.png", str(error).splitlines()[0][:120] if str(error) else type(error).__name__)
