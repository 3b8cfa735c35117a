"""The run folder: files written at start, environment.json, reload, best weights (issue 2: run folder)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import re
import textwrap
from pathlib import Path

import pytest

from unmix import log
from unmix.atomic import atomic_write_text
from unmix.config import Config, load
from unmix.errors import ConfigurationError, ModelError
from unmix.runfolder import RunFolder, environment_info, git_info, start_run

REPOSITORY = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("hermetic_environment")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    environ = {
        "UNMIX_COLLECTION_DIR": str(tmp_path / "songs"),
        "UNMIX_SAMPLE_RATE": "22050",
        "SECRET_TOKEN": "hunter2",
        "AWS_SECRET_ACCESS_KEY": "do-not-leak",
        "HOME_UNMIX_X": "not-a-prefix-match",
    }
    return load(REPOSITORY / "configurations" / "default-hourglass.jsonc", environ=environ, working_directory=tmp_path)


def start_config_run(config: Config, *, working_directory: Path) -> RunFolder:
    """``start_run`` with a configuration's sections, as the trainer calls it."""
    return start_run(
        config.environment, callbacks=config.training.callbacks, name=config.name, configuration=config.to_json(),
        source=config.path, collection_folder=config.collection.folder, environ=config.environ, working_directory=working_directory,
    )  # fmt: skip


@pytest.fixture
def run(config: Config, tmp_path: Path):
    folder = start_config_run(config, working_directory=tmp_path / "work")
    yield folder
    log.remove_handler(folder.log_handler)


def test_start_run_writes_the_skeleton(run: RunFolder, tmp_path: Path) -> None:
    assert run.path.parent == tmp_path / "work" / "runs"
    assert re.fullmatch(r"\d{8}-\d{6}-default-hourglass", run.path.name)
    for name in ("configuration.jsonc", "environment.json", "logs.txt"):
        assert (run.path / name).is_file(), name
    for name in ("weights", "plots", "predictions"):
        assert (run.path / name).is_dir(), name
    assert run.configuration == run.path / "configuration.jsonc"
    assert not list(run.path.glob("*.tmp")) + list(run.path.glob(".partial-*"))


def test_logs_txt_receives_unmix_lines_without_colour(run: RunFolder) -> None:
    logging.getLogger("unmix.tests").warning("a line for the run log")
    run.log_handler.flush()
    text = run.logs.read_text()
    assert re.search(r"\d{8}-\d{6}\tWarning: a line for the run log", text)
    assert "\x1b[" not in text


def test_environment_json_contents(run: RunFolder, tmp_path: Path) -> None:
    info = json.loads(run.environment.read_text())
    for key in ("time", "configuration_file", "working_directory", "run_folder", "collection_folder", "user",
                "host", "python", "versions", "devices", "git"):
        assert key in info, key
    assert info["configuration_file"] == str(REPOSITORY / "configurations" / "default-hourglass.jsonc")
    assert info["working_directory"] == str((tmp_path / "work").resolve())
    assert info["collection_folder"] == str(tmp_path / "songs")
    assert {"tensorflow", "keras", "numpy"} <= set(info["versions"])
    assert set(info["git"]) == {"repository", "branch", "commit", "dirty"}


def test_environment_json_holds_only_unmix_variables(run: RunFolder, tmp_path: Path) -> None:
    text = run.environment.read_text()
    info = json.loads(text)
    assert info["variables"] == {"UNMIX_COLLECTION_DIR": str(tmp_path / "songs"), "UNMIX_SAMPLE_RATE": "22050"}
    for secret in ("SECRET_TOKEN", "hunter2", "AWS_SECRET_ACCESS_KEY", "do-not-leak", "HOME_UNMIX_X"):
        assert secret not in text


def test_environment_info_filters_the_real_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    monkeypatch.setenv("UNMIX_SONG_LIMIT", "3")
    info = environment_info(
        configuration_file=tmp_path / "c.jsonc", working_directory=tmp_path, run_folder=tmp_path,
        collection_folder=None, environ=os.environ,
    )
    assert info["variables"] == {"UNMIX_SONG_LIMIT": "3"}
    assert info["collection_folder"] == ""
    assert "hunter2" not in json.dumps(info, default=str)


def test_update_environment_adds_fields(run: RunFolder) -> None:
    run.update_environment(epochs_done=3)
    info = json.loads(run.environment.read_text())
    assert info["epochs_done"] == 3 and "variables" in info


def test_git_info_is_empty_outside_a_checkout(tmp_path: Path) -> None:
    assert git_info(tmp_path) == {"repository": "", "branch": "", "commit": "", "dirty": None}


