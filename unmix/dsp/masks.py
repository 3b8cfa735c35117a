"""Masks between vocals and instrumental, and applying them to the mix.

A mask multiplies the mixture's complex spectrum, so the result keeps the
mixture's phase; the model only has to estimate magnitudes. Any shape works as
long as the operands broadcast (dsp uses (channels, bins, frames), the
representations (bins, frames, channels)).
"""

from __future__ import annotations

import numpy as np

__all__ = ["apply_mask", "binary_mask", "ratio_mask", "with_mix_phase"]


def ratio_mask(
    vocals_mag: np.ndarray, instrumental_mag: np.ndarray, *, power: float = 1.0, eps: float = 1e-8
) -> np.ndarray:
    """Ideal ratio mask ``|V|^p / (|V|^p + |I|^p + eps)``.

    Args:
        vocals_mag: vocal magnitudes (non-negative; absolute values are taken).
        instrumental_mag: instrumental magnitudes, same shape.
        power: exponent p; 1 is the seed's magnitude ratio, 2 a Wiener-like
            power ratio.
        eps: keeps silent bins at 0 instead of 0/0.

    Returns:
        float32 mask in [0, 1]; 0 where both are silent.
    """
    vocals = np.abs(np.asarray(vocals_mag, dtype=np.float64)) ** power
    instrumental = np.abs(np.asarray(instrumental_mag, dtype=np.float64)) ** power
    return np.clip(vocals / (vocals + instrumental + eps), 0.0, 1.0).astype(np.float32)


def binary_mask(vocals_mag: np.ndarray, instrumental_mag: np.ndarray) -> np.ndarray:
    """Ideal binary mask: 1 where ``|V| >= |I|``, else 0 (float32)."""
    return (np.abs(vocals_mag) >= np.abs(instrumental_mag)).astype(np.float32)


def apply_mask(mask: np.ndarray, mix_spec: np.ndarray) -> np.ndarray:
    """Mask the mixture spectrum, keeping its phase.

    Mask values are clipped to [0, 1]: a negative value would flip the phase
    and a value above 1 would exceed the mixture (models trained on masks may
    overshoot slightly).

    Args:
        mask: real mask broadcastable to ``mix_spec``.
        mix_spec: complex mixture spectrum.

    Returns:
        complex64 ``mask * mix_spec``; a silent mixture gives exact zeros.
    """
    mask = np.clip(np.asarray(mask, dtype=np.float32), 0.0, 1.0)
    return (mask * np.asarray(mix_spec)).astype(np.complex64)


def with_mix_phase(magnitude: np.ndarray, mix_spec: np.ndarray) -> np.ndarray:
    """Attach the mixture's phase to an estimated magnitude.

    For models that predict magnitudes rather than masks (the `window`
    representation). Negative magnitudes are clipped to 0; where the mixture is
    silent its phase is taken as 0.

    Args:
        magnitude: real estimated magnitude broadcastable to ``mix_spec``.
        mix_spec: complex mixture spectrum.

    Returns:
        complex64 ``max(magnitude, 0) * exp(i * angle(mix_spec))``.
    """
    mix_spec = np.asarray(mix_spec)
    magnitude = np.maximum(np.asarray(magnitude, dtype=np.float32), 0.0)
    mix_mag = np.abs(mix_spec)
    phase = np.ones(mix_spec.shape, dtype=np.complex64)
    np.divide(mix_spec, mix_mag, out=phase, where=mix_mag > 0)
    return (magnitude * phase).astype(np.complex64)
