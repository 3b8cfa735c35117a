"""``--format mp3`` says what MP3 forces, and its downmix never raises the peak (issue 29, minor 5).

MP3 holds at most two channels and 48 kHz. A 6-channel 96 kHz song became stereo at 48 kHz
without a word, and ffmpeg's default 5.1 downmix took a 0.94 peak to 1.8.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from unmix import audio
from unmix.cli import predict

PEAK = 0.94


def surround_song(path: Path, *, sample_rate: int, n_channels: int, seconds: float = 1.0) -> Path:
    """Tones in phase on every channel, each at ``PEAK``: the worst case for a downmix that adds channels."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    samples = np.stack([PEAK * np.sin(2 * np.pi * 440 * t) for _ in range(n_channels)]).astype(np.float32)
    soundfile.write(path, samples.T, sample_rate, subtype="FLOAT")
    return path


def _warnings(text: str) -> list[str]:
    assert "Traceback" not in text
    return [line for line in text.splitlines() if line.startswith("warning:")]


@pytest.mark.parametrize(
    ("sample_rate", "n_channels", "forced"),
    [
        (96000, 6, "the stems are stereo (a downmix of the song's 6 channels) at 48000 Hz (the song has 96000 Hz)"),
        (44100, 6, "the stems are stereo (a downmix of the song's 6 channels);"),
        (96000, 2, "the stems are at 48000 Hz (the song has 96000 Hz);"),
    ],
    ids=["6 channels at 96 kHz", "6 channels", "96 kHz"],
)
def test_mp3_says_in_one_line_what_it_forces_and_keeps_the_peak(sample_rate, n_channels, forced, tmp_path, fake_model, run, capsys) -> None:
    song = surround_song(tmp_path / "surround.wav", sample_rate=sample_rate, n_channels=n_channels)
    assert predict.main(["--run_folder", str(run), "--song", str(song), "--output", str(tmp_path / "out"), "--format", "mp3", "--quiet"]) == 0
    (line,) = _warnings(capsys.readouterr().err)
    assert line.startswith(f"warning: {song}: MP3 holds at most 2 channels at up to 48000 Hz: {forced}")
    assert line.endswith("choose wav or flac to keep the song's")
    expected_rate, expected_channels = min(sample_rate, 48000), min(n_channels, 2)
    for stem in ("vocals", "instrumental"):
        samples, rate = audio.load(tmp_path / "out" / "surround" / f"{stem}.mp3")
        assert (rate, samples.shape[0]) == (expected_rate, expected_channels)
        assert samples.shape[1] == pytest.approx(expected_rate, rel=0.05)  # the song's length, give or take the codec's padding
        assert np.abs(samples).max() <= PEAK  # half of the song each, never louder than it


def test_what_mp3_holds_and_wav_or_flac_say_nothing(tmp_path, fake_model, run, capsys) -> None:
    stereo = surround_song(tmp_path / "stereo.wav", sample_rate=44100, n_channels=2)
    surround = surround_song(tmp_path / "surround.wav", sample_rate=96000, n_channels=6)
    assert predict.main(["--run_folder", str(run), "--song", str(stereo), "--output", str(tmp_path / "mp3"), "--format", "mp3", "--quiet"]) == 0
    for file_format in ("wav", "flac"):
        assert predict.main(["--run_folder", str(run), "--song", str(surround), "--output", str(tmp_path / file_format), "--format", file_format, "--quiet"]) == 0
        info = audio.info(tmp_path / file_format / "surround" / f"vocals.{file_format}")
        assert (info.sample_rate, info.n_channels) == (96000, 6)
    assert _warnings(capsys.readouterr().err) == []
