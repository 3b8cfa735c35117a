"""Fault injection on predict.py: non-finite, truncated and too-loud audio, and a full disk.

Each test writes its bad input itself and runs ``predict.main`` with a tiny NumPy separator in
place of a trained model (``fake_model``; loading is not what is under test), then checks the
exit code, the one-line message and that no earlier file changed and no partial output is left.
"""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from unmix.cli import predict

from .conftest import FAKE_MODEL_RATE as RATE
from .conftest import assert_unchanged, snapshot, use_fake_model


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
    assert not (tmp_path / "out" / "bad").exists()  # nothing written for it, not even its folder
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


def scaled_to(peak: float) -> np.ndarray:
    """Seeded noise whose largest magnitude is ``abs(peak)``, the sign of every sample times ``peak`` for 3.4e38."""
    samples = noise().astype(np.float64)
    if abs(peak) > 1e38:  # the file: every sample at ±peak
        return (np.sign(samples) * peak).astype(np.float32)
    return (samples / np.abs(samples).max() * peak).astype(np.float32)


@pytest.mark.parametrize("peak", [3.4e38, -3.4e38, 1e18, 1.5 * 2.0**31])
def test_audio_too_loud_to_separate_is_refused_in_one_line(tmp_path, fake_model, run, capsys, peak):
    """Finite but enormous samples gave NaN stems with exit 0 (the default model from a peak of 1e18)."""
    loud, good = tmp_path / "loud.wav", tmp_path / "good.wav"
    samples = scaled_to(peak)
    soundfile.write(loud, samples.T, RATE, subtype="FLOAT")
    soundfile.write(good, noise(seed=1).T, RATE, subtype="FLOAT")
    assert separate(run, tmp_path / "out", loud, good) == 1
    err = capsys.readouterr().err
    first = int(np.flatnonzero((np.abs(samples) > 2.0**31).any(axis=0))[0])
    (line,) = [line for line in err.splitlines() if "loud.wav" in line and "beyond" in line]
    assert f"loud.wav: sample {first} ({first / RATE:.3f} s, channel " in line and "beyond ±2^31" in line
    assert line.endswith("normalise the audio's peak to 1.0 and separate again") and "Traceback" not in err
    assert not (tmp_path / "out" / "loud").exists()
    assert (tmp_path / "out" / "good" / "vocals.wav").is_file()


def test_a_failed_song_leaves_no_folder_and_keeps_the_folders_that_were_there(tmp_path, fake_model, run, capsys):
    """An empty ``<song>/`` looked like a result; only folders the failed song's writers made are removed."""
    bad = tmp_path / "bad.wav"
    samples = noise()
    samples[0, RATE] = np.nan  # fails after its writers opened
    soundfile.write(bad, samples.T, RATE, subtype="FLOAT")
    assert separate(run, tmp_path / "new" / "out", bad, extra=("--filename", "{song}/deep/{stem}.{ext}")) == 1
    assert not (tmp_path / "new").exists()
    (tmp_path / "out" / "bad").mkdir(parents=True)
    (tmp_path / "out" / "bad" / "notes.txt").write_text("the user's")
    before = snapshot(tmp_path / "out")
    assert separate(run, tmp_path / "out", bad, extra=("--filename", "{song}/deep/{stem}.{ext}")) == 1
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*")) == ["bad", "bad/notes.txt"]
    assert_unchanged(before, snapshot(tmp_path / "out"))
    assert "bad.wav: sample 8000 " in capsys.readouterr().err


@pytest.mark.parametrize("link", [False, True])
def test_a_stem_that_would_overwrite_its_own_input_is_refused(tmp_path, fake_model, run, capsys, link):
    """``--song O/x/vocals.wav --output O --filename 'x/{stem}.{ext}'`` overwrote the song without a word."""
    song = tmp_path / "O" / "x" / "vocals.wav"
    song.parent.mkdir(parents=True)
    soundfile.write(song, noise().T, RATE, subtype="FLOAT")
    given = song
    if link:  # the same file under another name
        given = tmp_path / "x.wav"
        given.symlink_to(song)
    before = snapshot(tmp_path / "O")
    assert separate(run, tmp_path / "O", given, extra=("--filename", "x/{stem}.{ext}")) == 1
    (line,) = error_lines(capsys.readouterr().err)
    target = tmp_path / "O" / "x" / "vocals.wav"
    assert line == f"error: {given}: the vocals stem would be written over the song itself ({target}); choose another output folder or --filename"
    assert snapshot(tmp_path / "O") == before, "the input changed, or a stem was written beside it"


