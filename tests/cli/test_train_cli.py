"""train.py: --help, --check, and every error path's one-line message and exit code (issue 2)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import commentjson
import pytest

from unmix.cli import train
from unmix.cli.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, guarded
from unmix.errors import ConfigurationError, DataError, ModelError

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT = REPOSITORY / "configurations" / "default-hourglass.jsonc"


# The variables whose mere presence changes an error path; "" counts as unset for both.
NEUTRALISED = {"UNMIX_COLLECTION_DIR", "UNMIX_CONFIGURATION_FILE"}


def clean_environ() -> dict[str, str]:
    """The current environment without UNMIX_* and with a developer's repository .env neutralised.

    The project-root .env is read even by a subprocess (it is the project root); a
    variable set to "" in the real environment wins over it and counts as unset; other
    variables keep their (valid) .env values, which no assertion here depends on.
    """
    from dotenv import dotenv_values

    environ = {k: v for k, v in os.environ.items() if not k.startswith("UNMIX_")}
    if (REPOSITORY / ".env").is_file():
        environ.update({k: "" for k in dotenv_values(REPOSITORY / ".env") if k in NEUTRALISED})
    environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return environ


def run_script(*args: str, environ: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=REPOSITORY, env=environ or clean_environ(),
        capture_output=True, text=True, timeout=120,
    )


pytestmark = pytest.mark.usefixtures("hermetic_environment")


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in text
    return lines[0]


# === In-process, through main(argv) ===
def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        train.main(["--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--configuration", "--workingdir", "--check", "--verbose", "--quiet"):
        assert flag in out


def test_no_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert train.main(["--workingdir", str(tmp_path)]) == EXIT_USAGE
    captured = capsys.readouterr()
    line = one_line(captured.err)
    assert line.startswith("error: no configuration given")
    assert "--configuration" in line and "UNMIX_CONFIGURATION_FILE" in line
    assert captured.out == ""


def test_missing_configuration_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = train.main(["--configuration", str(tmp_path / "nope.jsonc"), "--workingdir", str(tmp_path)])
    assert code == EXIT_USAGE
    line = one_line(capsys.readouterr().err)
    assert "configuration file not found" in line and "nope.jsonc" in line


def test_collection_folder_unset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert train.main(["--configuration", str(DEFAULT), "--workingdir", str(tmp_path)]) == EXIT_USAGE
    line = one_line(capsys.readouterr().err)
    assert "UNMIX_COLLECTION_DIR" in line
    assert not (tmp_path / "runs").exists()


def test_collection_folder_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(tmp_path / "no-songs-here"))
    assert train.main(["--configuration", str(DEFAULT), "--workingdir", str(tmp_path)]) == EXIT_USAGE
    line = one_line(capsys.readouterr().err)
    assert "collection folder not found" in line and "no-songs-here" in line


def test_missing_weights_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(tmp_path))
    code = train.main(["--configuration", str(DEFAULT), "--workingdir", str(tmp_path), "--initial_weights", str(tmp_path / "w.weights.h5")])
    assert code == EXIT_USAGE
    assert "--initial_weights: file not found" in one_line(capsys.readouterr().err)


def test_the_old_weights_flag_still_initialises_with_a_one_line_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNMIX_COLLECTION_DIR", str(tmp_path))
    code = train.main(["--configuration", str(DEFAULT), "--workingdir", str(tmp_path), "--weights", str(tmp_path / "w.weights.h5")])
    assert code == EXIT_USAGE
    warning, error = capsys.readouterr().err.strip().splitlines()
    assert warning == f"warning: train.py --weights {tmp_path / 'w.weights.h5'} is deprecated: write --initial_weights {tmp_path / 'w.weights.h5'}"
    assert error.startswith("error: --initial_weights: file not found")


def test_resume_from_a_folder_that_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert train.main(["--resume", str(tmp_path), "--workingdir", str(tmp_path)]) == EXIT_USAGE
    assert "not a run folder" in one_line(capsys.readouterr().err)


def test_resume_with_another_configuration_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--configuration was silently ignored on --resume: the run went on with its own."""
    from unmix.pretrained import catalog

    run = tmp_path / "runs" / "20240101-000000-fast"
    run.mkdir(parents=True)
    (run / "configuration.jsonc").write_bytes((catalog.folder("fast") / "configuration.jsonc").read_bytes())
    before = sorted(tmp_path.rglob("*"))
    assert train.main(["--resume", str(run), "--configuration", str(DEFAULT), "--workingdir", str(tmp_path)]) == EXIT_USAGE
    assert one_line(capsys.readouterr().err) == (
        f"error: --resume {run} continues with the run's own configuration ({run / 'configuration.jsonc'}), not --configuration "
        f"{DEFAULT}: drop --configuration, or leave out --resume to train a new run with it"
    )
    assert sorted(tmp_path.rglob("*")) == before
    # Naming the run's own configuration is no conflict (the control).
    assert train.main(["--resume", str(run), "--configuration", str(run / "configuration.jsonc"), "--workingdir", str(tmp_path), "--check"]) == EXIT_OK


