"""Distillation: the mixed loss, its configuration checks and a few steps end to end through train.py."""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from unmix.cli.train import main

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import write_collection, write_configuration  # noqa: E402


@pytest.mark.parametrize("base", ["mean_absolute_error", "L11_loss"])
def test_the_mixed_loss_gradient_is_the_weighted_sum_of_the_two_terms(base):
    import keras
    import tensorflow as tf

    from unmix.training.losses import TeacherMixedLoss, get_loss

    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((4, 3, 2)), keras.layers.Dense(2, activation="sigmoid")])
    rng = np.random.default_rng(0)
    x = rng.random((3, 4, 3, 2), dtype=np.float32)
    n_target = 4 if base == "L11_loss" else 2  # L11 packs [target, mix]
    true, teacher = rng.random((3, 4, 3, n_target), dtype=np.float32), rng.random((3, 4, 3, n_target), dtype=np.float32)
    if base == "L11_loss":  # both halves carry the same mix
        teacher[..., 2:] = true[..., 2:]
    weight = 0.3
    mixed = TeacherMixedLoss(base, weight)
    plain = get_loss(base)

    def gradient(loss):
        with tf.GradientTape() as tape:
            value = loss(model(x))
        return [g.numpy() for g in tape.gradient(value, model.trainable_variables)]

    packed = np.concatenate([true, teacher], axis=-1)
    g_mixed = gradient(lambda p: mixed(packed, p))
    g_true = gradient(lambda p: tf.reduce_mean(plain(true, p)))
    g_teacher = gradient(lambda p: tf.reduce_mean(plain(teacher, p)))
    for m, t, s in zip(g_mixed, g_true, g_teacher):
        np.testing.assert_allclose(m, (1 - weight) * t + weight * s, rtol=1e-5, atol=1e-7)
    assert not np.allclose(g_true[0], g_teacher[0])  # the two terms really differ


def test_the_mixed_loss_serializes_by_name():
    import keras

    from unmix.training.losses import TeacherMixedLoss

    loss = TeacherMixedLoss("L11_loss", 0.25)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, TeacherMixedLoss) and (again.base, again.weight) == ("L11_loss", 0.25)


@pytest.mark.parametrize(
    ("collection_part", "teacher", "transformation", "message"),
    [
        ({"unlabeled": ["mixes"]}, {}, {}, r"collection\.unlabeled in .*: received \['mixes'\]; expected \[\] without training\.teacher\.name"),
        ({}, {"name": "no-such-teacher"}, {}, r"training\.teacher\.name in .*: received 'no-such-teacher'; expected a built-in model"),
        ({}, {"name": "spleeter-2stems", "weight": 1.5}, {}, r"training\.teacher\.weight in .*: received 1\.5; expected a weight in \[0, 1\]"),
        ({}, {"name": "spleeter-2stems"}, {"name": "stems"}, r"training\.teacher\.name in .*'stems'"),
        ({}, {"name": "spleeter-2stems", "max_frequency": 0}, {}, r"training\.teacher\.max_frequency in .*: received 0; expected null \(the band"),
        ({"accompaniments": ["nowhere"]}, {}, {}, r"collection\.accompaniments in .*: folder .*nowhere not found \(from 'nowhere'\)"),
    ],
)
def test_bad_teacher_configurations_fail_in_one_line_before_a_run_folder(tmp_path, capsys, monkeypatch, collection_part, teacher, transformation, message):
    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(write_collection(tmp_path / "collection", n_songs=2)))
    path = tmp_path / "bad.jsonc"
    training = {"teacher": teacher, "loss_function": "mean_absolute_error"}
    path.write_text(json.dumps({"base": "mini/dummy.jsonc", "collection": collection_part, "training": training, "transformation": transformation}))
    code = main(["--configuration", str(path), "--workingdir", str(tmp_path / "work"), "--quiet"])
    error = capsys.readouterr().err.strip()
    assert code == 2 and len(error.splitlines()) == 1, error
    assert re.search(message, error), error
    assert not (tmp_path / "work" / "runs").exists()


@pytest.mark.slow
def test_a_few_steps_of_distillation_with_unlabelled_songs_and_accompaniments(tmp_path, monkeypatch, dummy_run):
    import soundfile

    collection = write_collection(tmp_path / "collection")
    (collection / "mixes").mkdir()
    noise = 0.2 * np.random.default_rng(2).standard_normal((int(1.5 * 11025), 2)).astype(np.float32)
    soundfile.write(collection / "mixes" / "song.wav", noise, 11025)
    (tmp_path / "backing").mkdir()
    soundfile.write(tmp_path / "backing" / "karaoke.wav", 0.5 * noise[::-1], 11025)
    teacher, _ = dummy_run(tmp_path / "teacher", {"base": "mini/dummy.jsonc"}, weights_file="weights.weights.h5", seed=4)
    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(collection))
    configuration = write_configuration(
        tmp_path / "distil.jsonc", base="mini/dummy.jsonc", epoch={"count": 2}, steps_per_epoch=2,
        teacher={"name": str(teacher.path), "weight": 0.7}, augmentation={"enabled": True},
    )  # fmt: skip
    document = json.loads(configuration.read_text())
    document["collection"]["unlabeled"] = ["mixes"]
    document["collection"]["accompaniments"] = [str(tmp_path / "backing")]
    configuration.write_text(json.dumps(document))
    work = tmp_path / "work"
    assert main(["--configuration", str(configuration), "--workingdir", str(work), "--quiet", "--check"]) == 0
    assert main(["--configuration", str(configuration), "--workingdir", str(work), "--quiet"]) == 0
    (run,) = sorted((work / "runs").iterdir())
    assert (run / "model.keras").is_file()
    logs = (run / "logs.txt").read_text()
    assert "teacher targets for" in logs and "(1 unlabelled)" in logs and "accompaniments: 1 songs" in logs
    teacher_files = sorted((work / "cache").rglob("teacher/*.h5"))
    assert any(p.name.startswith("unlabeled-mixes-song-wav") for p in teacher_files) and len(teacher_files) >= 2
    with (run / "results.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert len(rows) == 2 and all(np.isfinite(float(r["loss"])) and np.isfinite(float(r["val_loss"])) for r in rows)


@pytest.mark.shared_data
def test_the_shipped_distillation_configuration_passes_the_check(shared_data, monkeypatch, capsys):
    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(shared_data))
    configuration = Path(__file__).resolve().parents[2] / "configurations" / "distill" / "fast-from-spleeter.jsonc"
    assert main(["--configuration", str(configuration), "--check", "--quiet"]) == 0
    merged = capsys.readouterr().out
    assert '"spleeter-2stems"' in merged and '"jamendo"' in merged and '"rnn"' in merged
