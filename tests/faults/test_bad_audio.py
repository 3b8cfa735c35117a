"""Fault injection on predict.py: non-finite, truncated and too-loud audio, and a full disk.

Each test writes its bad input itself and runs ``predict.main`` with a tiny NumPy separator in
place of a trained model (loading is not what is under test), then checks the exit code, the
one-line message and that no earlier file changed and no partial output is left.
"""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from unmix.cli import predict
from unmix.config.schema import TransformOptions
from unmix.dsp.stft import StftOptions
from unmix.pipeline.representations import get_representation
from unmix.separation.separator import Separator

from .conftest import assert_unchanged, snapshot

RATE = 8000


@pytest.fixture
def fake_model(monkeypatch):
    """--run_folder loads a NumPy separator (half of every bin is vocals)."""
    stft = StftOptions(n_fft=256, hop_length=64)
    representation = get_representation("train_window_predict_mask", options=TransformOptions(size=16, step=16), stft=stft)

    def load(*args, **overrides):
        return Separator(lambda x: np.full_like(x, 0.5), representation=representation, stft_options=stft, sample_rate=RATE, n_channels=2, batch_size=4, block_seconds=0.5)

    monkeypatch.setattr(Separator, "from_run_folder", staticmethod(load))


@pytest.fixture
def run(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "configuration.jsonc").write_text("{}")
    return folder


def noise(seconds: float = 2.0, *, scale: float = 0.2, seed: int = 0) -> np.ndarray:
    return (scale * np.random.default_rng(seed).standard_normal((2, int(seconds * RATE)))).astype(np.float32)


def separate(run: Path, out: Path, *songs: Path, extra: tuple[str, ...] = ()) -> int:
    return predict.main(["--run_folder", str(run), *(a for s in songs for a in ("--song", str(s))), "--output", str(out), "--quiet", *extra])


def error_lines(text: str) -> list[str]:
    assert "Traceback" not in text
    return [line for line in text.strip().splitlines() if line.startswith("error:") or "ERROR" in line or " error " in line]


@pytest.mark.parametrize(("value", "where"), [(np.nan, 5), (np.inf, 12345), (-np.inf, 2 * RATE - 1), (np.nan, 0)])
def test_non_finite_samples_reject_the_song_and_name_the_first_bad_one(tmp_path, fake_model, run, capsys, value, where):
    samples = noise()
    samples[1, where] = value
    samples[0, -1] = value  # a second bad sample, later: the first is named
    bad, good = tmp_path / "bad.wav", tmp_path / "good.wav"
    soundfile.write(bad, samples.T, RATE, subtype="FLOAT")
    soundfile.write(good, noise(seed=1).T, RATE, subtype="FLOAT")
    before = snapshot(tmp_path)
    assert separate(run, tmp_path / "out", bad, good) == 1
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if "bad.wav" in line and "sample" in line]
    assert "Traceback" not in err
    channel = 1 if where < samples.shape[1] - 1 else 0  # at the last sample both channels are bad
    assert f"bad.wav: sample {where} ({where / RATE:.3f} s, channel {channel}) is {value}" in line
    assert "NaN or infinite" in line and "repair or re-export the file" in line
    assert not (tmp_path / "out" / "bad").exists() or not list((tmp_path / "out" / "bad").iterdir())  # nothing written for it
    assert (tmp_path / "out" / "good" / "vocals.wav").is_file()  # the other song goes on
    assert_unchanged(before, snapshot(tmp_path))


def test_no_output_is_ever_nan(tmp_path, fake_model, run, capsys):
    """A song that separates at all separates into finite samples only."""
    song = tmp_path / "loud.wav"
    soundfile.write(song, (50 * noise()).T, RATE, subtype="FLOAT")
    assert separate(run, tmp_path / "out", song) == 0
    for stem in ("vocals", "instrumental"):
        data, _ = soundfile.read(tmp_path / "out" / "loud" / f"{stem}.wav", dtype="float32")
        assert np.isfinite(data).all()