def test_invalid_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.jsonc"
    broken.write_text('{"training": {"batch_size": "four"}}')
    assert train.main(["--configuration", str(broken), "--workingdir", str(tmp_path)]) == EXIT_USAGE
    line = one_line(capsys.readouterr().err)
    assert "training.batch_size" in line and "broken.jsonc" in line and "integer" in line


def test_bad_environment_value(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNMIX_SONG_LIMIT", "abc")
    assert train.main(["--configuration", str(DEFAULT), "--workingdir", str(tmp_path), "--check"]) == EXIT_USAGE
    line = one_line(capsys.readouterr().err)
    assert "UNMIX_SONG_LIMIT" in line and "collection.song_limit" in line and "master.jsonc" in line


def test_check_prints_the_merged_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert train.main(["--configuration", str(DEFAULT), "--workingdir", str(tmp_path), "--check"]) == EXIT_OK
    captured = capsys.readouterr()
    data = commentjson.loads(captured.out)
    assert data["environment"]["name"] == "default-hourglass"
    assert data["training"]["batch_size"] == 4
    assert data["training"]["epoch"]["count"] == 100
    assert data["collection"]["folder"] is None
    assert data["meta"]["resolved"] is True
    assert captured.err == ""
    assert not (tmp_path / "runs").exists()


def test_configuration_from_the_environment_variable(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNMIX_CONFIGURATION_FILE", str(DEFAULT))
    assert train.main(["--workingdir", str(tmp_path), "--check"]) == EXIT_OK
    assert commentjson.loads(capsys.readouterr().out)["environment"]["name"] == "default-hourglass"


def test_configuration_from_a_dotenv_in_the_working_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".env").write_text(f"UNMIX_CONFIGURATION_FILE={REPOSITORY / 'configurations' / 'final' / 'hourglass.jsonc'}\n")
    assert train.main(["--workingdir", str(tmp_path), "--check"]) == EXIT_OK
    assert commentjson.loads(capsys.readouterr().out)["environment"]["name"] == "final-hourglass"


def test_the_flag_beats_the_environment_variable(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNMIX_CONFIGURATION_FILE", str(tmp_path / "absent.jsonc"))
    assert train.main(["--configuration", str(DEFAULT), "--workingdir", str(tmp_path), "--check"]) == EXIT_OK
    assert commentjson.loads(capsys.readouterr().out)["environment"]["name"] == "default-hourglass"


@pytest.mark.parametrize("argv", [["--no-such-flag"], ["--verbose", "--quiet"], ["--configuration"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        train.main(argv)
    assert caught.value.code == EXIT_USAGE
    assert "error:" in capsys.readouterr().err


# === Error mapping shared by every command ===
@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigurationError("bad key"), EXIT_USAGE),
        (ModelError("no weights"), EXIT_FAILURE),
        (DataError("bad song"), EXIT_FAILURE),
    ],
)
def test_guarded_maps_errors_to_exit_codes(error: Exception, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    def body() -> int:
        raise error

    assert guarded(body, verbose=False) == code
    assert one_line(capsys.readouterr().err) == f"error: {error}"


def test_guarded_passes_success_and_interrupts(capsys: pytest.CaptureFixture[str]) -> None:
    assert guarded(lambda: EXIT_OK, verbose=False) == EXIT_OK

    def interrupted() -> int:
        raise KeyboardInterrupt

    assert guarded(interrupted, verbose=False) == 130
    assert "interrupted" in one_line(capsys.readouterr().err)


def test_guarded_lets_bugs_raise() -> None:
    def buggy() -> int:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        guarded(buggy, verbose=False)


# === The entry script, in a fresh interpreter ===
def test_script_help_is_fast() -> None:
    started = time.perf_counter()
    result = run_script("train.py", "--help")
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    assert "--configuration" in result.stdout and "--workingdir" in result.stdout
    assert elapsed < 10, f"train.py --help took {elapsed:.1f} s: something heavy is imported before parsing"


def test_script_without_collection_says_what_to_set(tmp_path: Path) -> None:
    result = run_script("train.py", "--configuration", "configurations/default-hourglass.jsonc", "--workingdir", str(tmp_path))
    assert result.returncode == 2
    assert "UNMIX_COLLECTION_DIR" in one_line(result.stderr)
    assert result.stdout == ""


def test_script_without_configuration(tmp_path: Path) -> None:
    result = run_script("train.py", "--workingdir", str(tmp_path))
    assert result.returncode == 2
    assert "UNMIX_CONFIGURATION_FILE" in one_line(result.stderr)


def test_script_with_a_missing_configuration_file(tmp_path: Path) -> None:
    result = run_script("train.py", "--configuration", "configurations/absent.jsonc", "--workingdir", str(tmp_path))
    assert result.returncode == 2
    assert "absent.jsonc" in one_line(result.stderr)


def test_script_check_prints_the_same_json_in_and_out_of_process(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from unmix.cli.train import main\n"
        f"sys.exit(main(['--configuration', 'configurations/default-hourglass.jsonc', '--workingdir', {str(tmp_path)!r}, '--check']))\n"
    )
    result = run_script("-c", code)
    assert result.returncode == 0, result.stderr
    assert commentjson.loads(result.stdout)["training"]["model"]["name"] == "hourglass"
    script = run_script("train.py", "--configuration", "configurations/default-hourglass.jsonc", "--workingdir", str(tmp_path), "--check")
    assert script.returncode == 0, script.stderr
    assert commentjson.loads(script.stdout) == commentjson.loads(result.stdout)


def test_script_an_unreadable_configuration_answers_without_tensorflow(tmp_path: Path) -> None:
    """--check looks names up in registries that import TensorFlow; a file that does not load never gets there."""
    broken = tmp_path / "broken.jsonc"
    broken.write_text('{"training": {"batch_size": "four"}}')
    code = (
        "import sys\n"
        "from unmix.cli.train import main\n"
        f"code = main(['--configuration', {str(broken)!r}, '--workingdir', {str(tmp_path)!r}, '--check'])\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'a configuration that does not load imported TensorFlow'\n"
        "sys.exit(code)\n"
    )
    result = run_script("-c", code)
    assert result.returncode == 2, result.stderr
    assert "training.batch_size" in one_line(result.stderr)


def test_script_tensorflow_start_up_lines_obey_the_log_level(tmp_path: Path) -> None:
    """TF 2.21 printed its oneDNN line twice (two libraries carry the check), whatever TF_CPP_MIN_LOG_LEVEL said."""
    command = ("train.py", "--configuration", "configurations/mini/dummy.jsonc", "--workingdir", str(tmp_path), "--check")
    quiet = run_script(*command, environ={**clean_environ(), "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    chatty = run_script(*command, environ={**clean_environ(), "TF_CPP_MIN_LOG_LEVEL": "0"})
    assert chatty.returncode == 0
    assert chatty.stderr.count("oneDNN custom operations are on") <= 1, chatty.stderr


def test_list_models_prints_one_line_per_registered_model(capsys):
    from unmix.cli.train import main as train_main

    assert train_main(["--list_models", "--quiet"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    names = [line.split()[0] for line in lines]
    assert names == sorted(names)
    assert {"hourglass", "unet", "rnn", "leakyrelu", "largeleakyrelu", "mask", "dummy"} <= set(names)
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)  # a name and a description


def test_check_says_which_value_won_over_an_ignored_variable(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """configurations/final/hourglass.jsonc keeps 44100 Hz: UNMIX_SAMPLE_RATE cannot change it, and --check says so."""
    monkeypatch.setenv("UNMIX_SAMPLE_RATE", "22050")
    final = REPOSITORY / "configurations" / "final" / "hourglass.jsonc"
    assert train.main(["--configuration", str(final), "--workingdir", str(tmp_path), "--check"]) == EXIT_OK
    captured = capsys.readouterr()
    assert commentjson.loads(captured.out)["collection"]["sample_rate"] == 44100
    assert one_line(captured.err) == (
        f"warning: UNMIX_SAMPLE_RATE='22050' is ignored: collection.sample_rate is 44100, set by {final}; "
        "write \"int(env('UNMIX_SAMPLE_RATE', 44100))\" there to honour the variable"
    )
