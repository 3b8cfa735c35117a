"""``training.high_band_loss``: the bins above a frequency counted more in the loss (issue 27)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from unmix.cli.train import main

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import write_collection, write_configuration  # noqa: E402


def _pair(seed: int = 0, *, n_channels: int = 2):
    rng = np.random.default_rng(seed)
    return rng.random((3, 8, 5, n_channels), dtype=np.float32), rng.random((3, 8, 5, 2), dtype=np.float32)


@pytest.mark.parametrize("weight", [1.0, 4.0, 0.25])
def test_the_band_weighted_mae_is_the_bin_weighted_mean_of_the_errors(weight):
    from unmix.training.losses import BandWeightedLoss

    y_true, y_pred = _pair()
    bin_weights = np.where(np.arange(8) >= 6, weight, 1.0)[None, :, None, None]
    expected = np.mean(np.sum(bin_weights * np.abs(y_true - y_pred), axis=(1, 2, 3)) / (bin_weights.sum() * 5 * 2))
    got = float(BandWeightedLoss("mean_absolute_error", 6, weight)(y_true, y_pred))
    assert got == pytest.approx(expected, rel=1e-5)
    if weight == 1.0:  # the plain loss
        assert got == pytest.approx(float(np.mean(np.abs(y_true - y_pred))), rel=1e-5)


def test_a_mask_loss_is_weighted_on_the_masked_mixture():
    from unmix.training.losses import BandWeightedLoss

    rng = np.random.default_rng(1)
    target, mix, mask = (rng.random((2, 8, 5, 2), dtype=np.float32) for _ in range(3))
    packed = np.concatenate([target, mix], axis=-1)
    error = np.abs(target - mask * mix)
    expected = (6 * error[:, :6].mean() + 3 * 2 * error[:, 6:].mean()) / (6 + 3 * 2)
    assert float(BandWeightedLoss("L11_loss", 6, 3.0)(packed, mask)) == pytest.approx(expected, rel=1e-5)


def test_the_teacher_mixed_loss_weighs_the_band_in_both_terms():
    from unmix.training.losses import BandWeightedLoss, TeacherMixedLoss

    true, pred = _pair(2)
    teacher, _ = _pair(3)
    mixed = TeacherMixedLoss("mse", 0.7, edge=5, band_weight=8.0)
    band = BandWeightedLoss("mse", 5, 8.0)
    expected = 0.3 * float(band(true, pred)) + 0.7 * float(band(teacher, pred))
    assert float(mixed(np.concatenate([true, teacher], axis=-1), pred)) == pytest.approx(expected, rel=1e-5)
    plain = TeacherMixedLoss("mse", 0.7)  # no band: as before
    assert float(plain(np.concatenate([true, teacher], axis=-1), pred)) == pytest.approx(
        0.3 * np.mean((true - pred) ** 2) + 0.7 * np.mean((teacher - pred) ** 2), rel=1e-5
    )


def test_the_weighted_losses_serialize_by_name():
    import keras

    from unmix.training.losses import BandWeightedLoss, TeacherMixedLoss

    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(BandWeightedLoss("L11_loss", 1024, 10.0)))
    assert isinstance(again, BandWeightedLoss) and (again.base, again.edge, again.weight) == ("L11_loss", 1024, 10.0)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(TeacherMixedLoss("mae", 0.7, edge=1024, band_weight=10.0)))
    assert isinstance(again, TeacherMixedLoss) and (again.edge, again.band_weight) == (1024, 10.0)


def test_a_loss_that_is_not_a_mean_over_bins_is_refused():
    from unmix.errors import ConfigurationError
    from unmix.training.losses import BandWeightedLoss, TeacherMixedLoss

    with pytest.raises(ConfigurationError, match=r"'root_mean_squared_error' is not a mean over bins"):
        BandWeightedLoss("root_mean_squared_error", 4, 2.0)
    with pytest.raises(ConfigurationError, match=r"'binary_crossentropy' is not a mean over bins"):
        TeacherMixedLoss("binary_crossentropy", 0.5, edge=4, band_weight=2.0)
    TeacherMixedLoss("binary_crossentropy", 0.5, edge=4, band_weight=1.0)  # weight 1: nothing to split


@pytest.mark.parametrize(
    ("high_band_loss", "loss", "message"),
    [
        ({"weight": 0}, "mean_absolute_error", r"training\.high_band_loss\.weight in .*: received 0; expected a weight > 0"),
        ({"frequency": -1, "weight": 4}, "mean_absolute_error", r"training\.high_band_loss\.frequency in .*: received -1; expected a frequency in Hz > 0"),
        ({"frequency": 30000, "weight": 4}, "mean_absolute_error", r"training\.high_band_loss\.frequency in .*: 30000 Hz leaves no bin of the model's \d+ \(0-\d+ Hz\)"),
        ({"frequency": 2000, "weight": 4}, "root_mean_squared_error", r"training\.loss_function 'root_mean_squared_error' is not a mean over bins"),
    ],
)
def test_bad_high_band_loss_settings_fail_in_one_line_before_a_run_folder(tmp_path, capsys, monkeypatch, high_band_loss, loss, message):
    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(write_collection(tmp_path / "collection", n_songs=2)))
    path = tmp_path / "bad.jsonc"
    path.write_text(json.dumps({"base": "mini/dummy.jsonc", "training": {"high_band_loss": high_band_loss, "loss_function": loss}}))
    code = main(["--configuration", str(path), "--workingdir", str(tmp_path / "work"), "--quiet"])
    error = capsys.readouterr().err.strip()
    assert code == 2 and len(error.splitlines()) == 1, error
    assert re.search(message, error), error
    assert not (tmp_path / "work" / "runs").exists()


def test_the_edge_is_the_first_bin_above_the_frequency(tmp_path, monkeypatch):
    from unmix.config import load
    from unmix.training.checks import high_band_edge

    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(tmp_path))
    path = tmp_path / "c.jsonc"
    path.write_text(json.dumps({"base": "mini/dummy.jsonc", "collection": {"sample_rate": 44100}, "training": {"high_band_loss": {"weight": 4}}}))
    config = load(path, environ={})
    assert high_band_edge(config, n_fft=4096, n_bins=2049) == 1024  # 11025 Hz at 44.1 kHz: Spleeter's edge
    path.write_text(json.dumps({"base": "mini/dummy.jsonc", "collection": {"sample_rate": 44100}}))
    assert high_band_edge(load(path, environ={}), n_fft=4096, n_bins=2049) is None  # weight 1: the plain loss


@pytest.mark.slow
def test_a_few_steps_with_a_weighted_high_band(tmp_path, monkeypatch):
    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(write_collection(tmp_path / "collection")))
    configuration = write_configuration(
        tmp_path / "band.jsonc", base="mini/dummy.jsonc", epoch={"count": 1}, steps_per_epoch=2, loss_function="mean_absolute_error",
        high_band_loss={"frequency": 2000, "weight": 10},
    )  # fmt: skip
    work = tmp_path / "work"
    assert main(["--configuration", str(configuration), "--workingdir", str(work), "--quiet"]) == 0
    (run,) = sorted((work / "runs").iterdir())
    assert '"high_band_loss"' in (run / "configuration.jsonc").read_text()
    assert (run / "model.keras").is_file()
