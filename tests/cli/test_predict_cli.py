"""predict.py: --help, the seed's flags, and each usage error's exit code (issue 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from unmix.cli import predict
from unmix.cli.common import EXIT_USAGE
from unmix.errors import ConfigurationError

REPOSITORY = Path(__file__).resolve().parents[2]


# The variables whose mere presence changes an error path; "" counts as unset for both.
NEUTRALISED = {"UNMIX_COLLECTION_DIR", "UNMIX_CONFIGURATION_FILE"}


def clean_environ() -> dict[str, str]:
    """The current environment without UNMIX_* and with a developer's repository .env neutralised."""
    from dotenv import dotenv_values

    environ = {k: v for k, v in os.environ.items() if not k.startswith("UNMIX_")}
    if (REPOSITORY / ".env").is_file():
        environ.update({k: "" for k in dotenv_values(REPOSITORY / ".env") if k in NEUTRALISED})
    environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return environ


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "predict.py", *args], cwd=REPOSITORY, env=clean_environ(),
        capture_output=True, text=True, timeout=120,
    )


@pytest.fixture(autouse=True)
def hermetic(hermetic_environment, monkeypatch: pytest.MonkeyPatch):
    """No UNMIX_* variables or developer .env; CUDA_VISIBLE_DEVICES restored, since --cpu writes it."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES", ""))


def error_line(text: str, prog: str = "predict.py") -> str:
    """argparse prints usage, then exactly one error line."""
    assert "Traceback" not in text
    errors = [line for line in text.strip().splitlines() if "error:" in line]
    assert len(errors) == 1, text
    assert errors[0] == text.strip().splitlines()[-1]
    assert errors[0].startswith(f"{prog}: error: ")
    return errors[0]


def test_help_lists_the_seed_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        predict.main(["--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--configuration", "--workingdir", "--run_folder", "--weights", "--song", "--songs", "--youtube", "--sample_rate"):
        assert flag in out, flag


def test_seed_flags_parse() -> None:
    args = predict.build_parser().parse_args(
        ["--run_folder", "runs/x", "--song", "a.wav", "--song", "b.mp3", "--songs", "folder",
         "--youtube", "https://youtu.be/x", "--sample_rate", "22050", "--workingdir", "w"]
    )
    assert args.run_folder == "runs/x"
    assert args.song == ["a.wav", "b.mp3"] and args.songs == ["folder"] and args.youtube == ["https://youtu.be/x"]
    assert args.sample_rate == 22050 and isinstance(args.sample_rate, int)
    assert args.workingdir == "w"


def test_sample_rate_must_be_an_int(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        predict.main(["--run_folder", "r", "--song", "a.wav", "--sample_rate", "44.1k"])
    assert caught.value.code == EXIT_USAGE
    assert "--sample_rate" in error_line(capsys.readouterr().err)


def test_nothing_to_separate(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        predict.main(["--run_folder", "runs/x"])
    assert caught.value.code == EXIT_USAGE
    line = error_line(capsys.readouterr().err)
    assert "nothing to separate" in line and "--song" in line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--weights", "w.weights.h5", "--song", "a.wav"], "--weights and --configuration go together"),
        (["--configuration", "c.jsonc", "--song", "a.wav"], "--weights and --configuration go together"),
        (["--run_folder", "r", "--weights", "w", "--configuration", "c", "--song", "a.wav"], "either --run_folder or --weights"),
        (["--run_folder", "r", "--song", "a.wav", "--format", "ogg"], "--format"),
    ],
)
def test_model_flag_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        predict.main(argv)
    assert caught.value.code == EXIT_USAGE
    assert message in error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--stems", "drums"], "--stems: expected vocals and/or instrumental, received 'drums'"),
        (["--stems", ","], "--stems: expected vocals and/or instrumental"),
        (["--overlap", "1.5"], "--overlap must be in [0, 1), received 1.5"),
        (["--overlap", "-0.1"], "--overlap must be in [0, 1)"),
        (["--batch_size", "0"], "--batch_size must be a positive integer, received 0"),
    ],
)
def test_option_errors_are_one_line_exit_2(extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = predict.main(["--run_folder", str(tmp_path), "--song", str(tmp_path / "a.wav"), *extra])
    assert code == EXIT_USAGE
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), lines


def test_parse_stems() -> None:
    assert predict.parse_stems("vocals, instrumental") == ("vocals", "instrumental")
    assert predict.parse_stems("instrumental") == ("instrumental",)
    with pytest.raises(ConfigurationError, match="--stems: expected vocals and/or instrumental, received 'bass'"):
        predict.parse_stems("bass")


# === The entry script, in a fresh interpreter ===
def test_script_help() -> None:
    result = run_script("--help")
    assert result.returncode == 0, result.stderr
    assert "--run_folder" in result.stdout and "--youtube" in result.stdout


def test_script_without_songs() -> None:
    result = run_script("--run_folder", "runs/anything")
    assert result.returncode == 2
    assert "nothing to separate" in error_line(result.stderr)
    assert result.stdout == ""


def test_script_weights_without_configuration(tmp_path: Path) -> None:
    result = run_script("--weights", str(tmp_path / "w.weights.h5"), "--song", str(tmp_path / "a.wav"))
    assert result.returncode == 2
    assert "--weights and --configuration go together" in error_line(result.stderr)
