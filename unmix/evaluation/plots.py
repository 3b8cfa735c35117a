"""Score plots: a box plot of per-track SDR and the SDR history of a training run.

Figures are drawn on matplotlib's Agg canvas directly (`matplotlib.figure.Figure`), not
through pyplot: no display is needed, the global backend is left alone, and a figure
is freed as soon as it is saved, so plotting every few epochs never accumulates figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from unmix.evaluation.metrics import TrackScores

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
    temporary = path.with_name(f".{path.name}.partial.png")
    figure.savefig(temporary, dpi=100)
    temporary.replace(path)
    figure.clear()
    return path
