"""Inputs that used to end in a traceback now end in one line (fault injection 4).

A working folder that cannot be written (simulated: tests run as root, so a path under a
regular file, or ``mkdir`` raising ``PermissionError``), a binary file as ``--configuration``
or ``.env``, and ``--resume`` from a run whose backup is truncated or whose
``training_metadata.json`` is broken. Each case checks the line, the exit code, and that no
file that existed before changed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from unmix.cli import train
from unmix.cli.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE

BINARY = bytes(range(256)) * 4


def _main(*argv: str) -> int:
    return train.main([*argv, "--quiet"])


def test_binary_configuration_file(tmp_path: Path, training_environment, kit, capsys) -> None:
    binary = tmp_path / "weights.jsonc"
    binary.write_bytes(BINARY)
    before = kit.snapshot(tmp_path)
    assert _main("--configuration", str(binary), "--workingdir", str(tmp_path)) == EXIT_USAGE
    line = kit.one_line(capsys.readouterr().err)
    assert line.startswith(f"error: {binary}: not a text file") and "pass a .jsonc configuration" in line
    kit.assert_unchanged(before, kit.snapshot(tmp_path))
    assert not (tmp_path / "runs").exists()


def test_binary_dotenv_in_the_working_folder(tmp_path: Path, training_environment, kit, capsys) -> None:
    (tmp_path / ".env").write_bytes(BINARY)
    configuration = kit.child_configuration(tmp_path / "c.jsonc", {})
    before = kit.snapshot(tmp_path)
    assert _main("--configuration", str(configuration), "--workingdir", str(tmp_path), "--check") == EXIT_USAGE
    line = kit.one_line(capsys.readouterr().err)
    assert line.startswith(f"error: {tmp_path / '.env'}: cannot read it as a .env file") and "fix or remove it" in line
    kit.assert_unchanged(before, kit.snapshot(tmp_path))


def test_working_folder_under_a_regular_file(tmp_path: Path, training_environment, kit, capsys) -> None:
    (tmp_path / "file").write_text("a file, not a folder")
    configuration = kit.child_configuration(tmp_path / "c.jsonc", {})
    before = kit.snapshot(tmp_path)
    work = tmp_path / "file" / "work"
    assert _main("--configuration", str(configuration), "--workingdir", str(work)) == EXIT_USAGE
    line = kit.one_line(capsys.readouterr().err)
    assert line.startswith(f"error: cannot write the run folder under {work / 'runs'}: Not a directory") and "pass a writable --workingdir" in line
    kit.assert_unchanged(before, kit.snapshot(tmp_path))


def test_working_folder_without_write_permission(tmp_path: Path, training_environment, kit, capsys, monkeypatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    configuration = kit.child_configuration(tmp_path / "c.jsonc", {})
    original = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if work in self.parents:
            raise PermissionError(13, "Permission denied", str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    for extra, code, start in (
        ([], EXIT_USAGE, f"error: cannot write the run folder under {work / 'runs'}: Permission denied"),
        (["--prepare_only"], EXIT_FAILURE, "error: cannot create the cache folder"),
    ):
        assert _main("--configuration", str(configuration), "--workingdir", str(work), *extra) == code
        line = kit.one_line(capsys.readouterr().err)
        assert line.startswith(start), line
        assert "--workingdir" in line
    assert list(work.iterdir()) == []


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


BROKEN = {
    # name: (break the copied run, the file the line names, exit code)
    "truncated backup weights": (lambda run: _truncate(run / "backup" / "latest.weights.h5"), "backup/latest.weights.h5", EXIT_FAILURE),
    "backup weights missing": (lambda run: (run / "backup" / "latest.weights.h5").unlink(), "backup/latest.weights.h5", EXIT_FAILURE),
    "truncated metadata": (lambda run: _truncate(run / "backup" / "training_metadata.json"), "backup/training_metadata.json", EXIT_FAILURE),
    "metadata without an epoch": (lambda run: (run / "backup" / "training_metadata.json").write_text('{"epoch": "two"}'), "backup/training_metadata.json", EXIT_FAILURE),
    "binary configuration": (lambda run: (run / "configuration.jsonc").write_bytes(BINARY), "configuration.jsonc", EXIT_USAGE),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_resume_from_a_broken_run_is_one_line(case, finished_run: Path, tmp_path: Path, training_environment, kit, capsys) -> None:
    damage, named, code = BROKEN[case]
    run = Path(shutil.copytree(finished_run, tmp_path / finished_run.name))
    damage(run)
    before = kit.snapshot(run)
    assert _main("--resume", str(run), "--workingdir", str(tmp_path / "work")) == code
    line = kit.one_line(capsys.readouterr().err)
    assert str(run / named) in line, line
    if code == EXIT_FAILURE:
        assert f"delete {run / 'backup'} to restart this run from its first epoch" in line
    kit.assert_unchanged(before, kit.snapshot(run))
    assert kit.snapshot(run).keys() == before.keys(), "resume wrote into the run"


@pytest.mark.slow
def test_resume_from_an_intact_copy_works(finished_run: Path, tmp_path: Path, training_environment, capsys) -> None:
    """The control: the same copy, unbroken, resumes (nothing is left to train) and exits 0."""
    run = Path(shutil.copytree(finished_run, tmp_path / finished_run.name))
    assert _main("--resume", str(run), "--workingdir", str(tmp_path / "work")) == EXIT_OK
    assert json.loads((run / "backup" / "training_metadata.json").read_text())["epoch"] >= 1
