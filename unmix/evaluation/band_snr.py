"""High-band SNR: how well a stem is rebuilt above a frequency edge (11,025 Hz by default).

Full-band SDR hardly sees the top octave: above 11 kHz the vocals hold a small share of
their energy (sibilants, breaths, the air of a voice; a median 0.17 % on MUSDB18 songs), so a model can
lose them, or leak hi-hats into them, without moving SDR. This score looks at those bins
only. It is a plain energy ratio over complex STFT bins, not BSSEval: no distortion filter,
so a gain or phase error counts as error, and it is cheap (two STFTs per stem).
TensorFlow-free: NumPy and the project's STFT (`unmix.dsp.stft`) only.
"""

from __future__ import annotations

import math

import numpy as np

from unmix.dsp.stft import StftOptions, stft
from unmix.errors import ConfigurationError

# A quarter of 44.1 kHz: the top octave of CD audio, where Spleeter's U-Nets (first 1024 of 2049 bins) stop.
DEFAULT_EDGE_HZ = 11025.0
# An exact estimate has no error energy; a finite cap keeps the CSV cells and their medians numbers.
CAP_DB = 100.0
# The band is silent when the reference holds at most this share of its own total energy there (-100 dB):
# e.g. a stem low-passed before encoding, whose band holds only rounding noise.
SILENT_BAND_SHARE = 1e-10


def high_band_snr(
    reference: np.ndarray,
    estimate: np.ndarray,
    *,
    sample_rate: int,
    edge_hz: float = DEFAULT_EDGE_HZ,
    n_fft: int = 4096,
    hop_length: int = 1024,
) -> float:
    """SNR of `estimate` over the STFT bins above `edge_hz`, all frames and channels, in dB.

    Why: the band above 11 kHz holds a fraction of a percent of the vocals' energy (sibilants, breaths), too
    little for full-band SDR to notice when a model drops it; this looks at nothing else.
    `10·log10(Σ|S|² / Σ|S − Ŝ|²)` over the bins whose centre frequency is above `edge_hz`,
    with `S` and `Ŝ` the complex Hann STFTs of reference and estimate (`S − Ŝ` is computed
    as the STFT of `reference − estimate`, the same by linearity). An all-zero estimate
    scores 0 dB, half the reference 6.02 dB. A band that is silent in the reference (at most
    `SILENT_BAND_SHARE` of its energy) scores 0 dB whatever the estimate: there is nothing
    to rebuild, and a number keeps the song in the medians.

    Args:
        reference: float32 `(channels, samples)`, the true stem.
        estimate: float32 `(channels, samples)`, the same shape.
        sample_rate: Hz of both.
        edge_hz: the band starts above this frequency, in Hz (11,025 Hz by default).
        n_fft: STFT length in samples (4096: 93 ms at 44.1 kHz, bins 10.8 Hz apart).
        hop_length: samples between frames.

    Returns:
        The SNR in dB, at most `CAP_DB` (an exact estimate scores `CAP_DB`, never inf); NaN
        when no bin lies above the edge (the Nyquist frequency `sample_rate / 2` is at or
        below it, e.g. 16 kHz MIR-1K), so that medians over songs skip it.

    Raises:
        ValueError: the arrays are not 2-D or differ in shape.
        ConfigurationError: `edge_hz` or `sample_rate` is not a positive number, or the STFT
            parameters are out of range.
    """
    reference, estimate = np.asarray(reference), np.asarray(estimate)
    if reference.ndim != 2 or reference.shape != estimate.shape:
        raise ValueError(
            f"high_band_snr: Received: reference {reference.shape} and estimate {estimate.shape}; expected two (channels, samples) arrays of one shape"
        )
    check_edge_hz(edge_hz)
    if not sample_rate > 0:
        raise ConfigurationError(f"high_band_snr: Received: sample_rate={sample_rate!r}; expected a positive number of Hz")
    options = StftOptions(n_fft=n_fft, hop_length=hop_length, window="hann")
    # Bin k is centred on k * sample_rate / n_fft Hz.
    first_bin = math.floor(edge_hz * n_fft / sample_rate) + 1
    if first_bin >= options.n_bins:
        return math.nan
    signal_energy = total_energy = error_energy = 0.0
    for channel in range(reference.shape[0]):  # one channel at a time: a 4-minute stereo STFT is 340 MB
        power = _power(reference[channel : channel + 1], options)
        signal_energy += float(power[:, first_bin:].sum(dtype=np.float64))
        total_energy += float(power.sum(dtype=np.float64))
        error = reference[channel : channel + 1].astype(np.float32) - estimate[channel : channel + 1].astype(np.float32)
        error_energy += float(_power(error, options)[:, first_bin:].sum(dtype=np.float64))
    if signal_energy <= SILENT_BAND_SHARE * total_energy:
        return 0.0
    if error_energy == 0.0:
        return CAP_DB
    return min(CAP_DB, 10.0 * math.log10(signal_energy / error_energy))


def check_edge_hz(edge_hz: float) -> float:
    """`edge_hz` as a float, checked before any song is separated.

    Raises:
        ConfigurationError: not a finite frequency above 0 Hz.
    """
    try:
        value = float(edge_hz)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigurationError(f"high_band_edge: Received: {edge_hz!r}; expected a frequency in Hz above 0, e.g. {DEFAULT_EDGE_HZ:g}")
    return value


def _power(audio: np.ndarray, options: StftOptions) -> np.ndarray:
    """`|STFT|²` of `(1, samples)` audio, float32 `(1, bins, frames)`."""
    spectrum = stft(audio, options=options)
    return spectrum.real**2 + spectrum.imag**2
