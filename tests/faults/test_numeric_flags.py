"""Every numeric flag of every command at 0, -1, nan, inf, -inf and 1e30 (issue 29, the numeric-flag sweep).

Each value is either refused, with exit 2 and one error line naming the flag, before anything is
read or loaded, or valid, with what it means written down in ``VALID`` below. Found wrong by the
sweep: ``predict.py --sample_rate 0`` was ignored (exit 0 at the model's rate), ``--wiener 1e6``
ran for ever, ``-1`` of ``--sample_rate`` named ``sample_rate`` without its dashes,
``evaluate.py --high_band_edge`` named no flag and took 1e30, and ``catalog run
--gpus_per_worker 1e30`` and ``--retries``/``--workers`` had no upper bound.

The refusals run each command's ``main`` in this process (they stop before any work); a few
subprocesses show the exit status of the real scripts. Values are written ``--flag=value``:
argparse reads ``--flag -inf`` as a flag without its value (also exit 2, "expected one argument").
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from unmix.catalog import command as catalog
from unmix.cli import evaluate, options, predict
from unmix.cli.common import EXIT_USAGE
from unmix.web import serve

VALUES = ("0", "-1", "nan", "inf", "-inf", "1e30")

# command: (main, arguments that make the rest of its command line valid, its numeric flags)
COMMANDS = {
    "predict.py": (predict.main, ["--model", "fast", "--song", "song.wav", "--output", "out"], predict.NUMERIC_FLAGS),
    "evaluate.py": (evaluate.main, ["--configuration", "c.jsonc", "--oracle", "irm"], evaluate.NUMERIC_FLAGS),
    "python -m unmix.catalog run": (catalog.main, ["run", "songs", "--output", "dest", "--engine", "ray"], catalog.NUMERIC_FLAGS),
    "unmix-serve": (serve.main, [], serve.NUMERIC_FLAGS),
}

# (flag, value): what the value means where it is valid.
VALID = {
    ("--overlap", "0"): "windows side by side, none shared",
    ("--wiener", "0"): "soft masks, no Wiener iteration",
    ("--wiener", "-1"): "Wiener filtering off (transformation.wiener_iterations' -1)",
    ("--gpus_per_worker", "0"): "CPU-only actors (the default)",
    ("--retries", "0"): "a failed song is recorded at once, without another try",
    ("--max_upload_mb", "1e30"): "no upload is ever too large: the disk's free space is the limit (section 16)",
}

CASES = [(command, flag, value) for command, (_, _, flags) in COMMANDS.items() for flag in flags for value in VALUES]


def test_the_sweep_covers_every_numeric_flag_of_every_command():
    """A numeric flag added to a parser without a place in the sweep fails here."""
    parsers = {"predict.py": predict.build_parser(), "evaluate.py": evaluate.build_parser(), "unmix-serve": serve.build_parser()}
    run = next(a for a in catalog.build_parser()._subparsers._group_actions[0].choices.items() if a[0] == "run")[1]
    parsers["python -m unmix.catalog run"] = run
    for command, parser in parsers.items():
        numeric = {a.option_strings[0] for a in parser._actions if a.type in (int, float) and a.option_strings and not a.choices}
        assert numeric == set(COMMANDS[command][2]), command
        assert numeric <= set(options.BOUNDS)


@pytest.mark.parametrize(("command", "flag", "value"), CASES, ids=[f"{c} {f} {v}" for c, f, v in CASES])
def test_every_numeric_flag_at_every_edge(command, flag, value, tmp_path, monkeypatch, capsys):
    main, rest, _ = COMMANDS[command]
    monkeypatch.chdir(tmp_path)
    if (flag, value) in VALID:
        # Valid: the command line parses and the range check takes it (running it is another test's job).
        parser = {"predict.py": predict, "evaluate.py": evaluate, "unmix-serve": serve}.get(command, catalog).build_parser()
        args = parser.parse_args([*rest, f"{flag}={value}"])
        options.check_numbers(args, flag)
        assert getattr(args, flag[2:]) == float(value)
        return
    try:
        code = main([*rest, f"{flag}={value}"])
    except SystemExit as stop:  # argparse: its usage, then one error line
        code = stop.code
    err = capsys.readouterr().err
    assert code == EXIT_USAGE, err
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if "error:" in line]
    assert flag in line and value.lstrip("-") in line.replace("1e+30", "1e30"), line
    assert list(tmp_path.iterdir()) == [], "something was written"


def test_the_ranges_are_the_configuration_keys_ranges():
    from unmix.config import validate

    assert (options.BOUNDS["--sample_rate"].low, options.BOUNDS["--sample_rate"].high) == (validate.MIN_SAMPLE_RATE, validate.MAX_SAMPLE_RATE)
    assert options.BOUNDS["--batch_size"].high == validate.MAX_BATCH
    assert options.BOUNDS["--workers"].high == validate.MAX_WORKERS
    assert options.BOUNDS["--overlap"].accepts(0.0) and not options.BOUNDS["--overlap"].accepts(1.0)
    assert not any(bounds.accepts(math.nan) or bounds.accepts(math.inf) for bounds in options.BOUNDS.values())


@pytest.mark.parametrize(
    ("script", "argv", "flag"),
    [("predict.py", ["--model", "fast", "--song", "s.wav", "--sample_rate", "0"], "--sample_rate"),
     ("predict.py", ["--model", "fast", "--song", "s.wav", "--wiener", "1e30"], "--wiener"),
     ("evaluate.py", ["--configuration", "c.jsonc", "--oracle", "irm", "--high_band_edge", "inf"], "--high_band_edge")],
)  # fmt: skip
def test_the_scripts_exit_2_with_one_line(script, argv, flag, kit, tmp_path):
    result = subprocess.run([sys.executable, str(kit.REPOSITORY / script), *argv], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "error:" in line]
    assert flag in line
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["predict.py", "python -m unmix.catalog run"])
@pytest.mark.parametrize("value", VALUES)
def test_bit_depth_takes_only_its_choices(command, value, tmp_path, monkeypatch, capsys):
    """``--bit_depth`` is numeric too, with choices (16, 24, 32): argparse refuses every edge value."""
    main, rest, _ = COMMANDS[command]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main([*rest, f"--bit_depth={value}"])
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if "error:" in line]
    assert stop.value.code == EXIT_USAGE and "argument --bit_depth: invalid" in line and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
