"""Compare STFT implementations on a 3-minute stereo 44.1 kHz signal.

Prints the median of 5 runs of analysis and synthesis for each candidate and
the reconstruction error, so the choice in ``unmix/dsp/stft.py`` rests on
figures. Never asserts timings. Run from the repository root:
``python benchmarks/stft.py [--repeats N]`` (with unmix installed, or ``PYTHONPATH=.``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from unmix.dsp.stft import StftOptions, analysis_window, istft, stft

SAMPLE_RATE = 44100
DURATION_S = 180


def _unmix(options: StftOptions) -> tuple[Callable, Callable]:
    return (
        lambda audio: stft(audio, options=options),
        lambda spec, length: istft(spec, options=options, length=length),
    )


def _librosa(options: StftOptions) -> tuple[Callable, Callable]:
    import librosa

    kwargs = dict(hop_length=options.hop_length, window=options.window, center=True)
    return (
        lambda audio: librosa.stft(audio, n_fft=options.n_fft, pad_mode="constant", **kwargs),
        lambda spec, length: librosa.istft(spec, n_fft=options.n_fft, length=length, **kwargs),
    )


def _scipy(options: StftOptions) -> tuple[Callable, Callable]:
    from scipy.signal import ShortTimeFFT

    transform = ShortTimeFFT(
        analysis_window(options).astype(np.float64), hop=options.hop_length, fs=SAMPLE_RATE
    )

    # Its default frames start before sample 0 (p_min < 0), so its frames are
    # shifted against unmix's and the spectra are not compared (shape differs).
    return transform.stft, lambda spec, length: transform.istft(spec, k1=length)


def _timed(function: Callable, *args) -> tuple[float, object]:
    begin = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - begin, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    options = StftOptions()
    rng = np.random.default_rng(0)
    length = SAMPLE_RATE * DURATION_S
    audio = (0.3 * rng.standard_normal((2, length))).astype(np.float32)
    reference = stft(audio, options=options)
    print(f"signal: {DURATION_S} s stereo at {SAMPLE_RATE} Hz, n_fft={options.n_fft}, "
          f"hop={options.hop_length}, {options.window}; median of {arguments.repeats}")
    candidates = {"unmix (numpy rfft)": _unmix, "librosa 0.11": _librosa,
                  "scipy ShortTimeFFT": _scipy}
    transforms = {name: build(options) for name, build in candidates.items()}
    times = {name: ([], []) for name in candidates}
    errors = {}
    # Interleave the candidates so load from other processes hits all alike.
    for _ in range(arguments.repeats):
        for name, (forward, inverse) in transforms.items():
            forward_s, spec = _timed(forward, audio)
            inverse_s, restored = _timed(inverse, spec, length)
            times[name][0].append(forward_s)
            times[name][1].append(inverse_s)
            spec = np.asarray(spec)
            errors[name] = (
                float(np.max(np.abs(np.asarray(restored)[:, :length] - audio))),
                float(np.max(np.abs(spec - reference))) if spec.shape == reference.shape
                else float("nan"),
            )
    print(f"{'implementation':<22}{'stft s':>9}{'istft s':>9}{'max |x - x̂|':>14}{'max |S - S_unmix|':>19}")
    for name, (forward_times, inverse_times) in times.items():
        forward_s, inverse_s = statistics.median(forward_times), statistics.median(inverse_times)
        error, difference = errors[name]
        print(f"{name:<22}{forward_s:>9.3f}{inverse_s:>9.3f}{error:>14.2e}{difference:>19.2e}")


if __name__ == "__main__":
    main()
