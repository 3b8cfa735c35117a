"""Fixtures that write tiny collections in every layout (0.2 s tones)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

SAMPLE_RATE = 8000
DURATION_S = 0.2


def tone_array(frequency_hz: float, *, n_channels: int = 2, duration_s: float = DURATION_S,
               sample_rate: int = SAMPLE_RATE, amplitude: float = 0.2) -> np.ndarray:
    t = np.arange(int(round(duration_s * sample_rate))) / sample_rate
    rows = [amplitude * np.sin(2 * np.pi * frequency_hz * t + 0.7 * k) for k in range(n_channels)]
    return np.asarray(rows, dtype=np.float32)


def write(path: Path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write float32 (channels, samples) with soundfile (format from the extension)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, samples.T, sample_rate, subtype="FLOAT" if path.suffix == ".wav" else None)
    return path


def write_stems_mp4(path: Path, stems: list[np.ndarray], sample_rate: int = 44100) -> Path:
    """A STEMS-like mp4: five AAC streams (mix, drums, bass, other, vocals) mapped from five wavs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sources = [write(path.parent / f".stream{k}.wav", stem, sample_rate) for k, stem in enumerate(stems)]
    command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y"]
    for source in sources:
        command += ["-i", str(source)]
    for k in range(len(sources)):
        command += ["-map", f"{k}:a"]
    command += ["-c:a", "aac", "-b:a", "96k", "-f", "mp4", str(path)]
    subprocess.run(command, check=True)
    for source in sources:
        source.unlink()
    return path


class AudioKit:
    """The helpers above, handed to tests as the ``kit`` fixture (conftest modules are not importable)."""

    sample_rate = SAMPLE_RATE
    tone = staticmethod(tone_array)
    write = staticmethod(write)
    stems_mp4 = staticmethod(write_stems_mp4)


@pytest.fixture
def kit() -> AudioKit:
    return AudioKit()


@pytest.fixture
def stems_tones() -> list[np.ndarray]:
    """Five 44.1 kHz stereo stems: mix, drums (220 Hz), bass (110), other (440), vocals (880)."""
    parts = [tone_array(f, sample_rate=44100) for f in (220.0, 110.0, 440.0, 880.0)]
    return [sum(parts), *parts]


@pytest.fixture
def mixed_collection(tmp_path: Path, stems_tones) -> Path:
    """A collection mixing every layout, plus two incomplete songs and a stray mixture."""
    root = tmp_path / "collection"
    write(root / "seed" / "Song A" / "vocals_Song A.wav", tone_array(440))
    write(root / "seed" / "Song A" / "instrumental_Song A.flac", tone_array(220))
    write(root / "dsd" / "Song B" / "vocals.wav", tone_array(440))
    for i, name in enumerate(("drums", "bass", "other", "mixture")):
        write(root / "dsd" / "Song B" / f"{name}.wav", tone_array(100 + 50 * i))
    write(root / "hq" / "Song C" / "vocals.flac", tone_array(440))
    write(root / "hq" / "Song C" / "accompaniment.flac", tone_array(330))
    write(root / "hq" / "Song C" / "drums.flac", tone_array(110))
    write_stems_mp4(root / "musdb" / "Artist - Title.stem.mp4", stems_tones)
    write(root / "mir" / "clip_1.flac", np.stack([tone_array(220, n_channels=1)[0], tone_array(660, n_channels=1)[0]]))
    # Incomplete: vocals only (unmix layout) and instrumental stems only (track folder).
    write(root / "broken" / "Lonely" / "vocals_Lonely.wav", tone_array(440))
    write(root / "broken" / "NoVoice" / "drums.wav", tone_array(100))
    # Not songs at all: a mixture alone, a text file, a hidden file.
    write(root / "misc" / "mixture.wav", tone_array(100))
    (root / "misc" / "notes.txt").write_text("not audio")
    write(root / "seed" / "Song A" / ".vocals_hidden.wav", tone_array(440))
    return root
