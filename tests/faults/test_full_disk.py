"""A disk that fills up during training (fault injection 2).

Before: repeated h5py error stacks, a segmentation fault (exit 139) and a ``.partial-*`` file
left in weights/. Now: one line naming the file, exit 1, every earlier checkpoint and the
resume backup as they were, and ``--resume`` finishing the run once space is free. The
failure is injected at the writer: h5py's ``create_dataset`` (every weights file: checkpoints,
the backup, the final weights), the text writer of best.json, or the file Keras' CSVLogger appends
results.csv through, raising ``OSError(ENOSPC)``. The atomic writers write to temporaries named
``.partial-<pid>-<random>-<name>`` (``unmix.atomic``); ``_target`` reads the name back.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from unmix.atomic import target_of
from unmix.cli import train
from unmix.cli.common import EXIT_FAILURE, EXIT_OK

EPOCHS = 3
OVERRIDES = {
    "training": {"epoch": {"count": EPOCHS}, "callbacks": {"model_checkpoint": {"best_only": False}, "early_stopping": {"enabled": False}}},
}


NO_TEST_SONGS = "warning: no test songs"  # UNMIX_TEST_DATA_COUNT=0, said once at the start


def _error_line(kit, stderr: str) -> str:
    return kit.one_line("\n".join(line for line in stderr.splitlines() if not line.startswith(NO_TEST_SONGS)))


def _epochs(run: Path) -> list[int]:
    with (run / "results.csv").open(newline="") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle, delimiter=";")]


class FullDisk:
    """Raise ENOSPC at the first write that ``when(path)`` picks; record the run folder at that moment."""

    def __init__(self, when, kit) -> None:
        self.when, self.kit = when, kit
        self.raised_for: Path | None = None
        self.before: dict[str, str] = {}

    def fail_here(self, path: Path) -> bool:
        if self.raised_for is not None or not self.when(path):
            return False
        self.raised_for = path
        run = next(p for p in path.parents if p.parent.name == "runs")
        self.before = {k: v for k, v in self.kit.snapshot(run).items() if ".partial" not in k and not k.endswith(".tmp")}
        return True


def _target(path) -> str:
    """The name of the file an atomic writer's temporary stands for ("" for any other file)."""
    target = target_of(Path(path))
    return target.name if target is not None else ""


def _inject_h5(monkeypatch, disk: FullDisk) -> None:
    original = h5py.Group.create_dataset

    def create_dataset(self, *args, **kwargs):
        if disk.fail_here(Path(self.file.filename)):
            raise OSError(errno.ENOSPC, "Unable to synchronously create dataset (file write failed: errno = 28, error message = 'No space left on device')")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", create_dataset)


def _inject_text(monkeypatch, disk: FullDisk) -> None:
    original = Path.write_text

    def write_text(self, *args, **kwargs):
        if disk.fail_here(self):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a failed write() names no file
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)


def _inject_free_space(monkeypatch, disk: FullDisk) -> None:
    """The file system reports a few KiB free: the writer must refuse before HDF5 starts (it can crash)."""
    import shutil

    from unmix.data import disk as disk_module

    original = shutil.disk_usage

    def disk_usage(folder):
        usage = original(folder)
        if disk.fail_here(Path(folder) / "callback_weights_02.weights.h5"):
            return usage._replace(free=4096)
        return usage

    monkeypatch.setattr(disk_module.shutil, "disk_usage", disk_usage)
    monkeypatch.setattr(h5py.Group, "create_dataset", _refuse_after(disk, h5py.Group.create_dataset))


def _refuse_after(disk: FullDisk, original):
    """Fail the test if HDF5 writes the refused file (what the free-space check is for)."""

    def create_dataset(self, *args, **kwargs):
        assert not (disk.raised_for and _target(self.file.filename) == disk.raised_for.name), "HDF5 wrote a file that could not fit"
        return original(self, *args, **kwargs)

    return create_dataset


