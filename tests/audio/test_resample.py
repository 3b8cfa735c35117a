"""Resampling and channel changes, whole and streaming."""

from __future__ import annotations

import numpy as np
import pytest

from unmix import audio
from unmix.audio.resample import change_channels, reblock, resample, resample_blocks
from unmix.errors import AudioError


def test_resample_down_and_up_keeps_the_frequency(tone, peak_hz):
    samples = tone(frequency_hz=1000.0, duration_s=1.0, sample_rate=44100)
    down = resample(samples, from_rate=44100, to_rate=16000)
    assert down.dtype == np.float32 and down.shape == (2, 16000)
    assert peak_hz(down, 16000) == pytest.approx(1000.0, abs=2.0)
    up = resample(down, from_rate=16000, to_rate=44100)
    assert up.shape == (2, 44100)
    assert peak_hz(up, 44100) == pytest.approx(1000.0, abs=2.0)
    # Away from the edges the round trip reproduces the tone closely.
    np.testing.assert_allclose(up[:, 1000:-1000], samples[:, 1000:-1000], atol=2e-3)


def test_load_resamples_only_when_asked(tmp_path, tone):
    samples = tone(frequency_hz=440.0, duration_s=0.5, sample_rate=44100)
    audio.save(tmp_path / "a.wav", samples, 44100)
    same, rate = audio.load(tmp_path / "a.wav", sample_rate=44100)
    np.testing.assert_array_equal(same, samples)
    other, rate = audio.load(tmp_path / "a.wav", sample_rate=16000)
    assert rate == 16000 and other.shape == (2, 8000)


def test_mono_to_stereo_duplicates(tone):
    mono = tone(frequency_hz=440.0, duration_s=0.1, sample_rate=8000, n_channels=1)
    stereo = change_channels(mono, n_channels=2)
    assert stereo.shape == (2, 800)
    np.testing.assert_array_equal(stereo[0], mono[0])
    np.testing.assert_array_equal(stereo[1], mono[0])


def test_six_channels_to_two_and_one():
    # FL FR FC LFE BL BR with distinct constants.
    surround = np.array([[0.6], [0.2], [0.4], [1.0], [0.1], [0.3]], dtype=np.float32) * np.ones((1, 4), np.float32)
    gain = np.sqrt(0.5)
    stereo = change_channels(surround, n_channels=2)
    expected_left = (0.6 + gain * 0.4 + gain * 0.1) / (1 + 2 * gain)
    expected_right = (0.2 + gain * 0.4 + gain * 0.3) / (1 + 2 * gain)
    np.testing.assert_allclose(stereo[:, 0], [expected_left, expected_right], rtol=1e-6)
    mono = change_channels(surround, n_channels=1)
    np.testing.assert_allclose(mono, np.full((1, 4), surround[:, 0].mean()), rtol=1e-6)


def test_other_counts_to_two_average_even_and_odd_channels():
    four = np.array([[1.0], [2.0], [3.0], [4.0]], dtype=np.float32)
    np.testing.assert_allclose(change_channels(four, n_channels=2)[:, 0], [2.0, 3.0])


def test_uncovered_channel_conversion_is_an_error():
    with pytest.raises(AudioError, match=r"cannot convert 3 channels to 4"):
        change_channels(np.zeros((3, 5), np.float32), n_channels=4, source="x.wav")


def test_load_changes_channels_of_a_six_channel_file(tmp_path, rng):
    surround = rng.uniform(-0.5, 0.5, size=(6, 1000)).astype(np.float32)
    audio.save(tmp_path / "surround.wav", surround, 8000)
    assert audio.info(tmp_path / "surround.wav").n_channels == 6
    stereo, _ = audio.load(tmp_path / "surround.wav", n_channels=2)
    np.testing.assert_allclose(stereo, change_channels(surround, n_channels=2), atol=1e-7)
    mono, _ = audio.load(tmp_path / "surround.wav", n_channels=1)
    np.testing.assert_allclose(mono, surround.mean(axis=0, keepdims=True), atol=1e-6)


def test_streaming_resampler_equals_whole_resample(rng):
    signal = rng.standard_normal((2, 30001)).astype(np.float32) * 0.1
    whole = resample(signal, from_rate=44100, to_rate=16000)
    blocks = (signal[:, i : i + 4096] for i in range(0, signal.shape[1], 4096))
    streamed = np.concatenate(list(resample_blocks(blocks, from_rate=44100, to_rate=16000, n_channels=2)), axis=1)
    assert streamed.shape == whole.shape
    np.testing.assert_allclose(streamed, whole, atol=1e-4)


def test_reblock_gives_exact_blocks_and_a_short_last_one(rng):
    signal = rng.standard_normal((2, 1000)).astype(np.float32)
    pieces = [signal[:, :7], signal[:, 7:7], signal[:, 7:400], signal[:, 400:]]
    out = list(reblock(pieces, block_samples=300, n_channels=2))
    assert [block.shape[1] for block in out] == [300, 300, 300, 100]
    np.testing.assert_array_equal(np.concatenate(out, axis=1), signal)
