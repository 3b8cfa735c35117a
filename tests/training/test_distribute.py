"""training.distribution: mirrored over two logical CPUs, two local workers, auto, bad names."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from unmix.cli.train import main
from unmix.errors import ConfigurationError
from unmix.training import distribute

REPOSITORY = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import write_configuration  # noqa: E402

RUN_FILES = ("configuration.jsonc", "environment.json", "logs.txt", "results.csv", "model.keras", "model.h5", "model.json", "weights/weights.weights.h5")

# Logical devices must be set before TensorFlow starts, so the mirrored run gets its own process.
MIRRORED_SCRIPT = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
from unmix.cli.train import main
sys.exit(main(sys.argv[1:]))
"""


def _environment(collection: Path, **extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("UNMIX_") and k != "TF_CONFIG"}
    environment.update(UNMIX_COLLECTION_DIR=str(collection), TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPOSITORY), **extra)
    return environment


def _only_run(working_directory: Path) -> Path:
    runs = sorted((working_directory / "runs").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def _results(run: Path) -> list[list[str]]:
    with (run / "results.csv").open(newline="") as handle:
        return list(csv.reader(handle, delimiter=";"))


def _assert_complete(run: Path) -> None:
    for name in RUN_FILES:
        assert (run / name).is_file(), f"{run}: {name} missing"
    assert [row[0] for row in _results(run)[1:]] == ["0", "1"]
    assert "could not be scored" not in (run / "logs.txt").read_text()


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.mark.slow
def test_mirrored_over_two_logical_cpus_trains_a_mini_configuration(tmp_path, collection):
    configuration = write_configuration(tmp_path / "mirrored.jsonc", base="mini/dummy.jsonc", distribution="mirrored")
    work = tmp_path / "work"
    completed = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT, "--configuration", str(configuration), "--workingdir", str(work)],
        cwd=REPOSITORY, env=_environment(collection), capture_output=True, text=True, timeout=240,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    run = _only_run(work)
    _assert_complete(run)
    logs = (run / "logs.txt").read_text()
    assert "mirrored over 2 device(s): /device:CPU:0, /device:CPU:1" in logs
    # predict_on_batch returns one prediction per window (Keras alone returns one per replica)
    assert (run / "accuracy_collection.csv").is_file()


@pytest.mark.slow
def test_two_local_workers_train_a_mini_configuration_to_the_same_result(tmp_path, collection):
    configuration = write_configuration(tmp_path / "workers.jsonc", base="mini/dummy.jsonc", distribution="multi_worker")
    work = tmp_path / "work"  # shared on purpose: only the chief writes here, worker 1 under worker1/
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    processes = [
        subprocess.Popen(
            [sys.executable, str(REPOSITORY / "train.py"), "--configuration", str(configuration), "--workingdir", str(work)],
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env=_environment(collection, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})),
        )
        for index in range(2)
    ]
    errors = []
    try:
        for process in processes:
            errors.append(process.communicate(timeout=240)[1])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert [p.returncode for p in processes] == [0, 0], [e[-2000:] for e in errors]
    chief, other = _only_run(work), _only_run(work / "worker1")
    for run in (chief, other):
        _assert_complete(run)
    assert "worker 0 of 2 worker(s), 2 replica(s) in sync" in (chief / "logs.txt").read_text()
    assert "worker 1 of 2 worker(s)" in (other / "logs.txt").read_text()
    rows_chief, rows_other = _results(chief), _results(other)
    assert rows_chief[0] == rows_other[0]
    assert [len(r) for r in rows_chief] == [len(r) for r in rows_other]
    # synchronous training: both workers log the same all-reduced losses
    np.testing.assert_allclose(np.array(rows_chief[1:], dtype=float), np.array(rows_other[1:], dtype=float), rtol=1e-5)

    import keras

    models = [keras.saving.load_model(run / "model.keras", safe_mode=True, compile=False) for run in (chief, other)]
    x = np.random.default_rng(0).random((3, *models[0].input_shape[1:]), dtype=np.float32)
    predictions = [model.predict(x, verbose=0) for model in models]
    assert predictions[0].shape == predictions[1].shape == x.shape
    np.testing.assert_allclose(predictions[0], predictions[1], atol=1e-5)


def test_unknown_distribution_exits_2_with_one_line_and_no_run_folder(tmp_path, collection, monkeypatch, capsys):
    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(collection))
    configuration = write_configuration(tmp_path / "bad.jsonc", base="mini/dummy.jsonc", distribution="mirrord")
    assert main(["--configuration", str(configuration), "--workingdir", str(tmp_path / "work"), "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "training.distribution" in error and "'mirrord'" in error and "did you mean 'mirrored'" in error
    assert not (tmp_path / "work" / "runs").exists()


def test_check_distribution_lists_the_known_names():
    assert distribute.check_distribution("Multi_Worker") == "multi_worker"
    with pytest.raises(ConfigurationError, match=r"unknown strategy 'tpu'; known: none, mirrored, multi_worker, auto"):
        distribute.check_distribution("tpu")


def test_auto_without_gpus_falls_back_to_the_default_strategy(monkeypatch, caplog):
    import tensorflow as tf

    listed = tf.config.list_physical_devices
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [] if kind == "GPU" else listed(kind))
    with caplog.at_level("INFO", logger="unmix"):
        strategy = distribute.make_strategy("auto")
    assert strategy is tf.distribute.get_strategy()
    assert strategy.num_replicas_in_sync == 1
    assert "auto chose none (0 GPU(s) visible)" in caplog.text


def test_none_leaves_the_model_alone():
    import keras
    import tensorflow as tf

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    distribute.adapt_to_strategy(model, tf.distribute.get_strategy())
    assert "predict_on_batch" not in vars(model) and "train_step" not in vars(model)
    assert model.predict_on_batch(np.ones((4, 3), np.float32)).shape == (4, 2)


def _tf_config(task_type: str, index: int, *, chief: bool = False) -> dict[str, str]:
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    if chief:
        cluster["chief"] = ["127.0.0.1:3"]
    return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})}


def test_only_the_chief_writes_in_the_working_directory(tmp_path):
    work = tmp_path / "work"
    assert distribute.worker_working_directory(work, distribution="multi_worker", environ={}) == work
    assert distribute.worker_working_directory(work, distribution="multi_worker", environ=_tf_config("worker", 0)) == work
    assert distribute.worker_working_directory(work, distribution="multi_worker", environ=_tf_config("worker", 1)) == work / "worker1"
    assert distribute.worker_working_directory(work, distribution="multi_worker", environ=_tf_config("chief", 0, chief=True)) == work
    assert distribute.worker_working_directory(work, distribution="multi_worker", environ=_tf_config("worker", 0, chief=True)) == work / "worker0"
    assert distribute.worker_working_directory(work, distribution="mirrored", environ=_tf_config("worker", 1)) == work
    assert distribute.worker_task(_tf_config("chief", 0, chief=True)) == ("chief", 0, 3)
    assert distribute.worker_task({}) == ("worker", 0, 1)


@pytest.mark.parametrize("text", ["{not json", '{"cluster": {"worker": ["a:1"]}}', '["worker"]'])
def test_a_bad_tf_config_is_a_configuration_error(text):
    with pytest.raises(ConfigurationError, match=r"TF_CONFIG: not a cluster description .*expected"):
        distribute.worker_task({"TF_CONFIG": text})
