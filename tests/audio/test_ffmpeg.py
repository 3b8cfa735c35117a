"""Formats decoded by the ffmpeg binary: m4a, opus/webm, and each stream of a .stem.mp4."""

from __future__ import annotations

import numpy as np
import pytest

from unmix import audio
from unmix.audio import ffmpeg
from unmix.errors import AudioError


def test_m4a_round_trip(encode, peak_hz):
    path = encode("a.m4a", frequency_hz=880.0, codec_args=("-c:a", "aac", "-b:a", "192k"))
    samples, rate = audio.load(path)
    assert rate == 44100 and samples.dtype == np.float32 and samples.shape[0] == 2
    # AAC priming and padding are kept as ffmpeg decodes them: the length is close, not equal.
    assert abs(samples.shape[1] - 44100) < 3000
    assert peak_hz(samples, rate) == pytest.approx(880.0, abs=3.0)
    details = audio.info(path)
    assert (details.sample_rate, details.n_channels, details.n_streams) == (44100, 2, 1)
    assert details.duration_s == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize(
    ("name", "codec"), [("a.webm", "libopus"), ("a.opus", "libopus"), ("a.aac", "aac"), ("a.mp4", "aac")]
)
def test_other_ffmpeg_formats_with_resampling_and_mono(encode, peak_hz, name, codec):
    path = encode(name, frequency_hz=500.0, codec_args=("-c:a", codec, "-b:a", "96k"))
    samples, rate = audio.load(path, sample_rate=16000, n_channels=1)
    assert rate == 16000 and samples.shape[0] == 1
    assert abs(samples.shape[1] - 16000) < 800
    assert peak_hz(samples, rate) == pytest.approx(500.0, abs=3.0)


def test_each_stream_of_a_stem_file(stem_file, peak_hz):
    details = audio.info(stem_file)
    assert details.n_streams == 5 and details.sample_rate == 44100 and details.n_channels == 2
    for k in range(5):
        samples, rate = audio.load(stem_file, stream=k)
        assert samples.shape[0] == 2
        assert peak_hz(samples, rate) == pytest.approx(300.0 + 200.0 * k, abs=3.0)


def test_stream_out_of_range(stem_file):
    with pytest.raises(AudioError, match=r"has 5 audio stream\(s\); received stream=5, expected 0..4"):
        audio.load(stem_file, stream=5)


def test_offset_and_duration_are_sample_exact(stem_file):
    whole, rate = audio.load(stem_file, stream=2)
    part, _ = audio.load(stem_file, stream=2, offset_s=0.25, duration_s=0.5)
    start = round(0.25 * rate)
    assert part.shape == (2, round(0.5 * rate))
    np.testing.assert_allclose(part, whole[:, start : start + part.shape[1]], atol=1e-6)


def test_missing_ffmpeg_is_one_line_with_the_fix(monkeypatch, stem_file, tmp_path):
    monkeypatch.setattr(ffmpeg, "FFPROBE", "ffprobe-that-does-not-exist")
    with pytest.raises(AudioError, match=r"^ffmpeg is not installed or not on PATH: install it \(Debian/Ubuntu"):
        audio.load(stem_file)
    monkeypatch.setattr(ffmpeg, "FFPROBE", "ffprobe")
    monkeypatch.setattr(ffmpeg, "FFMPEG", "ffmpeg-that-does-not-exist")
    with pytest.raises(AudioError, match=r"sudo apt-get install -y ffmpeg; macOS: brew install ffmpeg\) and retry$"):
        audio.load(stem_file)
    with pytest.raises(AudioError, match=r"^ffmpeg is not installed"):
        audio.save(tmp_path / "a.mp3", np.zeros((2, 100), np.float32), 44100)
    assert list(tmp_path.glob("*.mp3")) == [] and list(tmp_path.glob(".*partial")) == []


def test_corrupt_ffmpeg_file_names_the_file(tmp_path, rng):
    path = tmp_path / "broken.m4a"
    path.write_bytes(rng.integers(0, 256, size=4096, dtype=np.uint8).tobytes())
    with pytest.raises(AudioError, match=r"could not read .*broken\.m4a"):
        audio.load(path)
    with pytest.raises(AudioError, match=r"could not read .*broken\.m4a"):
        audio.info(path)


def test_truncated_ffmpeg_file_is_an_error(encode):
    path = encode("a.m4a", codec_args=("-c:a", "aac"))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(AudioError, match=r"a\.m4a"):
        audio.load(path)


def test_mp3_above_48_khz_is_resampled_by_ffmpeg(tmp_path):
    audio.save(tmp_path / "a.mp3", np.zeros((2, 9600), np.float32), 96000)
    assert audio.info(tmp_path / "a.mp3").sample_rate == 48000


def test_failing_encoder_leaves_nothing_behind(monkeypatch, tmp_path, rng):
    monkeypatch.setattr(ffmpeg, "FFMPEG", "false")  # a program that exits 1 at once
    loud = rng.standard_normal((2, 200_000)).astype(np.float32)
    with pytest.raises(AudioError, match=r"could not write .*a\.mp3 with ffmpeg"):
        audio.save(tmp_path / "a.mp3", loud, 44100)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.shared_data
def test_musdb_vocals_stream(shared_data):
    path = shared_data / "musdb18-7" / "train" / "Music Delta - 80s Rock.stem.mp4"
    details = audio.info(path)
    assert details.n_streams == 5  # the PNG cover stream is not counted
    assert (details.sample_rate, details.n_channels) == (44100, 2)
    vocals, rate = audio.load(path, stream=4)
    assert rate == 44100 and vocals.shape == (2, 300032) and vocals.dtype == np.float32
    assert 0.0 < np.abs(vocals).max() <= 1.5
