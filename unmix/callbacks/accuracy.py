"""`accuracy_<collection>.csv` during training: separation scores of the test songs.

Every `collection.test_frequency` epochs (0: only when training ends) the test songs are
separated with the current weights through the real separation path (`Separator`:
STFT, windows, model, overlap-add, inverse STFT), scored, and one row of median scores
is appended to the run's accuracy CSV. The first `collection.test_save_count` separated
songs go to `predictions/` and the SDR history to `plots/accuracy.png`.

The separator wraps the training model itself, built once: no model is rebuilt or
reloaded per evaluation, so the weights are always the current ones and nothing
accumulates across evaluations. Scoring runs synchronously between two epochs: training
waits exactly as long as the scoring takes. A failing song, or a failing evaluation, is
logged and training goes on.
"""

from __future__ import annotations

import csv
import gc
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from unmix import audio
from unmix.data.cache import CachedSong
from unmix.evaluation.evaluate import Estimator, check_metric, evaluate_songs, write_accuracy
from unmix.evaluation.plots import sdr_history_plot
from unmix.evaluation.scores_io import SOURCE_PREFIXES, score_column
from unmix.runfolder import RunFolder

logger = logging.getLogger(__name__)

PLOT_NAME = "accuracy.png"
# Builds the estimator around the training model: `factory(model)(mixture, sample_rate=...)`.
SeparatorFactory = Callable[[keras.Model], Estimator]


