"""Credentials never reach a run folder in clear (issue 13): environment.json redacted them, but a
configuration value read from such a variable with ``env('UNMIX_…_TOKEN')`` was written as it is into
the run's ``configuration.jsonc``. Now it is written as ``env('UNMIX_…_TOKEN', null)``, and reloading
the run's configuration reads the variable again (null without it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unmix import log
from unmix.config import load, load_resolved
from unmix.runfolder import redact_credentials, start_run

SECRET = "hunter2-do-not-leak"


def _start(config, working_directory: Path):
    folder = start_run(
        config.environment, callbacks=config.training.callbacks, name=config.name, configuration=config.to_json(),
        source=config.path, collection_folder=config.collection.folder, environ=config.environ, working_directory=working_directory,
    )  # fmt: skip
    log.remove_handler(folder.log_handler)
    return folder


@pytest.mark.parametrize("name", ["UNMIX_HUB_TOKEN", "UNMIX_API_KEY", "UNMIX_DB_PASSWORD"])
def test_a_configuration_value_from_a_credential_is_redacted_and_reloads_from_the_variable(name, tmp_path: Path, training_environment, kit) -> None:
    overrides = {"training": {"callbacks": {"tensorboard": {"enabled": False, "upload_token": f"env('{name}')"}}}}
    configuration = kit.child_configuration(tmp_path / "secret.jsonc", overrides)
    environ = {"UNMIX_COLLECTION_DIR": str(training_environment), name: SECRET}
    config = load(configuration, environ=environ, working_directory=tmp_path)
    assert config.training.callbacks["tensorboard"]["upload_token"] == SECRET
    before = kit.snapshot(tmp_path / "collection")

    run = _start(config, tmp_path / "work")
    for path in run.path.rglob("*"):
        assert not path.is_file() or SECRET not in path.read_text(errors="replace"), path
    written = json.loads("".join(line for line in run.configuration.read_text().splitlines() if not line.startswith("//")))
    assert written["training"]["callbacks"]["tensorboard"]["upload_token"] == f"env('{name}', null)"

    again = load(run.configuration, environ=environ, working_directory=tmp_path)  # what --resume does
    assert again.training.callbacks["tensorboard"]["upload_token"] == SECRET
    elsewhere = load_resolved(run.configuration)  # predict on another machine: no variable
    assert elsewhere.training.callbacks["tensorboard"]["upload_token"] is None
    kit.assert_unchanged(before, kit.snapshot(tmp_path / "collection"))


def test_only_credential_variables_are_redacted() -> None:
    text = "// header\n" + json.dumps({"a": "public", "b": "s3cret", "c": ["s3cret", 1]}) + "\n"
    redacted = redact_credentials(text, {"UNMIX_SAMPLE_RATE": "public", "UNMIX_S3_SECRET": "s3cret", "OTHER_TOKEN": "public"})
    assert redacted.startswith("// header\n")
    data = json.loads(redacted.split("\n", 1)[1])
    assert data == {"a": "public", "b": "env('UNMIX_S3_SECRET', null)", "c": ["env('UNMIX_S3_SECRET', null)", 1]}
    assert redact_credentials(text, {"UNMIX_HUB_TOKEN": ""}) == text  # an empty variable hides nothing


def _files_and_names(folder: Path) -> list[str]:
    """Every path under ``folder`` and every file's text, to search for a secret."""
    found = [str(path) for path in folder.rglob("*")]
    return found + [path.read_text(errors="replace") for path in folder.rglob("*") if path.is_file()]


@pytest.mark.parametrize("check", [True, False], ids=["--check", "training"])
def test_a_secret_read_into_a_file_name_is_refused_in_one_line(check, tmp_path: Path, training_environment, kit, monkeypatch, capsys) -> None:
    """collection.name = env('UNMIX_HUB_TOKEN') used to write accuracy_<secret>.csv and evaluation/<secret>/."""
    from unmix.cli import train
    from unmix.cli.common import EXIT_USAGE

    monkeypatch.setenv("UNMIX_HUB_TOKEN", SECRET)
    configuration = kit.child_configuration(tmp_path / "named.jsonc", {"collection": {"name": "env('UNMIX_HUB_TOKEN')", "test_frequency": 1}})
    work = tmp_path / "work"
    code = train.main(["--configuration", str(configuration), "--workingdir", str(work), "--quiet", *(["--check"] if check else [])])
    line = kit.one_line(capsys.readouterr().err)
    assert code == EXIT_USAGE
    assert line == (
        f"error: collection.name in {configuration}: its value is a secret, read from UNMIX_HUB_TOKEN with env(), "
        "and would be written in clear into file names or logs; give collection.name a plain value"
    )
    assert SECRET not in line and not (work / "runs").exists()


