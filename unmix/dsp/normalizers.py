"""Normalizers of magnitude windows, chosen by name (`transformation.normalizer`).

Every normalizer derives its transform from the MIX window alone and applies
that same transform to the target, so input and target stay on one scale (the
seed's min-max normalizer computed its target from the already normalized
input). Masks used as targets are never normalized: the representations pass
``target=None`` for them. Arrays are magnitude windows (bins, frames, channels).

Registered names: ``norm_max``, ``norm_min_max``, ``zmuv`` (per-bin statistics
of the training songs, :class:`ZmuvStats`, stored in the run folder) and
``none``. Lookups follow ``unmix.registry`` (any case, ``-`` for ``_``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unmix.atomic import atomic_write_text
from unmix.errors import ConfigurationError, DataError
from unmix.registry import Registry, normalise

__all__ = [
    "Normalizer",
    "ZmuvStats",
    "available_normalizers",
    "get_normalizer",
    "register_normalizer",
]


@dataclass(frozen=True, eq=False)
class ZmuvStats:
    """Per-bin mean and standard deviation of mix magnitudes over the training songs.

    Computed once per run and stored in the run folder, so prediction
    normalizes with exactly the statistics the model was trained with.

    Attributes:
        mean: float64 (bins,).
        std: float64 (bins,), population standard deviation (ddof=0), >= 0.

    Raises:
        DataError: when the arrays are not 1-D of one length, not finite, or
            std is negative.
    """

    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self) -> None:
        mean = np.asarray(self.mean, dtype=np.float64)
        std = np.asarray(self.std, dtype=np.float64)
        if mean.ndim != 1 or mean.shape != std.shape or not mean.size:
            raise DataError(
                f"Received: zmuv mean of shape {mean.shape} and std of shape {std.shape}; "
                "expected two non-empty arrays of shape (bins,)"
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std >= 0)):
            raise DataError(
                "Received: zmuv statistics with NaN, infinite or negative std values; recompute them"
            )
        mean.flags.writeable = False
        std.flags.writeable = False
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    @classmethod
    def accumulate(cls, magnitudes: Iterable[np.ndarray]) -> ZmuvStats:
        """Per-bin statistics over many (bins, frames, channels) magnitude arrays.

        Streams: each array is reduced to per-bin count, mean and sum of
        squared deviations and merged (Chan et al.'s pairwise update, stable
        where sum-of-squares would cancel), so memory stays flat however many
        songs there are.

        Raises:
            DataError: when there is no frame at all or the bin counts differ.
        """
        count, mean, squares = 0, None, None
        for index, magnitude in enumerate(magnitudes):
            values = np.asarray(magnitude, dtype=np.float64)
            if values.ndim != 3:
                raise DataError(
                    f"Received: magnitude array {index} of shape {values.shape}; "
                    "expected (bins, frames, channels)"
                )
            values = values.reshape(values.shape[0], -1)  # (bins, frames * channels)
            n = values.shape[1]
            if mean is not None and values.shape[0] != mean.shape[0]:
                raise DataError(
                    f"Received: magnitude array {index} with {values.shape[0]} bins; expected {mean.shape[0]}"
                )
            if n == 0:
                continue
            batch_mean = values.mean(axis=1)
            batch_squares = ((values - batch_mean[:, np.newaxis]) ** 2).sum(axis=1)
            if mean is None:
                count, mean, squares = n, batch_mean, batch_squares
                continue
            delta = batch_mean - mean
            total = count + n
            mean = mean + delta * (n / total)
            squares = squares + batch_squares + delta**2 * (count * n / total)
            count = total
        if mean is None:
            raise DataError("Received: no magnitude frames; cannot compute zmuv statistics from zero songs")
        return cls(mean=mean, std=np.sqrt(squares / count))

    def to_json(self, path: str | Path) -> None:
        """Write ``{"mean": [...], "std": [...]}`` to ``path`` (full float64 precision), atomically."""
        payload = {"mean": self.mean.tolist(), "std": self.std.tolist()}
        atomic_write_text(path, json.dumps(payload))

    @classmethod
    def from_json(cls, path: str | Path) -> ZmuvStats:
        """Read statistics written by :meth:`to_json`.

        Raises:
            DataError: when the file is missing, not JSON, or lacks mean/std.
        """
        try:
            payload = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(mean=np.asarray(payload["mean"]), std=np.asarray(payload["std"]))
        except FileNotFoundError:
            raise DataError(
                f"{path}: zmuv statistics file not found; train again or copy it into the run folder"
            ) from None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise DataError(
                f"{path}: unreadable zmuv statistics ({error}); expected JSON with 'mean' and 'std' lists"
            ) from None


# transform(mix_window, stats) -> (scale, offset): normalized = (x - offset) / scale.
Transform = Callable[[np.ndarray, "ZmuvStats | None"], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Normalizer:
    """A named normalization; call :meth:`normalize`, never the transform directly.

    Attributes:
        name: the registered name.
        transform: maps (mix window, stats) to (scale, offset) broadcastable to
            the window; normalized = (x - offset) / scale.
        needs_stats: True when :meth:`normalize` requires ``stats`` (zmuv).
    """

    name: str
    transform: Transform
    needs_stats: bool = False

    def _scale_offset(self, mix_window: np.ndarray, stats: ZmuvStats | None, reference: np.ndarray | None = None):
        if self.needs_stats and stats is None:
            raise ConfigurationError(
                f"Normalizer {self.name!r} needs per-bin statistics; received stats=None "
                "(compute them with ZmuvStats.accumulate over the training songs)"
            )
        if stats is not None and self.needs_stats and stats.mean.shape[0] != mix_window.shape[0]:
            raise ConfigurationError(
                f"Received: zmuv statistics for {stats.mean.shape[0]} bins; expected "
                f"{mix_window.shape[0]} (recompute them after changing fft_window)"
            )
        return self.transform(mix_window if reference is None else np.asarray(reference, dtype=np.float32), stats)

    def normalize(
        self, mix_window: np.ndarray, target: np.ndarray | None = None, *, stats: ZmuvStats | None = None,
        reference: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Normalize a mix window and, with the mix's transform, its target.

        Args:
            mix_window: mix magnitudes (bins, frames, channels).
            target: target magnitudes of the same shape, or None (masks).
            stats: per-bin statistics; required by ``zmuv`` only.
            reference: magnitudes whose extremes set ``norm_max``'s and ``norm_min_max``'s
                factors instead of the window's: a song's ``(min, max)`` for
                ``transformation.options.normalizer_scope`` "song" (Park et al. 2018 divide by
                the clip's maximum). None: the window's own.

        Returns:
            (normalized mix, normalized target or None), float32.

        Raises:
            ConfigurationError: when ``zmuv`` gets no or mismatched stats.
        """
        mix_window = np.asarray(mix_window, dtype=np.float32)
        scale, offset = self._scale_offset(mix_window, stats, reference)
        mix_n = ((mix_window - offset) / scale).astype(np.float32)
        if target is None:
            return mix_n, None
        return mix_n, ((np.asarray(target, dtype=np.float32) - offset) / scale).astype(np.float32)

    def denormalize(
        self, prediction: np.ndarray, mix_window: np.ndarray, *, stats: ZmuvStats | None = None,
        reference: np.ndarray | None = None,
    ) -> np.ndarray:
        """Undo on a predicted target the transform :meth:`normalize` gave it.

        Needed by models that predict magnitudes (the `window` representation);
        predicted masks need no denormalization.

        Args:
            prediction: normalized prediction (bins, frames, channels).
            mix_window: the unnormalized mix window it was predicted from.
            stats: per-bin statistics; required by ``zmuv`` only.
            reference: as for :meth:`normalize`.

        Returns:
            float32 prediction on the scale of the original magnitudes.
        """
        scale, offset = self._scale_offset(np.asarray(mix_window, dtype=np.float32), stats, reference)
        return (np.asarray(prediction, dtype=np.float32) * scale + offset).astype(np.float32)


