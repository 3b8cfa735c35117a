"""Loading a separation model and turning it into one fast forward-pass function."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from unmix.errors import ModelError

Predict = Callable[[np.ndarray], np.ndarray]


def load_model(weights: str | Path | None, config: Any, *, input_shape: tuple[int, ...], output: str) -> Any:
    """Build the configured model (or load a ``.keras`` file) and load the weights; only the last output is kept.

    Raises:
        ModelError: a missing weights file, an unknown suffix, or weights that do not fit.
    """
    import keras

    from unmix.models.registry import build_model, prediction_model

    model_section = config.training.model
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


def keras_predict(model: Any) -> Predict:
    """The model's forward pass as one graph for every batch size (traced once, never retraced)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return lambda x: np.asarray(model.predict_on_batch(x))
    import tensorflow as tf

    signature = [tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)]

    def forward(x: Any) -> Any:
        return model(x, training=False)

    graph = tf.function(forward, input_signature=signature, autograph=False)

    def predict(x: np.ndarray) -> np.ndarray:
        return np.asarray(graph(x))

    return predict
