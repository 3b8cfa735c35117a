"""Fine-tuning from pretrained weights: a two-target model trains with one loss per stem from given weights."""

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
from conftest import write_configuration  # noqa: E402

pytestmark = pytest.mark.slow
TINY = {"bins": 64, "filters": [2, 2, 2, 2, 2, 2]}


def pretrained_weights(path: Path) -> list[np.ndarray]:
    """Weights of the tiny spleeter (configurations/mini/spleeter.jsonc), seeded, saved to ``path``."""
    import keras

    from unmix.models.registry import build_model

    keras.utils.set_random_seed(11)
    model = build_model("spleeter", TINY, input_shape=(129, 64, 2), output="magnitude")
    model.save_weights(path)
    return model.get_weights()


@pytest.mark.parametrize("how", ["configuration", "flag"])
def test_one_step_from_pretrained_weights_with_a_loss_per_stem(tmp_path, collection, monkeypatch, how):
    import keras

    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(collection))
    weights = tmp_path / "pretrained.weights.h5"
    start = pretrained_weights(weights)
    model = {"pretrained": str(weights)} if how == "configuration" else {}
    configuration = write_configuration(
        tmp_path / "finetune.jsonc", base="mini/spleeter.jsonc", model=model, epoch={"count": 1}, steps_per_epoch=1,
        optimizer={"name": "adam", "lr": 1e-6}, callbacks={},
    )  # fmt: skip
    flags = ["--initial_weights", str(weights)] if how == "flag" else []
    assert main(["--configuration", str(configuration), "--workingdir", str(tmp_path / "work"), "--quiet", *flags]) == 0
    (run,) = sorted((tmp_path / "work" / "runs").iterdir())
    assert f"initialised from {weights}" in (run / "logs.txt").read_text()
    with (run / "results.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert {"vocals_loss", "instrumental_loss", "val_vocals_loss", "val_instrumental_loss"} <= set(rows[0]), rows[0]
    assert all(np.isfinite(float(rows[0][k])) for k in ("loss", "vocals_loss", "instrumental_loss"))
    # One step at lr 1e-6 barely moves the weights: the run started from the pretrained ones.
    best = json.loads((run / "weights" / "best.json").read_text())["file"]
    from unmix.models.registry import build_model

    trained = build_model("spleeter", TINY, input_shape=(129, 64, 2), output="magnitude")
    trained.load_weights(run / "weights" / best)
    kernels = [(a, b) for a, b in zip(start, trained.get_weights()) if a.ndim == 4]
    assert kernels and max(float(np.max(np.abs(a - b))) for a, b in kernels) < 1e-3
    fresh = build_model("spleeter", TINY, input_shape=(129, 64, 2), output="magnitude")
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(start, fresh.get_weights()) if a.ndim == 4) > 1e-2
    keras.backend.clear_session()


def test_an_unknown_pretrained_name_is_one_line(tmp_path, collection, monkeypatch, capsys):
    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(collection))
    configuration = write_configuration(tmp_path / "bad.jsonc", base="mini/spleeter.jsonc", model={"pretrained": "spleeter-5stems"})
    assert main(["--configuration", str(configuration), "--workingdir", str(tmp_path / "work"), "--quiet"]) in (1, 2)
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    assert "training.model.pretrained: 'spleeter-5stems' is neither a built-in model" in err[-1]