class _FullFile:
    """An open file whose ``write`` raises ENOSPC where ``disk`` says (as a full disk does: no file named)."""

    def __init__(self, handle, path: Path, disk: FullDisk) -> None:
        self.handle, self.path, self.disk = handle, path, disk

    def write(self, text: str) -> int:
        if self.disk.fail_here(self.path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.handle.write(text)

    def __getattr__(self, name: str):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.handle.close()


def _inject_results(monkeypatch, disk: FullDisk) -> None:
    """Keras' CSVLogger opens results.csv through ``keras.src.utils.file_utils.File``."""
    from keras.src.utils import file_utils

    original = file_utils.File

    def open_file(path, mode="r"):
        handle = original(path, mode)
        return _FullFile(handle, Path(path), disk) if mode[0] in "aw" else handle

    monkeypatch.setattr(file_utils, "File", open_file)


WHERE = {
    # name: (inject, when, the file the message must name)
    "epoch-2 checkpoint": (_inject_h5, lambda p: _target(p) == "callback_weights_02.weights.h5", "weights/callback_weights_02.weights.h5"),
    "second backup": (_inject_h5, lambda p: _target(p) == "latest.weights.h5" and (p.parent / "latest.weights.h5").exists(), "backup/latest.weights.h5"),
    "final weights": (_inject_h5, lambda p: _target(p) == "weights.weights.h5", "weights/weights.weights.h5"),
    "too little free space": (
        _inject_free_space,
        lambda p: p.parent.name == "weights" and (p.parent / "callback_weights_01.weights.h5").exists() and not (p.parent / "callback_weights_02.weights.h5").exists(),
        "weights/callback_weights_02.weights.h5",
    ),
    "best.json": (_inject_text, lambda p: _target(p) == "best.json" and (p.parent / "best.json").exists(), "weights/best.json"),
    # Keras' CSVLogger appending the second epoch's row (the first one is on disk, after the header).
    "results.csv": (_inject_results, lambda p: p.name == "results.csv" and len(p.read_text().splitlines()) >= 2, "results.csv"),
}


@pytest.mark.slow
@pytest.mark.parametrize("where", sorted(WHERE))
def test_full_disk_stops_with_one_line_keeps_what_was_written_and_resumes(where, tmp_path: Path, training_environment, kit, monkeypatch, capsys) -> None:
    inject, when, named = WHERE[where]
    monkeypatch.setenv("UNMIX_TEST_DATA_COUNT", "0")  # no accuracy evaluation: only the writes matter here
    configuration = kit.child_configuration(tmp_path / "full.jsonc", OVERRIDES)
    work = tmp_path / "work"
    disk = FullDisk(when, kit)
    with monkeypatch.context() as patch:
        inject(patch, disk)
        code = train.main(["--configuration", str(configuration), "--workingdir", str(work), "--quiet"])
    captured = capsys.readouterr()
    assert disk.raised_for is not None, "the injected failure was never reached"
    (run,) = (work / "runs").iterdir()
    assert code == EXIT_FAILURE
    line = _error_line(kit, captured.err)
    assert line == f"error: no space left on device while writing {run / named}; free space, then continue with --resume {run}"
    assert captured.out == "", "--quiet printed Keras output"
    left = [str(p.relative_to(run)) for p in run.rglob("*") if ".partial" in p.name or p.name.endswith(".tmp")]
    assert left == [], f"partial files left: {left}"
    after = kit.snapshot(run)
    # train.lock names the training while it runs and is emptied when it stops: not a result.
    logs = {k: v for k, v in disk.before.items() if k not in ("logs.txt", "train.lock")}
    kit.assert_unchanged(logs, after)  # every checkpoint, the backup, results.csv as they were

    assert train.main(["--resume", str(run), "--workingdir", str(work), "--quiet"]) == EXIT_OK
    assert _epochs(run) == list(range(EPOCHS))
    assert (run / "model.keras").is_file() and (run / "weights" / "weights.weights.h5").is_file()


@pytest.mark.slow
def test_full_disk_in_a_fresh_process_exits_1_without_a_crash(tmp_path: Path, collection: Path, kit) -> None:
    """The real entry point: exit status 1 (not 139), one stderr line, nothing on stdout."""
    configuration = kit.child_configuration(tmp_path / "full.jsonc", OVERRIDES)
    code = (
        "import errno, sys, h5py\n"
        "original = h5py.Group.create_dataset\n"
        "def create_dataset(self, *args, **kwargs):\n"
        "    if '/.partial-' in self.file.filename and self.file.filename.endswith('-callback_weights_02.weights.h5'):\n"
        "        raise OSError(errno.ENOSPC, 'No space left on device')\n"
        "    return original(self, *args, **kwargs)\n"
        "h5py.Group.create_dataset = create_dataset\n"
        "from unmix.cli.train import main\n"
        f"sys.exit(main(['--configuration', {str(configuration)!r}, '--workingdir', {str(tmp_path / 'work')!r}, '--quiet']))\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("UNMIX_")}
    environment.update(UNMIX_COLLECTION_DIR=str(collection), UNMIX_TEST_DATA_COUNT="0", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", code], cwd=kit.REPOSITORY, env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == EXIT_FAILURE, result.stderr[-3000:]
    assert _error_line(kit, result.stderr).startswith("error: no space left on device while writing ")
    assert result.stdout == ""


@pytest.mark.slow
def test_the_full_disk_line_starts_a_line_of_its_own_after_keras_progress_bar(tmp_path: Path, training_environment, kit, monkeypatch) -> None:
    """Keras' bar (stdout) ends its line only when the epoch ends; the checkpoint's error came before that.

    stdout and stderr are one stream here, as on a terminal: the error line must start a line.
    """
    monkeypatch.setenv("UNMIX_TEST_DATA_COUNT", "0")
    configuration = kit.child_configuration(tmp_path / "full.jsonc", {"training": {**OVERRIDES["training"], "verbose": 1}})
    inject, when, named = WHERE["epoch-2 checkpoint"]
    disk = FullDisk(when, kit)
    console = io.StringIO()
    with monkeypatch.context() as patch:
        inject(patch, disk)
        patch.setattr(sys, "stdout", console)
        patch.setattr(sys, "stderr", console)
        code = train.main(["--configuration", str(configuration), "--workingdir", str(tmp_path / "work")])
    assert code == EXIT_FAILURE and disk.raised_for is not None
    text = console.getvalue()
    (line,) = [line for line in text.splitlines() if "no space left on device" in line]
    assert line.startswith("error: no space left on device while writing ") and line.endswith(named.split("/")[-1] + "; free space, then continue with --resume " + str(next((tmp_path / "work" / "runs").iterdir()))), line
    assert "━" in text, "Keras drew no progress bar: the test shows nothing"
