"""Fault injection on predict.py: a signal in the middle of a song, and what the next run finds.

``predict`` runs in a process of its own (``tests.faults.fake_model``: a NumPy model that takes
0.05 s a call) and is signalled once its first partial stem exists. SIGTERM used to end it where
it stood, leaving the hidden ``.partial-*`` stems that no later run removed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from unmix.atomic import PREFIX
from unmix.cli import predict

from .conftest import FAKE_MODEL_RATE, REPOSITORY

pytestmark = pytest.mark.slow


def write_song(path: Path, seconds: float) -> Path:
    samples = 0.2 * np.random.default_rng(3).standard_normal((int(seconds * FAKE_MODEL_RATE), 2))
    soundfile.write(path, samples.astype(np.float32), FAKE_MODEL_RATE, subtype="FLOAT")
    return path


def partials(folder: Path) -> list[Path]:
    return sorted(folder.rglob(f"{PREFIX}*"))


def signalled_mid_song(tmp_path: Path, signum: int) -> subprocess.CompletedProcess:
    """Run predict on a 20 s song into ``tmp_path/out`` and send ``signum`` once a partial stem is written."""
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    (run / "configuration.jsonc").write_text("{}")
    song = write_song(tmp_path / "song.wav", seconds=20.0)
    command = [sys.executable, "-m", "tests.faults.fake_model", "0.05", "--run_folder", str(run), "--song", str(song), "--output", str(tmp_path / "out"), "--quiet"]
    process = subprocess.Popen(command, cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    deadline = time.monotonic() + 120
    while not partials(tmp_path / "out"):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no partial stem was ever written"
        time.sleep(0.02)
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def test_sigterm_cleans_up_as_ctrl_c_does(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("an earlier file")
    result = signalled_mid_song(tmp_path, signal.SIGTERM)
    assert result.returncode == 128 + signal.SIGTERM, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "terminated: what was written so far is kept"
    assert "Traceback" not in result.stderr
    assert [p.name for p in (tmp_path / "out").rglob("*") if p.is_file()] == ["keep.txt"], "a partial or half a song's stems were left"


def test_the_next_run_removes_the_partials_of_a_killed_one_and_keeps_a_live_writers(tmp_path, fake_model, capsys):
    result = signalled_mid_song(tmp_path, signal.SIGKILL)
    assert result.returncode == -signal.SIGKILL
    left = partials(tmp_path / "out")
    assert left, "a SIGKILL cannot clean up: this is what the next run finds"
    folder = left[0].parent
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as live:
        writing = folder / f"{PREFIX}{live.pid}-0123abcd-vocals.wav"
        writing.write_bytes(b"another run, still writing")
        try:
            assert predict.main(["--run_folder", str(tmp_path / "run"), "--song", str(tmp_path / "song.wav"), "--output", str(tmp_path / "out")]) == 0
        finally:
            live.kill()
    assert partials(tmp_path / "out") == [writing], "a dead run's partial stem is still there, or a live one's was taken"
    assert f"{folder}: removed {len(left)} partial file(s) of a separation that was killed" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(PREFIX)) == ["instrumental.wav", "vocals.wav"]
