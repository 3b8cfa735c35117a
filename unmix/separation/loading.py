"""Loading a separation model: the configured network, its weights, its statistics, its targets.

The forward pass becomes one traced graph for every batch size, so a song of any length runs
the same compiled function. A model with named outputs (``{"vocals": …, "instrumental": …}``)
predicts one estimate per target; any other model predicts the vocals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from unmix.errors import ModelError
from unmix.separation.kernel import Predict


@dataclass(frozen=True)
class LoadedRun:
    """What a run folder says a separator needs: the resolved configuration, the weights, the statistics."""

    config: Any
    weights: Path
    stats: Any


def open_run(path: str | Path, *, weights: str | Path | None = None) -> LoadedRun:
    """The resolved configuration, the weights (the best unless ``weights`` names one) and the statistics of a run.

    Raises:
        ConfigurationError: not a run folder, or a bad configuration.
        ModelError: no weights.
    """
    from unmix.config import load_resolved
    from unmix.runfolder import RunFolder

    folder = RunFolder.open(path)
    config = load_resolved(folder.configuration)
    chosen = Path(weights) if weights is not None else folder.best_weights()
    return LoadedRun(config=config, weights=chosen, stats=load_stats(folder.zmuv_stats))


def stats_beside(weights: Path) -> Any:
    """Statistics of loose weights: a ``zmuv.json`` beside them, or in the folder above (a run's ``weights/``)."""
    from unmix.runfolder import ZMUV_STATS

    for candidate in (weights.parent / ZMUV_STATS, weights.parent.parent / ZMUV_STATS):
        stats = load_stats(candidate)
        if stats is not None:
            return stats
    return None


def load_stats(path: Path) -> Any:
    """ZMUV statistics from ``path``, or None when there is no such file."""
    if not path.is_file():
        return None
    from unmix.dsp.normalizers import ZmuvStats

    return ZmuvStats.from_json(path)


def load_model(weights: str | Path | None, model_section: Any, *, input_shape: tuple[int, ...], output: str) -> Any:
    """Build the configured model (or load a ``.keras`` file) and load the weights; keep its predictions only.

    Args:
        weights: ``.weights.h5`` or ``.keras``; None keeps the model untrained.
        model_section: the configuration's ``training.model``.
        input_shape: ``(n_bins, size, n_channels)`` of one window.
        output: the transformer's output kind ("mask" or "magnitude").

    Raises:
        ModelError: a missing weights file, an unknown suffix, or weights that do not fit.
    """
    import keras

    from unmix.models.registry import build_model, prediction_model

    if weights is not None:
        weights = Path(weights)
        if not weights.is_file():
            raise ModelError(f"weights file not found: {weights}")
    try:
        if weights is not None and weights.suffix == ".keras":
            model = keras.saving.load_model(weights, compile=False, safe_mode=True)
        else:
            model = build_model(model_section.name, model_section.options, input_shape=input_shape, output=output)
            if weights is not None:
                if not weights.name.endswith(".h5"):
                    raise ModelError(f"cannot load weights {weights}: expected a .weights.h5 or .keras file")
                model.load_weights(weights)
    except (ValueError, OSError, KeyError, TypeError) as error:
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise ModelError(f"cannot load weights {weights} into model {model_section.name}: {first}; check that --configuration matches the weights") from None
    return prediction_model(model)


def targets_of(model: Any) -> tuple[str, ...]:
    """The target names of a Keras model: its output keys when they are named, else ``("vocals",)``."""
    output = getattr(model, "output", None)
    return tuple(output) if isinstance(output, Mapping) else ("vocals",)


def keras_predict(model: Any) -> Predict:
    """The model's forward pass as one graph for every batch size (traced once, never retraced)."""
    import keras

    named = isinstance(getattr(model, "output", None), Mapping)

    def as_numpy(y: Any) -> Any:
        return {name: np.asarray(value) for name, value in y.items()} if named else np.asarray(y)

    if keras.backend.backend() != "tensorflow":
        return lambda x: as_numpy(model.predict_on_batch(x))
    import tensorflow as tf

    signature = [tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)]

    def forward(x: Any) -> Any:
        return model(x, training=False)

    graph = tf.function(forward, input_signature=signature, autograph=False)

    def predict(x: np.ndarray) -> Any:
        return as_numpy(graph(x))

    return predict
