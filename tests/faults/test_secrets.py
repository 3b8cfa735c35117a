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
