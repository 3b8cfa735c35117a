"""Prediction metrics: known answers, registry errors, serialization."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from unmix.errors import ConfigurationError
from unmix.models import build_model
from unmix.training.metrics import available_metrics, get_metric

Y_PRED = np.array([0.0, 0.5, 1.0, 0.25, 0.25, 0.5], dtype=np.float32).reshape(2, 3, 1, 1)


def test_mean_and_max_per_window() -> None:
    unused = np.zeros_like(Y_PRED)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(get_metric("mean_pred")(unused, Y_PRED)), [0.5, 1 / 3])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(get_metric("MAX_pred")(unused, Y_PRED)), [1.0, 0.5])


def test_unknown_metric() -> None:
    assert available_metrics() == ["max_pred", "mean_pred"]
    with pytest.raises(
        ConfigurationError,
        match=r"training\.metrics: unknown metric 'mean_prd'; known: max_pred, mean_pred; did you mean 'mean_pred'\?",
    ):
        get_metric("mean_prd")


# The optimizer is never built before saving; Keras warns that it has no variables to restore.
@pytest.mark.filterwarnings("ignore:Skipping variable loading")
def test_compiled_metrics_reload_in_safe_mode(tmp_path) -> None:
    model = build_model("dummy", None, input_shape=(3, 2, 1))
    model.compile(optimizer="adam", loss="mse", metrics=[get_metric("mean_pred"), get_metric("max_pred")])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    x = np.ones((1, 3, 2, 1), dtype=np.float32)
    results = loaded.evaluate(x, x, verbose=0, return_dict=True)
    assert set(results) == {"loss", "mean_pred", "max_pred"}
