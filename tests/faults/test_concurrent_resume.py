"""Fault injection on train.py: a run that another process is training.

Two ``train.py --resume RUN`` at once both succeeded and appended the same epochs to
results.csv. The other process here is a real one that holds the run's lock the way a training
does (``unmix.data.lock.exclusive`` on ``train.lock``); the run is a copy of ``finished_run``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from unmix.cli import train
from unmix.cli.common import EXIT_FAILURE, EXIT_OK

from .conftest import REPOSITORY

pytestmark = pytest.mark.slow

HOLD = "import sys, time; from pathlib import Path; from unmix.data.lock import exclusive\nwith exclusive(Path(sys.argv[1]), holder=sys.argv[2]):\n    print('held', flush=True); time.sleep(120)"


def test_a_run_being_trained_is_not_resumed_beside_it_and_a_dead_trainers_lock_is_taken_over(finished_run: Path, tmp_path: Path, training_environment, kit, capsys) -> None:
    run = Path(shutil.copytree(finished_run, tmp_path / finished_run.name))
    holder = "train.py (pid 4242, started 2024-01-01 10:00:00)"
    other = subprocess.Popen([sys.executable, "-c", HOLD, str(run / "train.lock"), holder], cwd=REPOSITORY, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPOSITORY)})
    try:
        assert other.stdout.readline().strip() == "held"
        before = kit.snapshot(run)
        assert train.main(["--resume", str(run), "--workingdir", str(tmp_path / "work"), "--quiet"]) == EXIT_FAILURE
        line = kit.one_line(capsys.readouterr().err)
        assert line == f"error: run folder {run} is being trained by {holder}; let it finish or stop it, then --resume {run}"
        assert kit.snapshot(run) == before, "the refused resume wrote into the run"
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait(10)
    # The holder died without releasing: its text is stale and the next resume goes on.
    assert (run / "train.lock").read_text() == holder
    assert train.main(["--resume", str(run), "--workingdir", str(tmp_path / "work")]) == EXIT_OK
    assert f"taking over from {holder}, which stopped without releasing it" in capsys.readouterr().err
    assert (run / "train.lock").read_text() == "", "a finished training releases the run"
