"""Losses: known answers on small arrays, the registry, Keras serialization in safe mode."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from unmix.errors import ConfigurationError
from unmix.models import build_model
from unmix.training.losses import LOSSES, get_loss, loss_packs_mix


def _value(name: str, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    return keras.ops.convert_to_numpy(get_loss(name)(y_true.astype(np.float32), y_pred.astype(np.float32)))


@pytest.fixture
def packed() -> tuple[np.ndarray, np.ndarray]:
    """Two windows of 2 bins x 1 frame x 1 channel: y_true = [target, mix], y_pred = mask."""
    target = np.array([1.0, 2.0, 0.0, 4.0]).reshape(2, 2, 1, 1)
    mix = np.array([2.0, 2.0, 4.0, 4.0]).reshape(2, 2, 1, 1)
    mask = np.array([0.5, 0.0, 0.25, 1.0]).reshape(2, 2, 1, 1)
    return np.concatenate([target, mix], axis=-1), mask


def test_l11_is_the_mean_absolute_error_of_the_masked_mix(packed) -> None:
    y_true, mask = packed
    # |1 - 1|, |2 - 0| -> 1.0 ; |0 - 1|, |4 - 4| -> 0.5
    np.testing.assert_allclose(_value("L11_loss", y_true, mask), [1.0, 0.5])


def test_l22_is_the_mean_squared_error_of_the_masked_mix(packed) -> None:
    y_true, mask = packed
    np.testing.assert_allclose(_value("L22_loss", y_true, mask), [2.0, 0.5])


def test_l11_does_not_depend_on_batch_size(packed) -> None:
    y_true, mask = packed
    doubled = _value("L11_loss", np.concatenate([y_true] * 2), np.concatenate([mask] * 2))
    assert np.mean(doubled) == pytest.approx(np.mean(_value("L11_loss", y_true, mask)))


def test_masked_losses_split_stereo_channels() -> None:
    target = np.ones((1, 2, 2, 2))
    mix = np.full((1, 2, 2, 2), 2.0)
    mask = np.stack([np.full((1, 2, 2), 0.5), np.zeros((1, 2, 2))], axis=-1)
    # Channel 0 reproduces the target exactly, channel 1 misses it by 1 everywhere.
    np.testing.assert_allclose(_value("L11_loss", np.concatenate([target, mix], axis=-1), mask), [0.5])


def test_stacked_targets_share_the_one_packed_mix() -> None:
    """Two targets of one channel (Park et al.: accompaniment, voice) over a mono mix: the mean of both errors."""
    accompaniment, voice = np.full((1, 2, 2, 1), 3.0), np.full((1, 2, 2, 1), 1.0)
    mix = np.full((1, 2, 2, 1), 2.0)
    masks = np.concatenate([np.full((1, 2, 2, 1), 1.5), np.full((1, 2, 2, 1), 1.0)], axis=-1)
    # The accompaniment is exact (1.5 x 2 = 3); the voice misses by |1 - 2| = 1: mean 0.5.
    np.testing.assert_allclose(_value("L11_loss", np.concatenate([accompaniment, voice, mix], axis=-1), masks), [0.5])


def test_plain_losses_known_answers() -> None:
    y_true = np.array([0.0, 1.0, 2.0, 3.0]).reshape(1, 2, 2, 1)
    y_pred = np.array([1.0, 1.0, 0.0, 3.0]).reshape(1, 2, 2, 1)
    # Squared errors 1, 0, 4, 0 -> mean 1.25 ; absolute errors 1, 0, 2, 0 -> mean 0.75.
    np.testing.assert_allclose(_value("mean_squared_error_noaxis", y_true, y_pred), [1.25])
    np.testing.assert_allclose(np.mean(_value("mse", y_true, y_pred)), 1.25)
    np.testing.assert_allclose(np.mean(_value("mean_squared_error", y_true, y_pred)), 1.25)
    np.testing.assert_allclose(np.mean(_value("mae", y_true, y_pred)), 0.75)
    np.testing.assert_allclose(np.mean(_value("mean_absolute_error", y_true, y_pred)), 0.75)


def test_rmse_is_the_root_over_the_whole_batch() -> None:
    y_true = np.zeros((2, 1, 2, 1))
    y_pred = np.array([1.0, 1.0, 3.0, 3.0]).reshape(2, 1, 2, 1)
    # Squared errors 1, 1, 9, 9 -> mean 5 -> sqrt(5), not the mean of per-window roots (2.0).
    np.testing.assert_allclose(_value("root_mean_squared_error", y_true, y_pred), [np.sqrt(5.0)] * 2, rtol=1e-6)


def test_binary_crossentropy_known_answer() -> None:
    y_true = np.array([1.0, 0.0]).reshape(1, 1, 1, 2)
    y_pred = np.array([0.8, 0.4]).reshape(1, 1, 1, 2)
    expected = -(np.log(0.8) + np.log(0.6)) / 2
    np.testing.assert_allclose(np.mean(_value("binary_crossentropy", y_true, y_pred)), expected, rtol=1e-5)


def test_registry_lookup_is_case_insensitive_and_knows_packing() -> None:
    assert get_loss("l11_LOSS") is get_loss("L11_loss")
    assert loss_packs_mix("L11_loss") and loss_packs_mix("l22_loss")
    assert not loss_packs_mix("mse") and not loss_packs_mix("mean_squared_error_noaxis")
    assert {"L11_loss", "L22_loss", "mae", "mse", "binary_crossentropy"} <= set(LOSSES.names())


def test_unknown_loss_lists_names_and_suggests() -> None:
    with pytest.raises(
        ConfigurationError,
        match=r"training\.loss_function: unknown loss 'L11loss'; known: .*L11_loss.*did you mean 'L11_loss'\?",
    ):
        get_loss("L11loss")
    with pytest.raises(ConfigurationError, match=r"^training\.loss_function: unknown loss 'zzz'; known: [^;]*$"):
        loss_packs_mix("zzz")


@pytest.mark.parametrize("name", ["L11_loss", "L22_loss", "mean_squared_error_noaxis", "root_mean_squared_error"])
def test_custom_losses_deserialize_in_safe_mode(name) -> None:
    config = keras.saving.serialize_keras_object(get_loss(name))
    assert keras.saving.deserialize_keras_object(config, safe_mode=True) is get_loss(name)


# The optimizer is never built before saving; Keras warns that it has no variables to restore.
@pytest.mark.filterwarnings("ignore:Skipping variable loading")
def test_compiled_model_reloads_in_safe_mode_without_custom_objects(tmp_path) -> None:
    model = build_model("dummy", None, input_shape=(3, 2, 1))
    model.compile(optimizer="adam", loss=get_loss("L11_loss"))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert loaded.loss is get_loss("L11_loss")