@pytest.mark.parametrize("how", ["configuration", "flag"])
def test_pretrained_weights_of_another_model_size_are_one_line(tmp_path, collection, monkeypatch, capsys, how):
    """Weights for another size of the model (say "fast" under a config of other rnn units) name the key and the fix."""
    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(collection))
    weights = tmp_path / "pretrained.weights.h5"
    pretrained_weights(weights)
    model = {"options": {"filters": [4, 2, 2, 2, 2, 2]}, **({"pretrained": str(weights)} if how == "configuration" else {})}
    configuration = write_configuration(tmp_path / "wider.jsonc", base="mini/spleeter.jsonc", model=model, epoch={"count": 1}, steps_per_epoch=1)
    flags = ["--initial_weights", str(weights)] if how == "flag" else []
    assert main(["--configuration", str(configuration), "--workingdir", str(tmp_path / "work"), "--quiet", *flags]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    source = f"training.model.pretrained in {configuration}" if how == "configuration" else "--initial_weights"
    assert err[-1] == (
        f"error: {source}: weights {weights} do not match configuration {configuration}: 12 layers of model spleeter "
        "differ in shape or name; start from weights of the same model and options, or set training.model.options to theirs"
    )
    assert not list((tmp_path / "work" / "runs").iterdir())  # it failed before its first epoch: no orphan run folder


@pytest.mark.parametrize(
    ("name", "verb", "detail"),
    [("broken.weights.h5", "read", r".+; give a \.weights\.h5 file"), ("weights.bin", "load", r"expected a \.weights\.h5 or \.keras file")],
    ids=["corrupt h5", "another format"],
)  # fmt: skip
def test_unreadable_starting_weights_are_one_line(tmp_path, collection, monkeypatch, capsys, name, verb, detail):
    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(collection))
    weights = tmp_path / name
    weights.write_bytes(b"not an h5 file")
    configuration = write_configuration(tmp_path / "c.jsonc", base="mini/spleeter.jsonc", epoch={"count": 1}, steps_per_epoch=1)
    assert main(["--configuration", str(configuration), "--workingdir", str(tmp_path / "work"), "--quiet", "--initial_weights", str(weights)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    assert re.fullmatch(re.escape(f"error: --initial_weights: cannot {verb} weights {weights}: ") + detail, err[-1]), err[-1]


def test_the_vocals_u_net_alone_starts_from_a_two_u_net_run_folder_by_layer_name(tmp_path, collection, monkeypatch):
    # training.model.pretrained naming a run folder of the same model with other options (two
    # U-Nets → the vocals U-Net alone): the vocals layers are copied by name, the run says so,
    # and one step at lr 1e-6 leaves the student's kernels at the teacher's.
    import keras

    from unmix.models.registry import build_model

    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(collection))
    quick = {"epoch": {"count": 1}, "steps_per_epoch": 1, "optimizer": {"name": "adam", "lr": 1e-6}, "callbacks": {}}
    parent = write_configuration(tmp_path / "parent.jsonc", base="mini/spleeter.jsonc", **quick)
    assert main(["--configuration", str(parent), "--workingdir", str(tmp_path / "parent"), "--quiet"]) == 0
    (parent_run,) = sorted((tmp_path / "parent" / "runs").iterdir())
    student = write_configuration(
        tmp_path / "student.jsonc", base="mini/spleeter.jsonc", model={"pretrained": str(parent_run), "options": {**TINY, "targets": ["vocals"]}}, **quick,
    )  # fmt: skip
    data = json.loads(student.read_text())
    student.write_text(json.dumps({**data, "transformation": {"name": "window"}}))  # one target: the vocals magnitude
    assert main(["--configuration", str(student), "--workingdir", str(tmp_path / "student"), "--quiet"]) == 0
    (run,) = sorted((tmp_path / "student" / "runs").iterdir())
    copied = re.search(rf"initialised (\d+) layers from {re.escape(str(parent_run))} by name", (run / "logs.txt").read_text())
    best = lambda folder: folder / "weights" / json.loads((folder / "weights" / "best.json").read_text())["file"]  # noqa: E731
    teacher = build_model("spleeter", TINY, input_shape=(129, 64, 2), output="magnitude")
    teacher.load_weights(best(parent_run))
    trained = build_model("spleeter", {**TINY, "targets": ["vocals"]}, input_shape=(129, 64, 2), output="magnitude")
    trained.load_weights(best(run))
    pairs = [(layer.get_weights()[0], teacher.get_layer(layer.name).get_weights()[0]) for layer in trained.layers if layer.weights and layer.get_weights()[0].ndim == 4]
    assert int(copied.group(1)) == sum(1 for layer in trained.layers if layer.weights)
    assert len(pairs) == 13 and max(float(np.max(np.abs(a - b))) for a, b in pairs) < 1e-3
    keras.backend.clear_session()
