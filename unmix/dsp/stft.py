"""The single STFT of unmix: training, prediction and evaluation all call this.

One implementation everywhere means the spectrogram a model was trained on and
the one it separates can never disagree (the seed mixed librosa defaults and
hand-written hops). The transform is a strided single-precision ``scipy.fft``
``rfft`` over the frames of a sliding-window view: on our 2-core machines
(3 min stereo, 44.1 kHz) it is about 2-3 times as fast as NumPy's ``rfft``
(which computes in double precision), faster than ``librosa.stft`` and
``scipy.signal.ShortTimeFFT``, and it reconstructs to float32 precision
without importing librosa (see ``benchmarks/stft.py``).

Memory layout: the returned spectrogram has the shape (channels, bins, frames)
but is stored frames-major (a transposed view of a (channels, frames, bins)
array), because the FFT runs over the bins of each frame; :func:`istft` reads
that layout without a copy. Any (channels, bins, frames) array is accepted.

Frames are centred as in ``librosa.stft(center=True, pad_mode="constant")``:
the signal is padded with ``n_fft // 2`` zeros on both sides, so frame ``k``
is centred on sample ``k * hop_length`` and covers samples
``[k * hop_length - n_fft // 2, k * hop_length + n_fft // 2)``. A signal of
``n`` samples has ``1 + n // hop_length`` frames.

Processing a long signal in blocks (bounded memory): cut the audio into blocks
whose starts are multiples of ``hop_length`` and that overlap their neighbours
by several windows (``k * n_fft`` samples, k >= 2). Inside a block, a frame
further than ``n_fft // 2`` samples from the block's edges sees exactly the
samples the full-signal STFT would see, so its spectrum is identical; only
the frames near a block edge differ (they see the block's zero padding).
Separate each block, ``istft`` it with ``length=`` the block's length, and
crossfade the overlapping audio of neighbouring blocks (weights summing to 1);
keep the crossfade away from the outer ``n_fft // 2`` samples of each block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

from unmix.errors import ConfigurationError

if TYPE_CHECKING:  # a type only: dsp and config are both layer 1 and do not import each other
    from unmix.config.schema import TransformationOptions

__all__ = ["StftOptions", "analysis_window", "istft", "n_frames", "stft"]

WINDOW_NAMES = ("hann", "hamming", "blackman")

# Frames transformed per chunk: small chunks keep the windowed copies in the
# CPU cache (measured fastest on our machines) and memory flat.
_ANALYSIS_CHUNK = 128
_SYNTHESIS_CHUNK = 128
# The divisor where |spec| is 0 in istft(magnitude=...): the smallest normal float32, so that the
# division never meets a subnormal operand (several times slower on x86).
_TINY = np.float32(np.finfo(np.float32).tiny)


@dataclass(frozen=True)
class StftOptions:
    """STFT parameters, read from the configuration (`fft_window`, hop, window).

    Args:
        n_fft: FFT length in samples; even, at least 16. 1536 gives 769 bins.
        hop_length: samples between frame centres; 1 <= hop_length <= n_fft // 2,
            so every sample lies under at least two windows and the inverse
            is exact even for windows that vanish at their ends.
        window: analysis window name: "hann", "hamming" or "blackman"
            (periodic, as ``scipy.signal.get_window`` builds them for FFTs).

    Raises:
        ConfigurationError: when a parameter is out of range.
    """

    n_fft: int = 1536
    hop_length: int = 384
    window: str = "hann"

    @classmethod
    def from_section(cls, section: TransformationOptions) -> StftOptions:
        """The STFT of a ``transformation`` section: the one place its JSONC names map to these.

        ``fft_window`` → ``n_fft``, ``hop_length`` → ``hop_length``, ``window`` → ``window``.

        Raises:
            ConfigurationError: when a parameter is out of range (the message names its JSONC key).
        """
        return cls(n_fft=section.fft_window, hop_length=section.hop_length, window=section.window)

    def __post_init__(self) -> None:
        if not _is_int(self.n_fft) or self.n_fft < 16 or self.n_fft % 2:
            raise ConfigurationError(
                f"Received: fft_window={self.n_fft!r}; expected an even integer ≥ 16 (e.g. 1536)"
            )
        if not _is_int(self.hop_length) or not 1 <= self.hop_length <= self.n_fft // 2:
            raise ConfigurationError(
                f"Received: hop_length={self.hop_length!r}; expected an integer between 1 and "
                f"fft_window/2={self.n_fft // 2} (e.g. fft_window/4={self.n_fft // 4})"
            )
        if not isinstance(self.window, str) or self.window.lower() not in WINDOW_NAMES:
            raise ConfigurationError(
                f"Received: window={self.window!r}; expected one of {', '.join(WINDOW_NAMES)}"
            )
        object.__setattr__(self, "window", self.window.lower())

    @property
    def n_bins(self) -> int:
        """Number of frequency bins, ``n_fft // 2 + 1`` (769 for 1536)."""
        return self.n_fft // 2 + 1


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def analysis_window(options: StftOptions) -> np.ndarray:
    """The periodic analysis window of ``options``, float32 of shape (n_fft,)."""
    phase = 2.0 * np.pi * np.arange(options.n_fft) / options.n_fft
    if options.window == "hann":
        window = 0.5 - 0.5 * np.cos(phase)
    elif options.window == "hamming":
        window = 0.54 - 0.46 * np.cos(phase)
    else:  # blackman; __post_init__ admits nothing else
        window = 0.42 - 0.5 * np.cos(phase) + 0.08 * np.cos(2.0 * phase)
    return window.astype(np.float32)


