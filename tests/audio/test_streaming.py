"""read_blocks equals load; open_writer writes block by block and never leaves partial files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from unmix import audio
from unmix.errors import AudioError


def _joined(blocks, block_samples):
    blocks = list(blocks)
    assert all(block.shape[1] == block_samples for block in blocks[:-1])
    assert 0 < blocks[-1].shape[1] <= block_samples
    assert all(block.dtype == np.float32 for block in blocks)
    return np.concatenate(blocks, axis=1)


@pytest.mark.parametrize(("sample_rate", "n_channels"), [(None, None), (16000, None), (22050, 1)])
def test_read_blocks_equals_load_for_wav(tmp_path, rng, sample_rate, n_channels):
    signal = (rng.standard_normal((2, 44100 + 123)) * 0.1).astype(np.float32)
    audio.save(tmp_path / "a.wav", signal, 44100)
    whole, _ = audio.load(tmp_path / "a.wav", sample_rate=sample_rate, n_channels=n_channels)
    streamed = _joined(
        audio.read_blocks(tmp_path / "a.wav", sample_rate=sample_rate, n_channels=n_channels, block_samples=5000), 5000
    )
    assert streamed.shape == whole.shape
    np.testing.assert_allclose(streamed, whole, atol=1e-4)


@pytest.mark.parametrize("sample_rate", [None, 16000])
def test_read_blocks_equals_load_for_an_ffmpeg_stream(stem_file, sample_rate):
    whole, _ = audio.load(stem_file, sample_rate=sample_rate, n_channels=2, stream=3)
    blocks = audio.read_blocks(stem_file, sample_rate=sample_rate, n_channels=2, block_samples=4096, stream=3)
    streamed = _joined(blocks, 4096)
    assert streamed.shape == whole.shape
    np.testing.assert_allclose(streamed, whole, atol=1e-4)


def test_read_blocks_can_stop_early(stem_file):
    blocks = audio.read_blocks(stem_file, sample_rate=None, n_channels=None, block_samples=1024, stream=0)
    first = next(blocks)
    blocks.close()  # stops ffmpeg; must not hang or raise
    assert first.shape == (2, 1024)


def test_read_blocks_errors_surface_at_call_time(tmp_path):
    with pytest.raises(AudioError, match=r"does not exist"):
        audio.read_blocks(tmp_path / "missing.wav", sample_rate=None, n_channels=None, block_samples=10)
    audio.save(tmp_path / "a.wav", np.zeros((1, 10), np.float32), 8000)
    with pytest.raises(AudioError, match=r"block_samples=0; expected a positive integer"):
        audio.read_blocks(tmp_path / "a.wav", sample_rate=None, n_channels=None, block_samples=0)
    audio.save(tmp_path / "three.wav", np.zeros((3, 10), np.float32), 8000)
    with pytest.raises(AudioError, match=r"three\.wav: cannot convert 3 channels to 4"):
        audio.read_blocks(tmp_path / "three.wav", sample_rate=None, n_channels=4, block_samples=10)


@pytest.mark.parametrize("finish", [False, True], ids=["closed", "finished-then-closed"])
@pytest.mark.parametrize(("name", "subtype"), [("a.wav", None), ("a.flac", "PCM_16"), ("a.mp3", None)])
def test_writer_in_blocks_equals_save(tmp_path, tone, name, subtype, finish):
    samples = tone(frequency_hz=440.0, duration_s=0.5, sample_rate=44100)
    with audio.open_writer(tmp_path / "blocks" / name, sample_rate=44100, n_channels=2, subtype=subtype) as writer:
        for start in range(0, samples.shape[1], 3000):
            writer.write(samples[:, start : start + 3000])
        if finish:  # as write_stream does on each stem's thread before the files close
            writer.finish()
    audio.save(tmp_path / "whole" / name, samples, 44100, subtype=subtype)
    blocked, _ = audio.load(tmp_path / "blocks" / name)
    whole, _ = audio.load(tmp_path / "whole" / name)
    assert blocked.shape == whole.shape
    np.testing.assert_allclose(blocked, whole, atol=1e-6 if name != "a.mp3" else 1e-2)


@pytest.mark.parametrize("name", ["a.wav", "a.flac", "a.mp3"])
def test_writer_removes_partial_output_on_error(tmp_path, name):
    target = tmp_path / name
    with pytest.raises(RuntimeError, match="boom"):
        with audio.open_writer(target, sample_rate=44100, n_channels=2) as writer:
            writer.write(np.zeros((2, 4410), np.float32))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_writer_error_keeps_an_existing_file(tmp_path):
    target = tmp_path / "a.wav"
    audio.save(target, np.ones((1, 10), np.float32) * 0.5, 8000)
    with pytest.raises(AudioError, match=r"shape \(2, 5\); expected \(1, samples\)"):
        with audio.open_writer(target, sample_rate=8000, n_channels=1) as writer:
            writer.write(np.zeros((2, 5), np.float32))
    assert [p.name for p in tmp_path.iterdir()] == ["a.wav"]
    np.testing.assert_array_equal(soundfile.read(str(target), dtype="float32")[0], np.full(10, 0.5, np.float32))


def test_writer_clips_integer_pcm_only(tmp_path):
    with audio.open_writer(tmp_path / "a.wav", sample_rate=8000, n_channels=1, subtype="PCM_24") as writer:
        writer.write(np.array([[2.0, -2.0, 0.5]], np.float32))
    np.testing.assert_allclose(audio.load(tmp_path / "a.wav")[0], [[1.0, -1.0, 0.5]], atol=1e-6)