# The one registry of normalizers (``unmix.registry``: one lookup rule for every name).
NORMALIZERS: Registry[Normalizer] = Registry("normalizer", key="transformation.options.normalizer")


def register_normalizer(
    name: str, *, needs_stats: bool = False, aliases: tuple[str, ...] = ()
) -> Callable[[Transform], Transform]:
    """Decorator: register a (scale, offset) transform under ``name`` (any case, ``-`` for ``_``).

    Raises:
        ValueError: the name or an alias is already registered (a programming error).
    """

    def decorator(transform: Transform) -> Transform:
        NORMALIZERS.add(name, Normalizer(name=normalise(name), transform=transform, needs_stats=needs_stats), aliases=aliases)
        return transform

    return decorator


def available_normalizers() -> list[str]:
    """Registered normalizer names, sorted."""
    return NORMALIZERS.names()


def get_normalizer(name: str) -> Normalizer:
    """Look up a normalizer by name (any case, ``-`` for ``_``).

    The seed's spellings are accepted too: ``normalizer_zmuv`` and ``""`` (none).

    Raises:
        ConfigurationError: for an unknown name, listing the known names.
    """
    return NORMALIZERS.get(name)


def _identity(mix_window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.float32(1.0), np.float32(0.0)


@register_normalizer("none", aliases=("",))
def _none(mix_window: np.ndarray, stats: ZmuvStats | None) -> tuple[np.ndarray, np.ndarray]:
    return _identity(mix_window)


@register_normalizer("norm_max")
def _norm_max(mix_window: np.ndarray, stats: ZmuvStats | None) -> tuple[np.ndarray, np.ndarray]:
    """Divide by the window's mix maximum (over bins, frames and channels)."""
    peak = np.max(mix_window) if mix_window.size else 0.0
    if peak <= 0:  # a silent window stays as it is
        return _identity(mix_window)
    return np.float32(peak), np.float32(0.0)


@register_normalizer("norm_min_max")
def _norm_min_max(mix_window: np.ndarray, stats: ZmuvStats | None) -> tuple[np.ndarray, np.ndarray]:
    """(x - min) / (max - min) with the mix window's min and max."""
    if not mix_window.size:
        return _identity(mix_window)
    low, high = np.min(mix_window), np.max(mix_window)
    # A constant window is only shifted: dividing by 0 would give NaN.
    return np.float32(high - low if high > low else 1.0), np.float32(low)


@register_normalizer("zmuv", needs_stats=True, aliases=("normalizer_zmuv",))
def _zmuv(mix_window: np.ndarray, stats: ZmuvStats | None) -> tuple[np.ndarray, np.ndarray]:
    """Zero mean, unit variance per frequency bin, with training-set statistics."""
    # Constant bins (std 0, e.g. above a low-passed source) are only centred.
    std = np.where(stats.std > 0, stats.std, 1.0).astype(np.float32)
    return std[:, np.newaxis, np.newaxis], stats.mean.astype(np.float32)[:, np.newaxis, np.newaxis]