def n_frames(n_samples: int, *, options: StftOptions) -> int:
    """Number of STFT frames of a signal of ``n_samples`` samples.

    Args:
        n_samples: signal length in samples, >= 0.
        options: the STFT parameters.

    Returns:
        ``1 + n_samples // hop_length`` (centred frames).

    Raises:
        ValueError: when ``n_samples`` is negative.
    """
    if n_samples < 0:
        raise ValueError(f"Received: n_samples={n_samples}; expected an integer ≥ 0")
    return 1 + int(n_samples) // options.hop_length


def stft(audio: np.ndarray, *, options: StftOptions) -> np.ndarray:
    """Short-time Fourier transform with centred frames.

    Args:
        audio: float audio of shape (channels, samples).
        options: the STFT parameters.

    Returns:
        complex64 spectrogram of shape (channels, n_bins, n_frames); channel
        order is kept.

    Raises:
        ValueError: when ``audio`` is not 2-D.
    """
    audio = np.asarray(audio)
    if audio.ndim != 2:
        raise ValueError(
            f"Received: audio of shape {audio.shape}; expected (channels, samples)"
        )
    n_fft, hop = options.n_fft, options.hop_length
    half = n_fft // 2
    padded = np.pad(audio.astype(np.float32, copy=False), ((0, 0), (half, half)))
    # (channels, frames, n_fft) view without copying; frame k starts at k * hop.
    frames = sliding_window_view(padded, n_fft, axis=-1)[:, ::hop, :]
    window = analysis_window(options)
    total = frames.shape[1]
    spec = np.empty((audio.shape[0], total, options.n_bins), dtype=np.complex64)
    buffer = np.empty((audio.shape[0], min(_ANALYSIS_CHUNK, total), n_fft), dtype=np.float32)
    for start in range(0, total, _ANALYSIS_CHUNK):
        stop = min(start + _ANALYSIS_CHUNK, total)
        windowed = np.multiply(frames[:, start:stop], window, out=buffer[:, : stop - start])
        spec[:, start:stop] = scipy.fft.rfft(windowed, axis=-1)
    return np.swapaxes(spec, 1, 2)


