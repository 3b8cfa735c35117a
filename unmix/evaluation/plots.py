"""Score plots: a box plot of per-track SDR and the SDR history of a training run.

Figures are drawn on matplotlib's Agg canvas directly (`matplotlib.figure.Figure`), not
through pyplot: no display is needed, the global backend is left alone, and a figure
is freed as soon as it is saved, so plotting every few epochs never accumulates figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from unmix.atomic import atomic_path
from unmix.evaluation.track_scores import TrackScores

SOURCES = ("vocals", "instrumental")


def sdr_box_plot(path: str | Path, tracks: Sequence[tuple[str, TrackScores]], *, title: str = "") -> Path:
    """Box plot of the per-track median SDR of vocals and instrumental.

    Each box holds one point per track (the median over the track's windows), the
    distribution whose median is the published figure; the points are drawn on top.

    Args:
        path: the PNG file; its folder is created.
        tracks: `(track name, TrackScores)` pairs.
        title: the figure title.

    Returns:
        `path`.
    """
    values = {
        source: [m[source]["SDR"] for m in (scores.medians() for _, scores in tracks) if math.isfinite(m[source]["SDR"])]
        for source in SOURCES
    }
    figure, axis = _figure(width=5.5, height=4.5)
    positions = range(1, len(SOURCES) + 1)
    data = [values[s] if values[s] else [math.nan] for s in SOURCES]
    axis.boxplot(data, positions=list(positions), widths=0.5, showfliers=False)
    for position, source in zip(positions, SOURCES):
        axis.scatter([position] * len(values[source]), values[source], s=12, alpha=0.6, zorder=3)
    axis.set_xticks(list(positions), [f"{s}\n(n={len(values[s])})" for s in SOURCES])
    axis.set_ylabel("SDR per track (dB)")
    axis.grid(axis="y", alpha=0.3)
    if title:
        axis.set_title(title, fontsize=10)
    return _save(figure, path)


def sdr_history_plot(
    path: str | Path, epochs: Sequence[int], sdr: Mapping[str, Sequence[float]], *, title: str = ""
) -> Path:
    """SDR of each source over training epochs (one accuracy CSV row per point).

    Args:
        path: the PNG file; its folder is created.
        epochs: the epochs of the rows.
        sdr: `{source: SDR per row}`, each as long as `epochs`; NaN leaves a gap.
        title: the figure title.

    Returns:
        `path`.
    """
    figure, axis = _figure(width=7.0, height=4.0)
    for source, values in sdr.items():
        axis.plot(list(epochs), list(values), label=source, marker="o" if len(epochs) < 30 else None)
    axis.set_xlabel("epoch")
    axis.set_ylabel("median SDR over songs (dB)")
    axis.grid(alpha=0.3)
    axis.legend()
    if title:
        axis.set_title(title, fontsize=10)
    return _save(figure, path)


def spectrogram_plot(path: str | Path, signals: Mapping[str, "np.ndarray"], *, sample_rate: int, n_fft: int = 2048) -> Path:
    """Log-magnitude spectrograms (first channel) of several signals, side by side.

    Args:
        path: the PNG file; its folder is created.
        signals: ``{title: float (channels, samples)}``, e.g. mix, vocals, instrumental.
        sample_rate: rate of every signal, in Hz (for the frequency axis).
        n_fft: FFT size of the display (hop n_fft/4).

    Returns:
        `path`.
    """
    import numpy as np

    from unmix.dsp.stft import StftOptions, stft

    options = StftOptions(n_fft=n_fft, hop_length=n_fft // 4)
    figure, _ = _figure(width=4.0 * len(signals), height=3.6)
    figure.clear()
    axes = figure.subplots(1, len(signals), sharey=True, squeeze=False)[0]
    for axis, (title, samples) in zip(axes, signals.items()):
        magnitude = np.abs(stft(np.asarray(samples, dtype=np.float32)[:1], options=options))[0]
        seconds = samples.shape[-1] / sample_rate
        axis.imshow(20 * np.log10(magnitude + 1e-6), origin="lower", aspect="auto", cmap="magma", vmin=-60, vmax=30,
                    extent=(0.0, seconds, 0.0, sample_rate / 2000.0))
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("time (s)")
    axes[0].set_ylabel("frequency (kHz)")
    return _save(figure, path)


def _figure(*, width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _save(figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=100)
    figure.clear()
    return path
