"""A new run that fails before its first epoch leaves no run folder (issue 29, minor 14).

A bad ``--initial_weights`` file (not HDF5, an HDF5 file of something else, a ``.keras`` model
with a Lambda layer) failed only after the run folder was created, so every attempt left an
orphan folder with a configuration and a log and no results.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from unmix.cli import train


def _not_hdf5(path: Path) -> None:
    path.write_text("not weights")


def _other_hdf5(path: Path) -> None:
    import h5py

    with h5py.File(path, "w") as handle:
        handle["numbers"] = [1, 2, 3]


def _lambda_model(path: Path) -> None:
    import keras

    inputs = keras.Input((4,))
    keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs)).save(path)


BAD_WEIGHTS = {
    "not HDF5": ("bad.weights.h5", _not_hdf5, "cannot read weights"),
    "HDF5 of something else": ("other.weights.h5", _other_hdf5, "do not match configuration"),
    "a Lambda model": ("lambda.keras", _lambda_model, "holds a Lambda layer, which is Python code: unmix never loads code from a model file; give the model's weights as a .weights.h5 file"),
}


@pytest.mark.parametrize("case", sorted(BAD_WEIGHTS))
def test_bad_initial_weights_leave_no_run_folder(case, tmp_path: Path, training_environment: Path, kit, capsys) -> None:
    name, write, detail = BAD_WEIGHTS[case]
    weights = tmp_path / name
    write(weights)
    configuration = kit.child_configuration(tmp_path / "c.jsonc", {})
    work = tmp_path / "work"
    code = train.main(["--configuration", str(configuration), "--workingdir", str(work), "--quiet", "--initial_weights", str(weights)])
    line = kit.one_line(capsys.readouterr().err)
    assert code == 1
    assert line.startswith(f"error: --initial_weights: ") and detail in line and str(weights) in line, line
    assert list((work / "runs").iterdir()) == [], "an orphan run folder was left"
    assert (work / "cache").is_dir()  # the prepared songs are kept for the next attempt
