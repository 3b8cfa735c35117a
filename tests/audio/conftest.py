"""Helpers for the audio tests: files made with ffmpeg from synthesised tones."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from unmix import audio


def dominant_frequency(samples: np.ndarray, sample_rate: int) -> float:
    """Frequency (Hz) of the strongest FFT bin of channel 0 (Hann-windowed)."""
    channel = samples[0] * np.hanning(samples.shape[1])
    spectrum = np.abs(np.fft.rfft(channel))
    return float(np.argmax(spectrum) * sample_rate / samples.shape[1])


def run_ffmpeg(*arguments: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *arguments], check=True)


@pytest.fixture
def encode(tmp_path, tone):
    """encode(name, frequency_hz=, ...) -> Path: a tone encoded by ffmpeg into tmp_path/name."""

    def make(name: str, *, frequency_hz: float = 440.0, duration_s: float = 1.0, sample_rate: int = 44100,
             n_channels: int = 2, codec_args: tuple[str, ...] = ()) -> Path:
        source = tmp_path / f"source-{name}.wav"
        audio.save(source, tone(frequency_hz=frequency_hz, duration_s=duration_s, sample_rate=sample_rate,
                                n_channels=n_channels), sample_rate)
        target = tmp_path / name
        run_ffmpeg("-i", str(source), *codec_args, str(target))
        return target

    return make


@pytest.fixture(scope="module")
def stem_file(tmp_path_factory):
    """A 5-stream .stem.mp4 (AAC, 1 s, 44.1 kHz stereo) whose stream k is a tone at 300 + 200 k Hz."""
    directory = tmp_path_factory.mktemp("stems")
    t = np.arange(44100) / 44100
    inputs: list[str] = []
    for k in range(5):
        source = directory / f"stem{k}.wav"
        wave = 0.3 * np.sin(2 * np.pi * (300.0 + 200.0 * k) * t)
        audio.save(source, np.stack([wave, np.roll(wave, 7)]).astype(np.float32), 44100)
        inputs += ["-i", str(source)]
    maps = [argument for k in range(5) for argument in ("-map", str(k))]
    target = directory / "song.stem.mp4"
    run_ffmpeg(*inputs, *maps, "-c:a", "aac", "-b:a", "128k", str(target))
    return target

@pytest.fixture
def peak_hz():
    """The dominant_frequency helper, as a fixture (test modules cannot import conftest)."""
    return dominant_frequency
