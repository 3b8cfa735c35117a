"""Every way a file can be unusable raises AudioError naming the file."""

from __future__ import annotations

import numpy as np
import pytest

from unmix import audio
from unmix.errors import AudioError


@pytest.mark.parametrize("call", [audio.load, audio.info])
def test_missing_file(tmp_path, call):
    with pytest.raises(AudioError, match=r"audio file .*nothing\.wav does not exist"):
        call(tmp_path / "nothing.wav")


@pytest.mark.parametrize("name", ["empty.wav", "empty.m4a", "empty.stem.mp4"])
def test_empty_file(tmp_path, name):
    (tmp_path / name).touch()
    with pytest.raises(AudioError, match=rf"{name.replace('.', '[.]')} is empty \(0 bytes\)"):
        audio.load(tmp_path / name)


def test_directory_is_not_a_file(tmp_path):
    (tmp_path / "folder.wav").mkdir()
    with pytest.raises(AudioError, match=r"folder\.wav is not a regular file"):
        audio.load(tmp_path / "folder.wav")


@pytest.mark.parametrize("name", ["corrupt.wav", "corrupt.flac", "corrupt.mp3", "corrupt.ogg"])
def test_corrupt_soundfile_formats(tmp_path, rng, name):
    (tmp_path / name).write_bytes(rng.integers(0, 256, size=2048, dtype=np.uint8).tobytes())
    with pytest.raises(AudioError, match=rf"could not read .*{name.replace('.', '[.]')}"):
        audio.load(tmp_path / name)


def test_truncated_flac(tmp_path, tone):
    audio.save(tmp_path / "a.flac", tone(frequency_hz=440.0, duration_s=1.0, sample_rate=44100), 44100)
    data = (tmp_path / "a.flac").read_bytes()
    (tmp_path / "a.flac").write_bytes(data[:40])
    with pytest.raises(AudioError, match=r"a\.flac"):
        audio.load(tmp_path / "a.flac")


def test_unsupported_extension(tmp_path):
    (tmp_path / "notes.txt").write_text("not audio")
    with pytest.raises(AudioError, match=r"unsupported extension '\.txt'; expected one of"):
        audio.load(tmp_path / "notes.txt")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"sample_rate": 0}, r"sample_rate=0; expected a positive integer"),
        ({"sample_rate": 44100.0}, r"sample_rate=44100.0; expected a positive integer"),
        ({"n_channels": -1}, r"n_channels=-1; expected a positive integer"),
        ({"offset_s": -1.0}, r"offset_s=-1.0, duration_s=None; expected values >= 0"),
    ],
)
def test_bad_options(tmp_path, options, match):
    audio.save(tmp_path / "a.wav", np.zeros((1, 10), np.float32), 8000)
    with pytest.raises(AudioError, match=match):
        audio.load(tmp_path / "a.wav", **options)


def test_supported_extensions_and_is_audio_file():
    assert {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac", ".mp4", ".webm", ".opus", ".aiff", ".aif"} == set(
        audio.SUPPORTED_EXTENSIONS
    )
    assert audio.is_audio_file("x/Song.STEM.MP4")
    assert audio.is_audio_file("a.Flac")
    assert not audio.is_audio_file("a.txt")
    assert not audio.is_audio_file("README")