def test_two_runs_in_the_same_second_get_distinct_folders(tmp_path: Path) -> None:
    now = dt.datetime(2024, 5, 6, 7, 8, 9)
    first = RunFolder.create(working_directory=tmp_path, output_path="runs", configuration_name="x", now=now)
    second = RunFolder.create(working_directory=tmp_path, output_path="runs", configuration_name="x", now=now)
    third = RunFolder.create(working_directory=tmp_path, output_path="runs", configuration_name="x", now=now)
    assert first.path.name == "20240506-070809-x"
    assert len({first.path, second.path, third.path}) == 3
    assert all(p.path.is_dir() and p.weights.is_dir() for p in (first, second, third))


def test_create_uses_the_configured_folder_names(tmp_path: Path) -> None:
    folder = RunFolder.create(
        working_directory=tmp_path, output_path="out", configuration_name="y",
        log_file="log.txt", plot_folder="figures", weights_folder="checkpoints",
    )
    assert folder.path.parent == tmp_path / "out"
    assert folder.logs.name == "log.txt"
    assert (folder.path / "figures").is_dir() and (folder.path / "checkpoints").is_dir()


def test_configuration_reloads_identically_from_another_working_directory(
    run: RunFolder, config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's configuration.jsonc is never merged again with whatever configurations/ is around."""
    other = tmp_path / "other"
    (other / "configurations").mkdir(parents=True)
    (other / "configurations" / "master.jsonc").write_text(textwrap.dedent("""
        {
            "collection": {"folder": "env('UNMIX_NOT_SET_ANYWHERE')"},
            "training": {"batch_size": 999, "epoch": {"count": 1}}
        }
    """))
    (other / ".env").write_text("UNMIX_SAMPLE_RATE=8000\n")
    monkeypatch.chdir(other)
    reloaded = load(run.configuration)
    assert {k: v for k, v in reloaded.data.items() if k != "meta"} == config.data
    assert dataclasses.replace(reloaded.sections, meta=config.sections.meta) == config.sections
    assert reloaded.sections.meta.resolved is True
    assert reloaded.sections.meta.source == str(config.path)
    assert reloaded.name == config.name == "default-hourglass"
    assert reloaded.collection.sample_rate == 22050
    assert reloaded.training.batch_size == 4


def test_open_an_existing_run(run: RunFolder, tmp_path: Path) -> None:
    assert RunFolder.open(run.path).configuration == run.configuration
    with pytest.raises(ConfigurationError, match=r"not a run folder: .* has no configuration\.jsonc"):
        RunFolder.open(tmp_path)


def test_file_names(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    assert folder.results.name == "results.csv"
    assert folder.accuracy("musdb").name == "accuracy_musdb.csv"
    assert folder.model_keras.name == "model.keras"
    assert folder.evaluation("musdb") == tmp_path / "evaluation" / "musdb"


# === best_weights ===
def _weights(folder: RunFolder, *names: str) -> None:
    folder.weights.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder.weights / name).write_bytes(b"")


def test_best_weights_follows_best_json(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    _weights(folder, "callback_weights_03.weights.h5", "callback_weights_10.weights.h5", "weights.weights.h5")
    (folder.weights / "best.json").write_text(json.dumps({"file": "callback_weights_03.weights.h5"}))
    assert folder.best_weights() == folder.weights / "callback_weights_03.weights.h5"


@pytest.mark.parametrize("record", [None, '{"file": "callback_weights_99.weights.h5"}', "not json", '{"epoch": 3}'])
def test_best_weights_takes_the_highest_epoch_checkpoint(tmp_path: Path, record: str | None, caplog: pytest.LogCaptureFixture) -> None:
    folder = RunFolder(tmp_path)
    _weights(
        folder,
        "callback_weights_02.weights.h5",
        "callback_weights_10.weights.h5",
        "callback_weights_09.weights.h5",
        "callback_weights_100.weights.h5",
        "callback_weights_7.weights.h5",
        "weights.weights.h5",
    )
    if record is not None:
        (folder.weights / "best.json").write_text(record)
    with caplog.at_level("WARNING", logger="unmix.runfolder"):
        assert folder.best_weights() == folder.weights / "callback_weights_100.weights.h5"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    if record is None:
        assert warnings == []  # no record to trust: the latest checkpoint is the documented choice
    else:  # a record that names a missing file, or cannot be read, is never passed over silently
        assert len(warnings) == 1 and "best.json" in warnings[0] and "using callback_weights_100.weights.h5 instead" in warnings[0]
        if "99" in record:
            assert "names callback_weights_99.weights.h5, which is missing" in warnings[0]


def test_best_weights_falls_back_to_the_final_weights(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    _weights(folder, "weights.weights.h5")
    assert folder.best_weights() == folder.weights / "weights.weights.h5"


def test_best_weights_without_any_weights(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    _weights(folder)
    with pytest.raises(ModelError, match=r"has no weights in .*weights: train it first, or pass --weights"):
        folder.best_weights()


def test_atomic_write_text(tmp_path: Path) -> None:
    target = tmp_path / "file.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]


@pytest.mark.parametrize("name", ["UNMIX_HF_TOKEN", "UNMIX_API_KEY", "UNMIX_S3_SECRET", "UNMIX_DB_PASSWORD", "UNMIX_apikey", "UNMIX_KEYRING_TOKEN"])
def test_environment_json_redacts_unmix_credentials(name: str, tmp_path: Path) -> None:
    environ = {"UNMIX_COLLECTION_DIR": str(tmp_path / "songs"), name: "hunter2-do-not-leak"}
    config = load(REPOSITORY / "configurations" / "default-hourglass.jsonc", environ=environ, working_directory=tmp_path)
    folder = start_config_run(config, working_directory=tmp_path / "work")
    log.remove_handler(folder.log_handler)
    text = folder.environment.read_text()
    assert json.loads(text)["variables"] == {"UNMIX_COLLECTION_DIR": str(tmp_path / "songs"), name: "<redacted>"}
    assert "hunter2" not in text
    for path in folder.path.rglob("*"):
        assert not path.is_file() or "hunter2" not in path.read_text(errors="replace"), path


def test_atomic_write_text_names_the_file_when_a_write_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OSError) as caught:
        atomic_write_text(tmp_path / "best.json", "{}")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(tmp_path / "best.json")
    assert list(tmp_path.iterdir()) == []


def test_a_run_folder_that_cannot_be_written_is_one_configuration_error(config: Config, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("in the way")
    with pytest.raises(ConfigurationError, match=r"^cannot write the run folder under .*file/runs: Not a directory .*; pass a writable --workingdir$"):
        start_config_run(config, working_directory=tmp_path / "file")


def test_names_come_from_the_environment_and_callbacks_sections(config: Config, tmp_path: Path) -> None:
    callbacks = {"csv_logger": {"file": "log.csv", "separator": ","}, "tensorboard": {"folder": "board"}}
    names = RunFolder.names(config.environment, callbacks)
    folder = RunFolder(tmp_path, **names)
    assert (folder.results, folder.results_separator, folder.tensorboard) == (tmp_path / "log.csv", ",", tmp_path / "board")
    assert RunFolder(tmp_path, **RunFolder.names(config.environment, {})).results == tmp_path / "results.csv"
    assert folder.prediction(3, "song", "vocals") == tmp_path / "predictions" / "3_song_vocals.wav"


def test_backup_epoch_reads_the_metadata(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    assert folder.backup_epoch() == 0
    folder.write_backup_epoch(4)
    assert folder.backup_epoch() == 4 and json.loads(folder.backup_metadata.read_text()) == {"epoch": 4, "batch": 0}
    folder.backup_metadata.write_text('{"epoch": -1}')
    with pytest.raises(ValueError, match="expected a whole number >= 0"):
        folder.backup_epoch()
    folder.backup_metadata.write_text('{"epo')
    with pytest.raises(ValueError, match="truncated or edited"):
        folder.backup_epoch()


def test_keep_results_until_drops_lost_and_cut_rows(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    assert folder.keep_results_until(3) == {}
    folder.results.write_text("epoch;loss;val_loss\r\n0;0.5;0.6\r\n1;0.4;NA\r\n2;0.3;0.4\r\n3;0.2")  # epoch 3 cut short
    assert folder.keep_results_until(2) == {"loss": [0.5, 0.4], "val_loss": [0.6, pytest.approx(float("nan"), nan_ok=True)]}
    assert folder.results.read_bytes() == b"epoch;loss;val_loss\r\n0;0.5;0.6\r\n1;0.4;NA\r\n"
    assert folder.keep_results_until(5) == {"loss": [0.5, 0.4], "val_loss": [0.6, pytest.approx(float("nan"), nan_ok=True)]}


def test_zmuv_stats_of_loose_weights(tmp_path: Path) -> None:
    weights = tmp_path / "weights" / "w.weights.h5"
    weights.parent.mkdir()
    assert RunFolder.zmuv_stats_of_weights(weights) is None
    (tmp_path / "zmuv.json").write_text("{}")
    assert RunFolder.zmuv_stats_of_weights(weights) == tmp_path / "zmuv.json"
    (weights.parent / "zmuv.json").write_text("{}")
    assert RunFolder.zmuv_stats_of_weights(weights) == weights.parent / "zmuv.json"


def test_identity_changes_with_the_best_weights_the_configuration_and_the_statistics(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.weights.mkdir(parents=True)
    (run.weights / "callback_weights_01.weights.h5").write_bytes(b"weights")
    run.configuration.write_text("{}")
    first = run.identity()
    assert first == RunFolder(tmp_path / "run").identity() and len(first) == 64
    run.configuration.write_text('{"bins": 1280}')
    second = run.identity()
    run.zmuv_stats.write_text("{}")
    third = run.identity()
    (run.weights / "callback_weights_02.weights.h5").write_bytes(b"better weights")
    assert len({first, second, third, run.identity()}) == 4
