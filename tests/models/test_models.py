"""Every registered model: shapes, mask range, one training step, save/load round trips."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from unmix.models import available_models, build_model, prediction_model
from unmix.training.losses import get_loss, loss_packs_mix
from unmix.training.metrics import get_metric

# Tiny options: a handful of filters so that each model compiles and steps in seconds.
TINY = {
    "dummy": {},
    "hourglass": {"stacks": 2, "initial_filters": 2, "hg_module": {"filters": 2}},
    "unet": {"filters": [2, 4, 4], "dropout": 0.5},
    "leakyrelu": {"dropout": 0.1},
    "largeleakyrelu": {"dropout": 0.1},
    "mask": {"dropout": 0.1},
    "rnn": {"hidden_size": 4, "layers": 2},
}
# The seed trained the leaky-ReLU family on vocal magnitudes with MSE; the others predict masks.
MAGNITUDE_MODELS = {"leakyrelu", "largeleakyrelu"}


def _setup(name: str) -> tuple[str, str]:
    return ("magnitude", "mse") if name in MAGNITUDE_MODELS else ("mask", "L11_loss")


# Two targets in a dict, magnitude output and 64-multiple windows: tested in test_spleeter.py.
OWN_TESTS = {"spleeter"}


def test_every_registered_model_has_tiny_options() -> None:
    assert set(TINY) == set(available_models()) - OWN_TESTS


@pytest.mark.parametrize("name", sorted(TINY))
@pytest.mark.parametrize("input_shape", [(33, 16, 2), (29, 13, 1)], ids=["stereo", "mono-odd"])
def test_output_shape_equals_input_shape_and_mask_in_unit_range(name, input_shape, rng) -> None:
    model = build_model(name, TINY[name], input_shape=input_shape, output="mask")
    x = rng.random((2, *input_shape), dtype=np.float32) * 4.0
    y = keras.ops.convert_to_numpy(model(x, training=False))
    assert tuple(model.input.shape) == (None, *input_shape)
    assert y.shape == (2, *input_shape)
    assert np.all(y >= 0.0) and np.all(y <= 1.0)


@pytest.mark.parametrize("name", sorted(TINY))
def test_magnitude_output_is_non_negative(name, rng) -> None:
    model = build_model(name, TINY[name], input_shape=(17, 8, 2), output="magnitude")
    y = keras.ops.convert_to_numpy(model(rng.normal(size=(1, 17, 8, 2)).astype(np.float32)))
    assert y.shape == (1, 17, 8, 2)
    assert np.all(y >= 0.0)


@pytest.mark.parametrize("name", sorted(TINY))
def test_get_config_round_trip(name) -> None:
    model = build_model(name, TINY[name], input_shape=(33, 16, 2))
    clone = keras.Model.from_config(model.get_config())
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    assert clone.count_params() == model.count_params()


def _train_save_load(model: keras.Model, x: np.ndarray, *, loss_name: str, rng, tmp_path) -> list[np.ndarray]:
    """Fit one step on ``x``, check .keras (safe mode) reproduces the predictions, save weights.

    Returns:
        The trained model's predictions for ``x``, one array per output.
    """
    input_shape = x.shape[1:]
    n_outputs = len(model.outputs)

    def per_output(value):  # intermediate supervision: every module's output gets the loss and the target
        return value if n_outputs == 1 else [value] * n_outputs

    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=per_output(get_loss(loss_name)),
        metrics=per_output([get_metric("mean_pred"), get_metric("max_pred")]),
        jit_compile=False,  # XLA compilation costs ~20 s per model on CPU and tests nothing of ours
    )
    n_target_channels = input_shape[-1] * (2 if loss_packs_mix(loss_name) else 1)
    y = rng.random((2, *input_shape[:2], n_target_channels), dtype=np.float32)
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y if n_outputs == 1 else (y,) * n_outputs, batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights())), "no weight moved"

    expected = [keras.ops.convert_to_numpy(t) for t in keras.tree.flatten(model(x, training=False))]
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    got = [keras.ops.convert_to_numpy(t) for t in keras.tree.flatten(loaded(x, training=False))]
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_array_equal(a, b)
    assert keras.tree.flatten(loaded.loss)[0] is get_loss(loss_name)

    model.save_weights(tmp_path / "model.weights.h5")
    return expected


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_trains_one_step_and_round_trips(name, rng, tmp_path) -> None:
    output, loss_name = _setup(name)
    input_shape = (33, 16, 2)
    model = build_model(name, TINY[name], input_shape=input_shape, output=output)
    x = rng.random((2, *input_shape), dtype=np.float32)
    expected = _train_save_load(model, x, loss_name=loss_name, rng=rng, tmp_path=tmp_path)

    fresh = build_model(name, TINY[name], input_shape=input_shape, output=output)
    fresh.load_weights(tmp_path / "model.weights.h5")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(fresh(x, training=False)), expected[0])


@pytest.mark.slow
def test_stacked_hourglass_trains_every_output_and_round_trips(rng, tmp_path) -> None:
    options = {
        "stacks": 1,
        "hourglasses": 2,
        "initial_filters": 2,
        "hg_module": {"filters": 2, "batchnormalization": True, "dropoutfactor": 0.1},
        "hg_module_end": {"batchnormalization": True},
    }
    model = build_model("hourglass", options, input_shape=(9, 4, 2))
    assert model.output_names == ["output_1", "output_2"]
    x = rng.random((2, 9, 4, 2), dtype=np.float32)
    expected = _train_save_load(model, x, loss_name="L11_loss", rng=rng, tmp_path=tmp_path)
    assert len(expected) == 2

    final = prediction_model(keras.saving.load_model(tmp_path / "model.keras", safe_mode=True))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(final(x, training=False)), expected[1])
