"""End to end: train.py on a tiny collection fills a complete run folder, resumes, survives NaN."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from unmix.cli.train import main

REPOSITORY = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import write_configuration  # noqa: E402


def _results(run: Path) -> list[dict[str, str]]:
    with (run / "results.csv").open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def _only_run(working_directory: Path) -> Path:
    runs = sorted((working_directory / "runs").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


@pytest.mark.slow
def test_mini_run_writes_every_run_folder_file(tmp_path, collection, monkeypatch):
    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(collection))
    configuration = write_configuration(tmp_path / "e2e.jsonc", model={"options": {"stacks": 2, "hourglasses": 2, "initial_filters": 2, "hg_module": {"filters": 2}}})
    assert main(["--configuration", str(configuration), "--workingdir", str(tmp_path / "work"), "--quiet"]) == 0
    run = _only_run(tmp_path / "work")
    for name in ("configuration.jsonc", "environment.json", "logs.txt", "results.csv", "model.keras", "model.h5", "model.json"):
        assert (run / name).is_file(), name
    assert (run / "weights" / "weights.weights.h5").is_file()
    best = json.loads((run / "weights" / "best.json").read_text())
    assert (run / "weights" / best["file"]).is_file() and best["file"].startswith("callback_weights_")
    assert (run / "plots" / "loss.png").is_file()
    assert (run / "plots" / "model.png").is_file()  # scripts/install.sh installs graphviz
    assert list((run / "plots").glob("spectrogram_epoch_*.png"))
    assert list((run / "tensorboard").rglob("*")), "TensorBoard logs belong inside the run folder"
    rows = _results(run)
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert {"loss", "val_loss", "learning_rate"} <= set(rows[0])
    assert "epoch 2/2" in (run / "logs.txt").read_text()
    environment = json.loads((run / "environment.json").read_text())
    assert environment["devices"] and set(environment["variables"]) <= {k for k in os.environ if k.startswith("UNMIX_")}

    fresh = subprocess.run(  # a user's fresh interpreter: no unmix import, no custom objects
        [sys.executable, "-c", "import sys, keras; m = keras.saving.load_model(sys.argv[1], safe_mode=True); print(len(m.outputs))", str(run / "model.keras")],
        capture_output=True, text=True, timeout=120, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    assert fresh.stdout.strip().splitlines()[-1] == "2"
    import keras

    model = keras.saving.load_model(run / "model.keras", safe_mode=True)
    assert len(model.outputs) == 2  # intermediate supervision: one output per hourglass
    reloaded = keras.saving.load_model(run / "model.h5", safe_mode=True, compile=False)
    x = np.random.default_rng(0).random((1, *model.input_shape[1:]), dtype=np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0)[-1], reloaded.predict(x, verbose=0)[-1], atol=1e-6)


@pytest.mark.slow
def test_killed_run_resumes_with_a_continuous_results_csv(tmp_path, collection):
    configuration = write_configuration(tmp_path / "resume.jsonc", base="mini/dummy.jsonc", epoch={"count": 8}, steps_per_epoch=30)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("UNMIX_")}
    environment.update(UNMIX_COLLECTION_DIR=str(collection), TF_CPP_MIN_LOG_LEVEL="3")
    work = tmp_path / "work"
    process = subprocess.Popen(
        [sys.executable, str(REPOSITORY / "train.py"), "--configuration", str(configuration), "--workingdir", str(work), "--quiet"],
        cwd=tmp_path, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            runs = list((work / "runs").glob("*")) if (work / "runs").is_dir() else []
            if runs and (runs[0] / "results.csv").is_file() and len(_results(runs[0])) >= 2:
                break
            assert process.poll() is None, "training ended before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("training did not reach epoch 2 in time")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    run = _only_run(work)
    killed_at = len(_results(run))
    assert killed_at < 8
    assert main(["--resume", str(run), "--workingdir", str(work), "--quiet"]) == 0
    epochs = [int(r["epoch"]) for r in _results(run)]
    assert epochs == list(range(8)), epochs
    assert (run / "model.keras").is_file()


@pytest.mark.slow
def test_nan_loss_stops_cleanly_and_keeps_the_last_good_weights(tmp_path, collection, monkeypatch, capsys):
    from unmix.pipeline import generator

    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(collection))
    original = generator.WindowDataset.__getitem__
    def poisoned(self, index):
        x, y = original(self, index)
        # Keras peeks at the first batches and ends a pseudo-epoch before training, so the
        # dataset counts epoch 1 for the first real one: poison from the second real epoch on.
        if self._shuffle and self.epoch >= 2:
            x = x * np.nan
        return x, y

    monkeypatch.setattr(generator.WindowDataset, "__getitem__", poisoned)
    configuration = write_configuration(tmp_path / "nan.jsonc", base="mini/dummy.jsonc", epoch={"count": 4}, steps_per_epoch=6)
    code = main(["--configuration", str(configuration), "--workingdir", str(tmp_path / "work"), "--quiet"])
    assert code == 1
    assert "NaN" in capsys.readouterr().err
    run = _only_run(tmp_path / "work")
    import keras

    model = keras.saving.load_model(run / "model.keras", safe_mode=True)
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert json.loads((run / "weights" / "best.json").read_text())["epoch"] == 1


@pytest.mark.slow
def test_resume_continues_a_configured_results_file_and_separator(tmp_path, collection, monkeypatch):
    """``training.callbacks.csv_logger.file``/``separator`` are the run's names on resume too (they were not:
    resume looked for results.csv with ';', so the rows of epochs lost in a kill stayed and repeated)."""
    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(collection))
    callbacks = {"tensorboard": {"enabled": False}, "csv_logger": {"file": "log.csv", "separator": ","}}
    configuration = write_configuration(tmp_path / "named.jsonc", base="mini/dummy.jsonc", epoch={"count": 3}, callbacks=callbacks)
    work = tmp_path / "work"
    assert main(["--configuration", str(configuration), "--workingdir", str(work), "--quiet"]) == 0
    run = _only_run(work)
    assert not (run / "results.csv").exists()
    # As after a kill between epoch 3's row and its backup: the backup holds 2 epochs, the log 3.
    (run / "backup" / "training_metadata.json").write_text(json.dumps({"epoch": 2, "batch": 0}))
    assert main(["--resume", str(run), "--workingdir", str(work), "--quiet"]) == 0
    with (run / "log.csv").open(newline="") as handle:
        epochs = [int(row["epoch"]) for row in csv.DictReader(handle, delimiter=",")]
    assert epochs == [0, 1, 2]
