"""The flags of train.py, predict.py and evaluate.py come from one table (issue 14, "CLI").

One meaning per name across the commands, the seed's spellings kept, every other flag in
snake_case, the old spellings still accepted (hidden from --help), ``--cpu`` everywhere, and
``TF_CPP_MIN_LOG_LEVEL`` set in one place that every entry point passes through.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from unmix.cli import evaluate, options, predict, train

REPOSITORY = Path(__file__).resolve().parents[2]
COMMANDS = {"train.py": train, "predict.py": predict, "evaluate.py": evaluate}
SEED_FLAGS = ("--run_folder", "--workingdir", "--sample_rate", "--song", "--songs", "--youtube", "--weights", "--configuration")


@pytest.fixture(autouse=True)
def hermetic(hermetic_environment, monkeypatch: pytest.MonkeyPatch):
    """--cpu writes CUDA_VISIBLE_DEVICES: restore it after each test."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES", ""))


def visible_flags(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {name: action for action in parser._actions if action.help != argparse.SUPPRESS for name in action.option_strings if name.startswith("--") and name != "--help"}


def hidden_flags(parser: argparse.ArgumentParser) -> set[str]:
    return {name for action in parser._actions if action.help == argparse.SUPPRESS for name in action.option_strings}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_flag_is_declared_once_with_one_help_and_one_dest(command: str) -> None:
    for name, action in visible_flags(COMMANDS[command].build_parser()).items():
        assert name in options.FLAGS, f"{command} {name} is not declared in unmix/cli/options.py"
        flag = options.FLAGS[name]
        assert action.help.startswith(flag.help.split("(default")[0].rstrip()), (command, name)
        assert action.dest == flag.dest, (command, name)


def test_one_flag_one_type_across_the_commands() -> None:
    seen: dict[str, tuple] = {}
    for command, module in COMMANDS.items():
        for name, action in visible_flags(module.build_parser()).items():
            signature = (type(action).__name__, action.type, action.dest)
            assert seen.setdefault(name, signature) == signature, f"{name} differs in {command}"


@pytest.mark.parametrize("command", COMMANDS)
def test_flags_are_snake_case_and_old_spellings_hidden(command: str) -> None:
    parser = COMMANDS[command].build_parser()
    assert all("-" not in name[2:] for name in visible_flags(parser)), sorted(visible_flags(parser))
    assert "--cpu" in visible_flags(parser)
    help_text = parser.format_help()
    for hidden in hidden_flags(parser):
        assert re.search(rf"{re.escape(hidden)}\b(?![_-])", help_text) is None, f"{hidden} shows in {command} --help"


def test_the_seed_flags_keep_their_spelling() -> None:
    assert set(SEED_FLAGS) <= set(visible_flags(predict.build_parser()))
    assert {"--configuration", "--workingdir"} <= set(visible_flags(train.build_parser()))
    assert {"--run_folder", "--weights", "--configuration", "--workingdir"} <= set(visible_flags(evaluate.build_parser()))
    assert visible_flags(evaluate.build_parser())["--weights"].help == options.FLAGS["--weights"].help  # the seed's meaning


@pytest.mark.parametrize(
    ("command", "argv", "dest", "value"),
    [("train.py", ["--prepare-only"], "prepare_only", True), ("train.py", ["--list-models"], "list_models", True),
     ("predict.py", ["--list-models"], "list_models", True), ("train.py", ["--prepare_only"], "prepare_only", True)],
)  # fmt: skip
def test_old_spellings_are_aliases(command: str, argv: list[str], dest: str, value, capsys) -> None:
    assert getattr(COMMANDS[command].build_parser().parse_args(argv), dest) == value
    assert capsys.readouterr().err == ""  # a spelling is no deprecation


@pytest.mark.parametrize(
    ("command", "argv", "dest", "value", "warning"),
    [("train.py", ["--weights", "w.weights.h5"], "initial_weights", "w.weights.h5",
      "warning: train.py --weights w.weights.h5 is deprecated: write --initial_weights w.weights.h5"),
     ("evaluate.py", ["--songs", "validation"], "split", "validation",
      "warning: evaluate.py --songs validation is deprecated: write --split validation")],
)  # fmt: skip
def test_old_meanings_still_work_with_one_warning_line(command, argv, dest, value, warning, capsys) -> None:
    args = COMMANDS[command].build_parser().parse_args(argv)
    assert getattr(args, dest) == value
    assert capsys.readouterr().err.splitlines() == [warning]


def test_evaluate_songs_as_a_folder_names_the_flags_to_use(capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        evaluate.build_parser().parse_args(["--songs", "music/"])
    assert caught.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line == "evaluate.py: error: --songs music/: evaluate.py takes --split test|validation|all for that; a folder of songs with their stems is --collection FOLDER"


@pytest.mark.parametrize("command", COMMANDS)
def test_cpu_hides_the_gpus_in_every_command(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = {"train.py": ["--cpu", "--list_models", "--quiet"], "predict.py": ["--cpu", "--list_models", "--quiet"],
            "evaluate.py": ["--cpu", "--run_folder", "/nonexistent", "--quiet"]}[command]  # fmt: skip
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    COMMANDS[command].main(argv)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "-1"


def test_the_tensorflow_log_level_is_set_in_one_place() -> None:
    """Only unmix/cli/common.py writes TF_CPP_MIN_LOG_LEVEL: the scripts, commands and benchmarks call it."""
    sources = [*REPOSITORY.glob("*.py"), *(REPOSITORY / "unmix").rglob("*.py"), *(REPOSITORY / "benchmarks").glob("*.py")]
    writers = sorted(str(p.relative_to(REPOSITORY)) for p in sources if re.search(r"environ(\.setdefault\(|\[)\s*[\"']TF_CPP_MIN_LOG_LEVEL", p.read_text(encoding="utf-8")))
    assert writers == ["unmix/cli/common.py"]


@pytest.mark.parametrize("module", ["unmix.cli.train", "unmix.cli.predict", "unmix.cli.evaluate", "unmix.pretrained.__main__", "unmix.web.serve"])
def test_console_script_mains_set_the_log_level_and_keep_the_callers(module: str) -> None:
    """``unmix-train`` and the others call ``main`` directly, bypassing train.py: main sets the level itself."""
    argv = ["list"] if module == "unmix.pretrained.__main__" else ["--help"]
    code = (
        "import importlib, os, sys\n"
        f"main = importlib.import_module({module!r}).main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(os.environ.get('TF_CPP_MIN_LOG_LEVEL', 'unset'))\n"
    )
    environ = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL" and not k.startswith("UNMIX_")}
    unset = subprocess.run([sys.executable, "-c", code], cwd=REPOSITORY, env=environ, capture_output=True, text=True, timeout=120)
    assert unset.stderr.strip().splitlines()[-1] == "2", unset.stderr
    chosen = subprocess.run([sys.executable, "-c", code], cwd=REPOSITORY, env={**environ, "TF_CPP_MIN_LOG_LEVEL": "0"}, capture_output=True, text=True, timeout=120)
    assert chosen.stderr.strip().splitlines()[-1] == "0", chosen.stderr


@pytest.mark.slow
def test_predict_prints_tensorflow_start_up_lines_at_most_once(tmp_path: Path) -> None:
    """Issue 13: predict.py printed the oneDNN line twice even at TF_CPP_MIN_LOG_LEVEL=3."""
    import numpy as np
    import soundfile

    song = tmp_path / "short.wav"
    soundfile.write(song, (0.1 * np.random.default_rng(0).standard_normal((8000, 2))).astype(np.float32), 16000)
    command = [sys.executable, "predict.py", "--model", "fast", "--song", str(song), "--output", str(tmp_path / "out"), "--quiet"]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("UNMIX_")}
    for level, most in (("3", 0), ("2", 0), ("0", 1)):
        done = subprocess.run(command, cwd=REPOSITORY, env={**environ, "TF_CPP_MIN_LOG_LEVEL": level}, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stderr.count("oneDNN custom operations are on") <= most, (level, done.stderr)
        assert "absl::InitializeLog" not in done.stderr, (level, done.stderr)
        if level != "0":
            assert done.stderr == "", (level, done.stderr)
