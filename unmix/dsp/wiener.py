"""Multichannel Wiener filter, the post-filter Open-Unmix and Spleeter call niter / --mwf.

Each source j is modelled, per frequency bin f and frame t, as a zero-mean
complex Gaussian with covariance ``v_j(f, t) * R_j(f)``: a power spectral
density ``v_j`` times a spatial covariance matrix ``R_j`` (channels x
channels) that holds the source's stereo image. Given those, the minimum
mean-square estimate of the source is
``y_j = v_j R_j (sum_k v_k R_k)^-1 x``. Expectation-maximisation alternates
between re-estimating ``v_j`` and ``R_j`` from the current ``y_j`` and
re-filtering the mixture ``x`` (Duong, Vincent and Gribonval 2010; Nugraha,
Liutkus and Vincent 2016; the algorithm of the norbert package). This is an
independent implementation of that algorithm.

All spectrograms are (channels, bins, frames).
"""

from __future__ import annotations

import numpy as np

__all__ = ["wiener"]

# Matrix elements (bins x frames x channels^2) per batch: bounds the complex128
# temporaries to tens of MB independently of the song's length.
_ELEMENTS_PER_BATCH = 1 << 20


def wiener(
    vocals_mag: np.ndarray,
    instrumental_mag: np.ndarray,
    mix_spec: np.ndarray,
    *,
    iterations: int = 1,
    eps: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray]:
    """Refine magnitude estimates of vocals and instrumental into complex spectra.

    With ``iterations=0`` this is the classic soft mask
    ``|V|^2 / (|V|^2 + |I|^2)`` applied to the mixture (its phase kept), and
    instrumental = mix - vocals, so the two sum to the mixture exactly. Each
    further iteration is one EM refinement of the spatial covariance, starting
    from those soft-mask estimates; the outputs then sum to the mixture up to
    the small regularisation of the matrix inverse.

    Args:
        vocals_mag: estimated vocal magnitudes (channels, bins, frames).
        instrumental_mag: estimated instrumental magnitudes, same shape.
        mix_spec: complex mixture spectrogram, same shape.
        iterations: EM iterations, >= 0 (Open-Unmix's default is 1).
        eps: regularisation of divisions and of the covariance inverse.

    Returns:
        (vocals_spec, instrumental_spec), complex64 (channels, bins, frames);
        a silent mixture gives exact zeros.

    Raises:
        ValueError: when shapes differ or ``iterations`` is negative.
    """
    mix_spec = np.asarray(mix_spec)
    vocals_mag, instrumental_mag = np.abs(vocals_mag), np.abs(instrumental_mag)
    if mix_spec.ndim != 3 or vocals_mag.shape != mix_spec.shape or instrumental_mag.shape != mix_spec.shape:
        raise ValueError(
            f"Received: vocals {vocals_mag.shape}, instrumental {instrumental_mag.shape}, mix "
            f"{mix_spec.shape}; expected three arrays of one shape (channels, bins, frames)"
        )
    if iterations < 0:
        raise ValueError(f"Received: iterations={iterations}; expected an integer ≥ 0")
    vocals_power = np.square(vocals_mag, dtype=np.float32)
    total = vocals_power + np.square(instrumental_mag, dtype=np.float32)
    # No estimate for a bin (both 0): split the mixture evenly rather than drop it.
    mask = np.full(total.shape, 0.5, dtype=np.float32)
    np.divide(vocals_power, total, out=mask, where=total > eps)
    del vocals_power, total
    mix_spec = mix_spec.astype(np.complex64, copy=False)
    vocals = mask * mix_spec
    del mask
    if iterations == 0:
        return vocals, mix_spec - vocals
    # Like norbert, scale so that peak magnitudes are O(10): powers and their
    # products then stay far from the regularisation and from overflow.
    scale = np.float32(max(1.0, float(np.max(np.abs(mix_spec), initial=0.0)) / 10.0))
    mix = mix_spec / scale
    estimates = np.empty((2, *mix.shape), dtype=np.complex64)
    np.divide(vocals, scale, out=estimates[0])
    del vocals
    np.subtract(mix, estimates[0], out=estimates[1])
    for _ in range(iterations):
        estimates = _em_step(estimates, mix, eps=eps)
    estimates *= scale
    return estimates[0], estimates[1]


def _em_step(estimates: np.ndarray, mix: np.ndarray, *, eps: float) -> np.ndarray:
    """One EM iteration: source models from ``estimates``, then filter ``mix``.

    Args:
        estimates: complex (sources, channels, bins, frames).
        mix: complex (channels, bins, frames).

    Returns:
        New complex64 estimates of the same shape.
    """
    n_sources, n_channels, n_bins, n_frames = estimates.shape
    batch = max(1, _ELEMENTS_PER_BATCH // max(1, n_bins * n_channels * n_channels))
    # Power spectral densities v_j(f, t), the power averaged over channels, and
    # spatial covariances R_j(f) = sum_t y y^H / sum_t v_j, accumulated over
    # frame batches so no full-song complex128 copy is ever made.
    power = np.empty((n_sources, n_bins, n_frames), dtype=np.float32)
    covariance = np.zeros((n_sources, n_bins, n_channels, n_channels), dtype=np.complex128)
    for start in range(0, n_frames, batch):
        stop = min(start + batch, n_frames)
        block = estimates[..., start:stop].astype(np.complex128)  # (sources, C, bins, t)
        power[..., start:stop] = np.mean(block.real**2 + block.imag**2, axis=1)
        framed = np.moveaxis(block, 1, -1)  # (sources, bins, t, C)
        covariance += np.swapaxes(framed, -1, -2) @ framed.conj()
    covariance /= (eps + power.sum(axis=-1, dtype=np.float64))[..., np.newaxis, np.newaxis]
    regularisation = np.sqrt(eps) * np.eye(n_channels)
    mix_framed = np.moveaxis(mix, 0, -1)  # (bins, frames, C)
    result = np.empty((n_sources, n_bins, n_frames, n_channels), dtype=np.complex64)
    for start in range(0, n_frames, batch):
        stop = min(start + batch, n_frames)
        local = power[:, :, start:stop, np.newaxis, np.newaxis].astype(np.float64)
        weighted = local * covariance[:, :, np.newaxis]  # v_j R_j: (sources, bins, t, C, C)
        inverse = np.linalg.inv(weighted.sum(axis=0) + regularisation)  # (bins, t, C, C)
        x = mix_framed[:, start:stop, :, np.newaxis].astype(np.complex128)  # (bins, t, C, 1)
        result[:, :, start:stop, :] = (weighted @ (inverse @ x))[..., 0]
    return np.moveaxis(result, -1, 1)