def test_flac_output_warns_when_it_clips(tmp_path, fake_model, run, capsys):
    song = tmp_path / "hot.wav"
    samples = noise(scale=1.5)  # well beyond full scale, as a float WAV can hold
    soundfile.write(song, samples.T, RATE, subtype="FLOAT")
    assert separate(run, tmp_path / "out", song, extra=("--format", "flac")) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:") and "clipped" in line]
    assert len(warnings) == 2  # one per stem
    assert all("beyond full scale" in w and "write float WAV (--format wav --bit_depth 32) to keep them" in w for w in warnings)
    assert separate(run, tmp_path / "out-wav", song) == 0  # float WAV keeps them: no warning
    assert "clipped" not in capsys.readouterr().err
    data, _ = soundfile.read(tmp_path / "out-wav" / "hot" / "instrumental.wav", dtype="float32")
    assert np.abs(data).max() > 1.0


def truncated(path: Path, fraction: float = 1 / 3) -> Path:
    data = path.read_bytes()
    cut = path.with_name(f"cut-{path.name}")
    cut.write_bytes(data[: int(len(data) * fraction)])
    return cut


def test_a_truncated_flac_is_one_error_line(tmp_path, fake_model, run, capsys):
    """libsndfile's FLAC decoder stops at the cut: the song fails, named, and the others would go on."""
    whole = tmp_path / "song.flac"
    soundfile.write(whole, noise(seconds=6.0).T, RATE, subtype="PCM_16")
    cut = truncated(whole)
    assert separate(run, tmp_path / "out", cut) == 1
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert str(cut) in line and "the file is corrupt, truncated or not audio" in line


@pytest.mark.parametrize("extension", ["wav", "mp3"])
def test_a_truncated_file_is_separated_with_a_warning(tmp_path, fake_model, run, capsys, extension):
    whole = tmp_path / f"song.{extension}"
    if extension == "mp3":
        wav = tmp_path / "source.wav"
        soundfile.write(wav, noise(seconds=6.0).T, RATE, subtype="PCM_16")
        subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(wav), str(whole)], check=True)
    else:
        soundfile.write(whole, noise(seconds=6.0).T, RATE, subtype="PCM_16")
    cut = truncated(whole)
    assert separate(run, tmp_path / "out", cut) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:") and "truncated" in line]
    assert len(warnings) == 1 and str(cut) in warnings[0] and "of the 6.0 s its header declares" in warnings[0]
    vocals, _ = soundfile.read(tmp_path / "out" / cut.stem / "vocals.wav")
    assert 0 < vocals.shape[0] < 6 * RATE
    assert separate(run, tmp_path / "whole", whole) == 0  # the complete file: no warning
    assert "truncated" not in capsys.readouterr().err


def test_a_full_disk_names_the_file_and_keeps_nothing_partial(tmp_path, fake_model, run, capsys, monkeypatch):
    from unmix.audio import native

    song = tmp_path / "song.wav"
    soundfile.write(song, noise().T, RATE, subtype="FLOAT")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("an earlier file")
    before = snapshot(tmp_path)
    calls = []
    original = native.SoundfileWriter.write

    def full(self, frames):
        calls.append(1)
        if len(calls) > 1:  # the first stem's first block is written, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, frames)

    monkeypatch.setattr(native.SoundfileWriter, "write", full)
    assert separate(run, tmp_path / "out", song) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "no space left on device" in line]
    assert len(lines) == 1 and "while writing" in lines[0] and str(tmp_path / "out" / "song") in lines[0]
    assert "Traceback" not in err
    assert [p.name for p in (tmp_path / "out").rglob("*") if p.is_file()] == ["keep.txt"]  # no partial stems
    assert_unchanged(before, snapshot(tmp_path))


def test_a_corrupt_mp3_is_called_corrupt_not_missing(tmp_path, fake_model, run, capsys):
    song = tmp_path / "corrupt.mp3"
    song.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(np.random.default_rng(9).integers(0, 256, 20000, dtype=np.uint8)))
    assert separate(run, tmp_path / "out", song) == 1
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert str(song) in line and "does not exist" not in line and "libsndfile cannot decode it; the file is corrupt, truncated or not audio" in line