def test_audio_at_the_largest_peak_is_separated_into_finite_stems(tmp_path, fake_model, run):
    song = tmp_path / "song.wav"
    soundfile.write(song, scaled_to(2.0**31).T, RATE, subtype="FLOAT")
    assert separate(run, tmp_path / "out", song) == 0
    for stem in ("vocals", "instrumental"):
        data, _ = soundfile.read(tmp_path / "out" / "song" / f"{stem}.wav", dtype="float32")
        assert np.isfinite(data).all() and np.abs(data).max() > 2.0**29


def test_a_separation_that_overflows_fails_the_song_and_writes_no_stem(tmp_path, monkeypatch, run, capsys):
    """The output is checked too: a configuration of one's own can overflow below the input bound
    (here two targets combined by ratio masks with mask_exponent 8: |X|^8 is inf in float32)."""
    use_fake_model(monkeypatch, lambda x: {"vocals": np.full_like(x, 0.5), "instrumental": np.full_like(x, 0.5)}, targets=("vocals", "instrumental"), mask_exponent=8.0)
    song = tmp_path / "song.wav"
    soundfile.write(song, scaled_to(2.0**31).T, RATE, subtype="FLOAT")
    (tmp_path / "out").mkdir()
    assert separate(run, tmp_path / "out", song) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "song.wav: the separated vocals is NaN or infinite from sample 0 (0.000 s) on, where the audio peaks at 2.15e+09" in line
    assert line.endswith("the model cannot compute it; normalise the audio's peak to 1.0 and separate again")
    assert [p for p in (tmp_path / "out").rglob("*") if p.is_file()] == [], "a stem with NaN (or a partial one) was left"


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


def _no_samples(folder: Path) -> list[Path]:
    """A WAV of zero frames and a FLAC whose header declares no length and that holds no frame (ffmpeg's)."""
    folder.mkdir(parents=True, exist_ok=True)
    wav, flac = folder / "empty.wav", folder / "nothing.flac"
    soundfile.write(wav, np.zeros((0, 2), np.float32), RATE)
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"anullsrc=r={RATE}:cl=stereo", "-t", "0", str(flac)], check=True)
    return [wav, flac]


def test_a_song_with_no_samples_is_one_line_and_exit_1(tmp_path, fake_model, run, capsys):
    """Zero frames: the WAV gave two empty stems and exit 0; the FLAC "Internal psf_fseek() failed" (issue 29)."""
    for song in _no_samples(tmp_path / "songs"):
        assert separate(run, tmp_path / "out", song) == 1
        (line,) = error_lines(capsys.readouterr().err)
        assert line == f"error: {song}: audio file {song} holds no samples (0 s of audio): there is nothing to separate; re-export it, or leave it out"
        assert not (tmp_path / "out").exists()


def test_songs_with_no_samples_in_a_folder_fail_and_the_others_are_separated(tmp_path, fake_model, run, capsys):
    folder = tmp_path / "songs"
    empty = _no_samples(folder)
    soundfile.write(folder / "good.wav", noise().T, RATE)
    assert predict.main(["--run_folder", str(run), "--songs", str(folder), "--output", str(tmp_path / "out"), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert sorted(error_lines(captured.err)) == sorted(f"error: {s}: audio file {s} holds no samples (0 s of audio): there is nothing to separate; re-export it, or leave it out" for s in empty)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good"]
    assert (tmp_path / "out" / "good" / "vocals.wav").is_file()


def test_a_flac_written_to_a_pipe_is_separated(tmp_path, fake_model, run):
    """Its header declares no length: libsndfile failed at its end ("Internal psf_fseek() failed"); ffmpeg decodes it."""
    wav = tmp_path / "source.wav"
    soundfile.write(wav, noise(seconds=1.0).T, RATE, subtype="PCM_16")
    song = tmp_path / "piped.flac"
    with song.open("wb") as handle:
        subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(wav), "-f", "flac", "-"], stdout=handle, check=True)
    assert separate(run, tmp_path / "out", song) == 0
    vocals, rate = soundfile.read(tmp_path / "out" / "piped" / "vocals.wav")
    assert rate == RATE and vocals.shape == (RATE, 2)
