"""Oracle estimates: the floor and ceiling every separation score is read against.

A score means little alone: vocals at 5 dB is good if the ideal mask reaches 9 and
poor if doing nothing already reaches 4. These estimators know the true stems and
produce what a perfect mask, or no processing at all, would give on the same songs
(SiSEC 2018's `IRM1`, `IBM1` and `MIX` references; see `shared/docs/anchors.md` §1a):

- `irm`: ideal ratio mask `|V|^p / (|V|^p + |I|^p)` (p = 1: the magnitude ratio a
  masking model learns to predict) applied to the mixture with the mixture's phase;
  the ceiling of magnitude masking.
- `ibm`: ideal binary mask (each bin goes wholly to the louder source).
- `mixture`: both estimates are the unprocessed mixture, museval's do-nothing
  baseline (`MIX`: 1.12 dB vocals, 6.32 dB accompaniment on MUSDB18 test).

The masks are computed with the STFT the model is trained with (`unmix.dsp.stft`), so
the ceiling is that of the model's own time-frequency representation. TensorFlow-free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unmix.dsp import masks
from unmix.dsp.stft import StftOptions, istft, stft
from unmix.errors import DataError, unknown_name

ORACLES = ("irm", "ibm", "mixture")


def oracle_estimates(
    kind: str,
    vocals: np.ndarray,
    instrumental: np.ndarray,
    *,
    stft: StftOptions,
    power: float = 1.0,
) -> dict[str, np.ndarray]:
    """The estimates an oracle makes from the true stems of one song.

    The mixture is `vocals + instrumental`, as in training. Mask oracles give the
    instrumental the complementary mask, so the two estimates always sum to the
    mixture (as a trained model's estimates do).

    Args:
        kind: "irm", "ibm" or "mixture" (case-insensitive).
        vocals: float `(channels, samples)` true vocals.
        instrumental: float `(channels, samples)` true instrumental, same shape.
        stft: the STFT the masks are computed with (the configuration's).
        power: exponent of the ratio mask (1: magnitudes, 2: powers as SiSEC's
            `IRM2`); ignored by the other oracles.

    Returns:
        `{"vocals": float32 (channels, samples), "instrumental": float32 (channels, samples)}`.

    Raises:
        ConfigurationError: an unknown oracle name.
        DataError: the stems are not two float `(channels, samples)` arrays of one shape.
    """
    kind = _check_kind(kind)
    vocals = np.asarray(vocals, dtype=np.float32)
    instrumental = np.asarray(instrumental, dtype=np.float32)
    if vocals.ndim != 2 or vocals.shape != instrumental.shape or vocals.shape[1] == 0:
        raise DataError(
            f"oracle {kind}: Received: stems of shapes {vocals.shape} and {instrumental.shape}; "
            f"expected two equal, non-empty (channels, samples) arrays."
        )
    mix = vocals + instrumental
    if kind == "mixture":
        return {"vocals": mix.copy(), "instrumental": mix}
    n_samples = mix.shape[1]
    mix_spec = _stft(mix, stft)
    vocals_mag = np.abs(_stft(vocals, stft))
    instrumental_mag = np.abs(_stft(instrumental, stft))
    if kind == "irm":
        mask = masks.ratio_mask(vocals_mag, instrumental_mag, power=power)
    else:
        mask = masks.binary_mask(vocals_mag, instrumental_mag)
    vocals_spec = masks.apply_mask(mask, mix_spec)
    estimate = istft(vocals_spec, options=stft, length=n_samples)
    return {"vocals": estimate, "instrumental": mix - estimate}


@dataclass(frozen=True)
class Oracle:
    """An oracle as an estimator for `evaluate_songs`: it is given the true stems.

    Args:
        kind: "irm", "ibm" or "mixture".
        stft: the STFT the masks are computed with.
        power: ratio-mask exponent (see `oracle_estimates`).

    Raises:
        ConfigurationError: an unknown oracle name.
    """

    kind: str
    stft: StftOptions
    power: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", _check_kind(self.kind))

    @property
    def label(self) -> str:
        """The name written into score files, e.g. "oracle-irm"."""
        return f"oracle-{self.kind}"

    def __call__(self, vocals: np.ndarray, instrumental: np.ndarray) -> dict[str, np.ndarray]:
        return oracle_estimates(self.kind, vocals, instrumental, stft=self.stft, power=self.power)


def _stft(audio: np.ndarray, options: StftOptions) -> np.ndarray:
    return stft(audio, options=options)


def _check_kind(kind: str) -> str:
    key = str(kind).strip().lower()
    if key not in ORACLES:
        raise unknown_name("oracle", "oracle", kind, ORACLES)
    return key

