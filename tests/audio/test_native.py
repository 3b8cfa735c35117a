"""Round trips through libsndfile: WAV (float, 16, 24 bit), FLAC, OGG, MP3; save's options and errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from unmix import audio
from unmix.audio.writer import bit_depth_subtypes
from unmix.errors import AudioError


@pytest.mark.parametrize(
    ("name", "subtype", "tolerance"),
    [
        ("a.wav", None, 0.0),
        ("a.wav", "PCM_16", 1.01 / 2**15),
        ("a.wav", "PCM_24", 1.01 / 2**23),
        ("a.flac", None, 1.01 / 2**23),
        ("a.flac", "PCM_16", 1.01 / 2**15),
    ],
)
def test_lossless_round_trip(tmp_path, tone, name, subtype, tolerance):
    samples = tone(frequency_hz=440.0, duration_s=0.5, sample_rate=22050)
    audio.save(tmp_path / name, samples, 22050, subtype=subtype)
    loaded, rate = audio.load(tmp_path / name)
    assert rate == 22050
    assert loaded.dtype == np.float32 and loaded.shape == samples.shape
    np.testing.assert_allclose(loaded, samples, rtol=0, atol=tolerance)


@pytest.mark.parametrize(("extension", "bit_depths"), [(".wav", [16, 24, 32]), (".flac", [16, 24]), (".mp3", [])])
def test_each_bit_depth_subtype_is_written(tmp_path, tone, extension, bit_depths):
    samples = tone(frequency_hz=440.0, duration_s=0.1, sample_rate=8000)
    subtypes = bit_depth_subtypes(extension)
    assert sorted(subtypes) == bit_depths
    for bit_depth, subtype in subtypes.items():
        audio.save(tmp_path / f"{bit_depth}{extension}", samples, 8000, subtype=subtype)
        assert soundfile.info(str(tmp_path / f"{bit_depth}{extension}")).subtype == subtype


def test_float_wav_keeps_values_beyond_full_scale_and_pcm_clips(tmp_path):
    loud = np.full((1, 100), 1.5, dtype=np.float32)
    audio.save(tmp_path / "float.wav", loud, 8000)
    audio.save(tmp_path / "pcm.wav", loud, 8000, subtype="PCM_16")
    assert audio.load(tmp_path / "float.wav")[0].max() == pytest.approx(1.5)
    assert audio.load(tmp_path / "pcm.wav")[0].max() == pytest.approx(1.0, abs=1e-4)


def test_default_subtypes(tmp_path, tone):
    samples = tone(frequency_hz=440.0, duration_s=0.1, sample_rate=8000)
    audio.save(tmp_path / "a.wav", samples, 8000)
    audio.save(tmp_path / "a.flac", samples, 8000)
    assert soundfile.info(str(tmp_path / "a.wav")).subtype == "FLOAT"
    assert soundfile.info(str(tmp_path / "a.flac")).subtype == "PCM_24"


@pytest.mark.parametrize(("name", "file_format", "subtype"), [("a.ogg", "OGG", "VORBIS"), ("a.aiff", "AIFF", "PCM_16"), ("a.AIF", "AIFF", "PCM_24")])
def test_ogg_and_aiff_are_read(tmp_path, tone, peak_hz, name, file_format, subtype):
    samples = tone(frequency_hz=1000.0, duration_s=1.0, sample_rate=44100)
    soundfile.write(str(tmp_path / name), samples.T, 44100, format=file_format, subtype=subtype)
    loaded, rate = audio.load(tmp_path / name)
    assert rate == 44100 and loaded.shape == samples.shape
    assert peak_hz(loaded, rate) == pytest.approx(1000.0, abs=3.0)
    assert audio.info(tmp_path / name).n_streams == 1


def test_mp3_round_trip(tmp_path, tone, peak_hz):
    samples = tone(frequency_hz=660.0, duration_s=1.0, sample_rate=44100)
    audio.save(tmp_path / "out" / "a.mp3", samples, 44100)
    loaded, rate = audio.load(tmp_path / "out" / "a.mp3")
    assert rate == 44100 and loaded.shape[0] == 2
    # MP3 adds encoder delay and padding of up to a few frames.
    assert abs(loaded.shape[1] - samples.shape[1]) < 3000
    assert peak_hz(loaded, rate) == pytest.approx(660.0, abs=3.0)
    assert np.sqrt(np.mean(loaded**2)) == pytest.approx(np.sqrt(np.mean(samples**2)), rel=0.05)


def test_save_creates_parent_directories(tmp_path, tone):
    target = tmp_path / "a" / "b" / "c.flac"
    audio.save(target, tone(frequency_hz=440.0, duration_s=0.1, sample_rate=8000), 8000)
    assert target.is_file()
    assert [p.name for p in target.parent.iterdir()] == ["c.flac"]  # no temporary file left


def test_info_of_wav(tmp_path, tone):
    audio.save(tmp_path / "a.wav", tone(frequency_hz=440.0, duration_s=0.5, sample_rate=16000, n_channels=1), 16000)
    assert audio.info(tmp_path / "a.wav") == audio.AudioInfo(16000, 1, 8000, 0.5, 1, declared_samples=8000)


def test_offset_and_duration(tmp_path):
    ramp = np.arange(8000, dtype=np.float32)[None, :] / 8000
    audio.save(tmp_path / "ramp.wav", ramp, 8000)
    part, _ = audio.load(tmp_path / "ramp.wav", offset_s=0.25, duration_s=0.5)
    np.testing.assert_array_equal(part, ramp[:, 2000:6000])
    tail, _ = audio.load(tmp_path / "ramp.wav", offset_s=0.75)
    np.testing.assert_array_equal(tail, ramp[:, 6000:])
    beyond, _ = audio.load(tmp_path / "ramp.wav", offset_s=5.0)
    assert beyond.shape == (1, 0)


@pytest.mark.parametrize(
    ("name", "subtype", "match"),
    [
        ("a.xyz", None, r"extension '\.xyz' is not supported"),
        ("a.ogg", None, r"extension '\.ogg' is not supported"),
        ("a.wav", "PCM_8", r"subtype='PCM_8'; expected one of FLOAT, PCM_16, PCM_24"),
        ("a.flac", "FLOAT", r"subtype='FLOAT'; expected one of PCM_16, PCM_24"),
        ("a.mp3", "PCM_16", r"MP3 takes no subtype"),
    ],
)
def test_save_rejects_bad_extension_and_subtype(tmp_path, name, subtype, match):
    with pytest.raises(AudioError, match=match):
        audio.save(tmp_path / name, np.zeros((2, 10), dtype=np.float32), 8000, subtype=subtype)
    assert list(tmp_path.iterdir()) == []


def test_save_rejects_bad_shape(tmp_path):
    with pytest.raises(AudioError, match=r"shape \(10,\); expected \(channels, samples\)"):
        audio.save(tmp_path / "a.wav", np.zeros(10, dtype=np.float32), 8000)


def test_stream_other_than_zero_is_an_error_for_soundfile_formats(tmp_path):
    audio.save(tmp_path / "a.wav", np.zeros((1, 10), dtype=np.float32), 8000)
    with pytest.raises(AudioError, match=r"single audio stream; received stream=1"):
        audio.load(tmp_path / "a.wav", stream=1)
    assert audio.load(tmp_path / "a.wav", stream=0)[0].shape == (1, 10)
