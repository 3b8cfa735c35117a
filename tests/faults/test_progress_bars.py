"""A progress bar shows 100 % only for work done to the end (issue 29, minor 17 c).

progressbar2's ``finish()`` fills the bar whatever was done, so a song interrupted with Ctrl-C,
a song that failed, a file that decoded short of its header's length and a preparation stopped
part-way all ended on a full bar.
"""

from __future__ import annotations

import importlib
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile

from tests.faults.conftest import FAKE_MODEL_RATE
from unmix.cli import predict
from unmix.separation.batch import separate_songs
from unmix.separation.outputs import OutputSpec

RATE = FAKE_MODEL_RATE


def last_bar(text: str, name: str) -> str:
    """The last state drawn of the bar of ``name`` (progressbar2 redraws with ``\\r``, or a line each time)."""
    drawn = [part for line in text.splitlines() for part in line.split("\r") if part.startswith(f"{name} ") and "|" in part]
    assert drawn, text
    return drawn[-1]


def test_a_file_shorter_than_its_header_does_not_end_at_100_percent(tmp_path, fake_model, run, capsys):
    whole = tmp_path / "song.wav"
    soundfile.write(whole, (0.2 * np.random.default_rng(0).standard_normal((6 * RATE, 2))).astype(np.float32), RATE, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    assert predict.main(["--run_folder", str(run), "--song", str(cut), "--song", str(whole), "--output", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "100%" not in last_bar(err, "cut") and "1/6 s" in last_bar(err, "cut")  # 1.99 of the 6 s the header declares
    assert "100%" in last_bar(err, "song") and "6/6 s" in last_bar(err, "song")


def test_an_mp3_whose_length_was_estimated_ends_at_100_percent(tmp_path, fake_model, run, capsys):
    wav = tmp_path / "source.wav"
    soundfile.write(wav, (0.2 * np.random.default_rng(0).standard_normal((int(2.5 * RATE), 2))).astype(np.float32), RATE, subtype="PCM_16")
    song = tmp_path / "song.mp3"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(wav), str(song)], check=True)
    assert predict.main(["--run_folder", str(run), "--song", str(song), "--output", str(tmp_path / "out")]) == 0
    assert "100%" in last_bar(capsys.readouterr().err, "song")


class _Interrupted:
    """A separator whose ``separate_file`` reports ``done`` of 3 s, then is interrupted (Ctrl-C)."""

    def __init__(self, done: float) -> None:
        self.done = done

    def separate_file(self, path, folder, *, progress, **options):
        progress(1.0, 3.0)
        progress(self.done, 3.0)
        raise KeyboardInterrupt


@pytest.mark.parametrize("done", [2.5, 3.0], ids=["mid-song", "while its last block was written"])
def test_an_interrupted_song_does_not_end_at_100_percent(done, tmp_path, capsys):
    song = tmp_path / "song.wav"
    song.write_bytes(b"")
    with pytest.raises(KeyboardInterrupt):
        separate_songs(_Interrupted(done), OutputSpec(folder=tmp_path / "out"), songs=[song], folders=[], youtube=[], show_progress=True)
    bar = last_bar(capsys.readouterr().err, "song")
    assert "100%" not in bar and "3/3 s" not in bar


def test_an_interrupted_preparation_keeps_the_count_it_reached(monkeypatch, capsys):
    prepare = importlib.import_module("unmix.data.prepare")  # the package's ``prepare`` is the function

    def build_song(song, path, key, sample_rate, n_channels):
        if song.id == "c":
            raise KeyboardInterrupt
        return f"cached {song.id}"

    monkeypatch.setattr(prepare, "build_song", build_song)
    jobs = [(SimpleNamespace(id=name), Path(name), "key") for name in "abcd"]
    built = []
    with pytest.raises(KeyboardInterrupt):
        for song_id, outcome in prepare._build_all(jobs, sample_rate=8000, n_channels=2, workers=1, progress=True):
            built.append(outcome)
    assert built == ["cached a", "cached b"]
    assert "2/4 songs" in last_bar(capsys.readouterr().err, "preparing")
