"""The spectrogram picture of a finished job, drawn from a bounded excerpt.

A whole song's spectrogram would hold every STFT frame of three signals in memory (hundreds of
megabytes for an hour-long mix) and render to a picture no wider than the page anyway; the
middle ``EXCERPT_SECONDS`` of the song, read with offsets, keeps memory small at any length.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from unmix import audio
from unmix.evaluation.plots import spectrogram_plot

EXCERPT_SECONDS = 30.0


def excerpt_window(duration_s: float, *, seconds: float = EXCERPT_SECONDS) -> tuple[float, float]:
    """``(offset_s, duration_s)`` of the middle ``seconds`` of a song (all of it when shorter)."""
    length = min(seconds, max(duration_s, 0.0))
    return max(0.0, (duration_s - length) / 2), length


def draw_spectrogram(png: Path, mix: Path, stems: Mapping[str, Path], *, duration_s: float) -> Path:
    """Draw mix and stems of the same excerpt side by side into ``png``.

    Args:
        png: the picture to write.
        mix: the uploaded song.
        stems: ``{stem: file}`` as the separation wrote them (same rate as ``mix``).
        duration_s: the song's length in seconds.

    Returns:
        ``png``.

    Raises:
        AudioError: a file cannot be decoded.
    """
    offset_s, length_s = excerpt_window(duration_s)
    samples, rate = audio.load(mix, offset_s=offset_s, duration_s=length_s)
    signals = {"mix": samples}
    for stem, path in stems.items():
        signals[stem] = audio.load(path, offset_s=offset_s, duration_s=length_s)[0]
    return spectrogram_plot(png, signals, sample_rate=rate)