def istft(
    spec: np.ndarray, *, options: StftOptions, length: int, gain: np.ndarray | None = None,
    magnitude: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """Inverse of :func:`stft` by weighted overlap-add.

    Each frame is windowed again and the sum is divided by the summed squared
    window, which makes ``istft(stft(x)) == x`` to float32 precision.

    Args:
        spec: complex spectrogram of shape (channels, n_bins, n_frames).
        options: the STFT parameters used for the analysis.
        length: output length in samples; the signal is cut or zero-padded to
            exactly this length (pass the input's length).
        gain: optional real factors of ``spec``'s shape (e.g. a mask), any
            memory layout: the result is ``istft(spec * gain)``, computed a few
            frames at a time without the full-size complex product.
        magnitude: optional magnitudes of ``spec``'s shape, any memory layout,
            each >= 0 (a mask's estimate: at most ``|spec|`` unless the mask is
            linear): the result is the inverse of
            ``magnitude * e^{i angle(spec)}`` (an estimate with the mixture's
            phase), i.e. ``gain = magnitude / |spec|`` (0 where ``spec`` is 0),
            formed a few frames at a time: no full-size ratio is ever stored.

    Returns:
        float32 audio of shape (channels, length).

    Raises:
        ValueError: when ``spec`` has the wrong rank or bin count, or
            ``length`` is negative.
    """
    spec = np.asarray(spec)
    if spec.ndim != 3 or spec.shape[1] != options.n_bins:
        raise ValueError(
            f"Received: spectrogram of shape {spec.shape}; expected "
            f"(channels, {options.n_bins}, frames) for fft_window={options.n_fft}"
        )
    if length < 0:
        raise ValueError(f"Received: length={length}; expected an integer ≥ 0")
    if gain is not None and magnitude is not None:
        raise ValueError("Received: both gain and magnitude; expected at most one of them")
    for name, factor in (("gain", gain), ("magnitude", magnitude)):
        if factor is not None and np.shape(factor) != spec.shape:
            raise ValueError(f"Received: {name} of shape {np.shape(factor)}; expected the spectrogram's shape {spec.shape}")
    n_fft, hop = options.n_fft, options.hop_length
    n_channels, _, total = spec.shape
    window = analysis_window(options)
    frames_major = np.swapaxes(spec, 1, 2)  # (channels, frames, bins): a view, contiguous for stft's output
    shifts = -(-n_fft // hop)  # ceil: hop-sized slices per frame
    span = shifts * hop
    # Frames are padded to span = shifts * hop samples so slice j of frame k
    # lands at (k + j) * hop: `shifts` vectorised adds instead of one per frame.
    out = np.zeros((n_channels, total + shifts - 1, hop), dtype=np.float32)
    chunk = np.zeros((n_channels, min(_SYNTHESIS_CHUNK, total), span), dtype=np.float32)
    for start in range(0, total, _SYNTHESIS_CHUNK):
        stop = min(start + _SYNTHESIS_CHUNK, total)
        block = frames_major[:, start:stop]
        if gain is not None:
            # A contiguous copy first: a product of arrays in different layouts is several times slower.
            block = block * np.ascontiguousarray(np.swapaxes(gain[:, :, start:stop], 1, 2), dtype=block.real.dtype)
        elif magnitude is not None:
            ratio = np.ascontiguousarray(np.swapaxes(magnitude[:, :, start:stop], 1, 2), dtype=block.real.dtype)
            # |spec| = 0 only where the magnitude is 0 too: any positive divisor gives the 0 gain there.
            np.divide(ratio, np.maximum(np.abs(block), _TINY), out=ratio)
            block = block * ratio
        frames = scipy.fft.irfft(block, n=n_fft, axis=-1)  # (channels, frames, n_fft)
        part = chunk[:, : stop - start]
        np.multiply(frames, window, out=part[:, :, :n_fft], casting="same_kind")
        part = part.reshape(n_channels, stop - start, shifts, hop)
        for j in range(shifts):
            out[:, start + j : stop + j] += part[:, :, j]
    out = out.reshape(n_channels, -1)
    norm = _window_sum_square(window, hop=hop, n_frames=total)
    first = n_fft // 2
    available = max(0, min(length, out.shape[1] - first))
    segment = norm[first : first + available]
    # Every real sample has norm > 0 (hop <= n_fft/2); the guard only protects
    # samples beyond the last frame when a longer length is asked for.
    inverse = np.zeros_like(segment)
    np.divide(1.0, segment, out=inverse, where=segment > 1e-10)
    audio = np.zeros((n_channels, length), dtype=np.float32)
    np.multiply(out[:, first : first + available], inverse, out=audio[:, :available])
    return audio


def _window_sum_square(window: np.ndarray, *, hop: int, n_frames: int) -> np.ndarray:
    """Sum of the squared window over all frames, float32 of the overlap-add length.

    Away from both ends the sum is periodic with period ``hop``, so it is
    tiled and only the first and last ``n_fft`` samples are computed exactly.
    """
    shifts = -(-window.size // hop)
    squared = np.zeros(shifts * hop, dtype=np.float64)
    squared[: window.size] = window.astype(np.float64) ** 2
    squared = squared.reshape(shifts, hop)

    def overlap_add(count: int) -> np.ndarray:
        summed = np.zeros(hop * (count + shifts - 1), dtype=np.float64)
        for j in range(shifts):
            summed[j * hop : (count + j) * hop] += np.tile(squared[j], count)
        return summed

    if n_frames < 2 * shifts:
        return overlap_add(n_frames).astype(np.float32)
    # Within (shifts - 1) * hop samples of an end only the nearest shifts - 1
    # frames contribute, which a short overlap-add reproduces exactly.
    margin = (shifts - 1) * hop
    edges = overlap_add(shifts - 1)
    norm = np.tile(squared.sum(axis=0), n_frames + shifts - 1)
    norm[:margin] = edges[:margin]
    norm[-margin:] = edges[-margin:]
    return norm.astype(np.float32)