class AccuracyCallback(keras.callbacks.Callback):
    """Score the test songs with the current weights every `every` epochs.

    Args:
        run_folder: the run; the CSV is `run_folder.accuracy(collection_name)`.
        songs: the test songs (cached); none: one warning, then nothing.
        separator_factory: called once with the training model, returns the estimator
            (`separator_for_training(...)` builds the real one).
        every: epochs between evaluations (`collection.test_frequency`); 0 evaluates only
            when training ends. Training also ends with an evaluation when its last epoch
            was not one.
        save_count: how many separated songs to write to `predictions/` per evaluation
            (`collection.test_save_count`), as `<epoch>_<song>_<stem>.wav`.
        metric: "museval", "mir_eval" or "global".
        collection_name: names the CSV.
        kind: the CSV's `type` column.

    Raises:
        ConfigurationError: an unknown metric, or a negative `every` or `save_count`.
    """

    def __init__(
        self,
        run_folder: RunFolder,
        *,
        songs: Sequence[CachedSong],
        separator_factory: SeparatorFactory,
        every: int,
        save_count: int,
        metric: str = "museval",
        collection_name: str,
        kind: str = "test",
    ) -> None:
        super().__init__()
        from unmix.errors import ConfigurationError

        for key, value in (("test_frequency", every), ("test_save_count", save_count)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigurationError(f"collection.{key}: Received: {value!r}; expected a whole number >= 0.")
        self.run_folder = run_folder
        self.songs = list(songs)
        self.separator_factory = separator_factory
        self.every = every
        self.save_count = save_count
        self.metric = check_metric(metric)
        self.collection_name = collection_name
        self.kind = kind
        self._estimator: Estimator | None = None
        self._last_epoch: int | None = None
        self._last_evaluated: int | None = None
        self._warned = False

    @property
    def csv_path(self) -> Path:
        """`accuracy_<collection>.csv` in the run folder."""
        return self.run_folder.accuracy(self.collection_name)

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        if not self.songs and not self._warned:
            logger.warning("no test songs (collection.test_data_count = 0): %s is not written", self.csv_path.name)
            self._warned = True

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._last_epoch = epoch + 1
        if self.every and (epoch + 1) % self.every == 0:
            self.evaluate(epoch + 1)

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        if self._last_epoch is not None and self._last_evaluated != self._last_epoch:
            self.evaluate(self._last_epoch)

    def evaluate(self, epoch: int) -> None:
        """Separate and score the test songs now and append the row of `epoch`; never raises."""
        if not self.songs:
            return
        self._last_evaluated = epoch
        started = time.perf_counter()
        try:
            if self._estimator is None:
                self._estimator = self.separator_factory(self.model)
            result = evaluate_songs(
                self._estimator,
                self.songs,
                sample_rate=self.songs[0].sample_rate,
                metric=self.metric,
                progress=False,
                on_estimates=lambda index, name, estimates: self._save(epoch, index, name, estimates),
            )
            if not result.tracks:
                logger.error("epoch %d: no test song could be scored; no accuracy row written", epoch)
                return
            write_accuracy(result, self.csv_path, epoch=epoch, kind=self.kind)
            medians = result.medians()
            logger.info(
                "epoch %d accuracy (%s, %d song(s), %.1f s): vocals SDR %.2f dB, instrumental SDR %.2f dB",
                epoch, self.metric, len(result.tracks), time.perf_counter() - started,
                medians["vocals"]["SDR"], medians["instrumental"]["SDR"],
            )  # fmt: skip
            self._plot()
        except Exception as error:  # an evaluation must never stop training
            logger.error("epoch %d: accuracy evaluation failed: %s", epoch, error)
            logger.debug("traceback", exc_info=error)
        finally:
            gc.collect()

    def _save(self, epoch: int, index: int, name: str, estimates: Mapping[str, np.ndarray]) -> None:
        if index >= self.save_count:
            return
        sample_rate = self.songs[0].sample_rate
        for stem, samples in estimates.items():
            audio.save(self.run_folder.prediction(epoch, name, stem), samples, sample_rate)

    def _plot(self) -> None:
        epochs, sdr = read_sdr_history(self.csv_path, metric=self.metric, kind=self.kind)
        if not epochs:
            return
        try:
            sdr_history_plot(
                self.run_folder.plots / PLOT_NAME, epochs, sdr,
                title=f"{self.collection_name} {self.kind} songs ({self.metric})",
            )  # fmt: skip
        except Exception as error:
            logger.warning("could not write %s: %s", PLOT_NAME, error)


def read_sdr_history(path: Path, *, metric: str, kind: str) -> tuple[list[int], dict[str, list[float]]]:
    """Epochs and SDR per source of the accuracy CSV's rows of one metric and kind.

    Reading the file (instead of remembering rows) keeps the plot whole across resumes.
    """
    epochs: list[int] = []
    sdr: dict[str, list[float]] = {source: [] for source in SOURCE_PREFIXES}
    columns = {source: score_column(source, "SDR") for source in SOURCE_PREFIXES}
    if not path.is_file():
        return epochs, sdr
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            if row.get("metric") != metric or row.get("type") != kind:
                continue
            try:
                epoch, values = int(row["epoch"]), {source: _float(row[column]) for source, column in columns.items()}
            except (KeyError, TypeError, ValueError):
                continue
            epochs.append(epoch)
            for source, value in values.items():
                sdr[source].append(value)
    return epochs, sdr


def separator_for_training(config: Any, *, stats: Any) -> SeparatorFactory:
    """The factory `AccuracyCallback` needs: a `Separator` around the training model.

    The separator shares the model's weights (its final output for models with several
    intermediate ones), so each evaluation uses the weights of that moment. It is built by
    `Separator.for_model`, the same path (and the same defaults) as `predict.py`.

    Args:
        config: the run's `Config`.
        stats: the ZMUV statistics, or None.
    """

    def factory(model: keras.Model) -> Estimator:
        from unmix.models.registry import prediction_model
        from unmix.separation.separator import Separator

        return Separator.for_model(prediction_model(model), config, stats=stats).separate

    return factory


def accuracy_callback(run_folder: RunFolder, *, collection: Any, prepared: Any, separator_factory: SeparatorFactory) -> AccuracyCallback:
    """The trainer's accuracy callback: the ``collection`` section's frequency and count, the split's test songs.

    Args:
        collection: the configuration's ``collection`` section (``CollectionOptions``).
        prepared: the prepared split (its test songs and collection name).
        separator_factory: from ``separator_for_training``.
    """
    return AccuracyCallback(
        run_folder,
        songs=prepared.songs("test"),
        separator_factory=separator_factory,
        every=collection.test_frequency,
        save_count=collection.test_save_count,
        collection_name=prepared.collection_name,
    )


def _float(text: str) -> float:
    value = float(text)
    return value if math.isfinite(value) else math.nan