@pytest.mark.parametrize(
    ("reference", "variable", "value", "written", "reloaded"),
    [
        ("env('HF_TOKEN')", "HF_TOKEN", SECRET, "env('HF_TOKEN', null)", SECRET),  # a credential without the UNMIX_ prefix
        ("env('UNMIX_MIRROR')", "UNMIX_MIRROR", f"https://reader:{SECRET}@mirror.example/songs", "env('UNMIX_MIRROR', null)", None),
        ("int(env('UNMIX_PORT_KEY'))", "UNMIX_PORT_KEY", "4711", "int(env('UNMIX_PORT_KEY', null))", 4711),  # a cast keeps its type
    ],
    ids=["foreign credential", "URL with a password", "cast"],
)
def test_a_secret_read_with_env_is_written_as_its_reference(
    reference, variable, value, written, reloaded, tmp_path: Path, training_environment, kit
) -> None:
    overrides = {"training": {"callbacks": {"tensorboard": {"enabled": False, "upload_token": reference}}}}
    configuration = kit.child_configuration(tmp_path / "secret.jsonc", overrides)
    environ = {"UNMIX_COLLECTION_DIR": str(training_environment), variable: value}
    config = load(configuration, environ=environ, working_directory=tmp_path)
    assert str(config.training.callbacks["tensorboard"]["upload_token"]) == value

    run = _start(config, tmp_path / "work")
    assert not [text for text in _files_and_names(run.path) if value in text]
    text = json.loads("".join(line for line in run.configuration.read_text().splitlines() if not line.startswith("//")))
    assert text["training"]["callbacks"]["tensorboard"]["upload_token"] == written
    if variable.startswith("UNMIX_"):
        assert json.loads(run.environment.read_text())["variables"][variable] == "<redacted>"
    again = load(run.configuration, environ=environ, working_directory=tmp_path)  # --resume: the variable is read again
    assert again.training.callbacks["tensorboard"]["upload_token"] == (value if reloaded is None else reloaded)
    assert load_resolved(run.configuration).training.callbacks["tensorboard"]["upload_token"] is None  # elsewhere: null


def test_a_default_written_in_the_configuration_is_no_secret(tmp_path: Path, training_environment, kit) -> None:
    overrides = {"training": {"callbacks": {"tensorboard": {"enabled": False, "upload_token": "env('UNMIX_HUB_TOKEN', 'public-default')"}}}}
    config = load(kit.child_configuration(tmp_path / "c.jsonc", overrides), environ={"UNMIX_COLLECTION_DIR": str(training_environment)}, working_directory=tmp_path)
    assert not config.secrets
    assert '"upload_token": "public-default"' in config.to_json()


def test_resume_reads_the_redacted_secret_from_the_environment_again(finished_run: Path, tmp_path: Path, monkeypatch) -> None:
    """train.py --resume loaded the run's configuration without the environment: the secret came back null."""
    import shutil

    import unmix.training.trainer
    from unmix.cli import train

    run = shutil.copytree(finished_run, tmp_path / "run")
    text = (run / "configuration.jsonc").read_text()
    data = json.loads("".join(line for line in text.splitlines() if not line.startswith("//")))
    data["training"]["callbacks"]["tensorboard"]["upload_token"] = "env('UNMIX_HUB_TOKEN', null)"
    (run / "configuration.jsonc").write_text("// resolved\n" + json.dumps(data))
    monkeypatch.setenv("UNMIX_HUB_TOKEN", SECRET)
    seen = []
    monkeypatch.setattr(unmix.training.trainer, "train", lambda config, **_: seen.append(config))
    assert train.main(["--resume", str(run), "--workingdir", str(tmp_path), "--quiet"]) == 0
    assert seen[0].training.callbacks["tensorboard"]["upload_token"] == SECRET
