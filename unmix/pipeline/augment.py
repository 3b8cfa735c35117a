"""Training augmentation on time-domain segments: remix, gain and channel swap.

NumPy only; all randomness comes from the ``rng`` argument. The segments of one
batch are windows at random offsets of (usually) different training songs, so a
remix pairs the vocals of one window with the instrumental of another window of the
batch, preferring one from another song: a new mixture with no extra reads. The mix
is always recomputed as vocals + instrumental after augmentation, so the training
pair stays exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from unmix.config.schema import AugmentationOptions
from unmix.errors import ConfigurationError


def check_augmentation(options: AugmentationOptions) -> None:
    """Reject augmentation options out of range.

    Raises:
        ConfigurationError: a probability outside [0, 1], or gains that are negative
            or with ``gain_min > gain_max``.
    """
    key = "training.augmentation"
    for name in ("remix_probability", "silent_keep_rate"):
        value = getattr(options, name)
        if not 0.0 <= value <= 1.0:
            raise ConfigurationError(f"{key}.{name} must lie in [0, 1]; received {value!r}")
    if not 0.0 <= options.gain_min <= options.gain_max:
        raise ConfigurationError(
            f"{key}.gain_min and gain_max must satisfy 0 <= gain_min <= gain_max; "
            f"received gain_min={options.gain_min!r}, gain_max={options.gain_max!r}"
        )


def remix_partners(song_ids: Sequence[str], *, rng: np.random.Generator, probability: float) -> np.ndarray:
    """For each window, the window whose instrumental it takes (itself when not remixed).

    A window is remixed with ``probability``; its partner is a random other window,
    from another song when the batch has one.

    Args:
        song_ids: the song of each window of the batch.
        rng: the random generator.
        probability: chance that a window is remixed.

    Returns:
        int array (n,) of partner indices.
    """
    n = len(song_ids)
    partners = np.arange(n)
    for i in range(n):
        if n < 2 or rng.random() >= probability:
            continue
        others = [j for j in range(n) if song_ids[j] != song_ids[i]] or [j for j in range(n) if j != i]
        partners[i] = others[int(rng.integers(len(others)))]
    return partners


def augment_segments(
    vocals: np.ndarray,
    instrumental: np.ndarray,
    *,
    rng: np.random.Generator,
    options: AugmentationOptions,
    song_ids: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Remix, re-gain and channel-swap a batch of segments.

    Each window is remixed with ``options.remix_probability`` (see
    ``remix_partners``); each stem of each window gets a gain drawn uniformly from
    ``[gain_min, gain_max]``; with ``channel_swap`` and stereo, each stem of each
    window has its channels swapped with probability 0.5.

    Args:
        vocals: float32 (n, channels, samples).
        instrumental: float32, same shape.
        rng: the random generator (the only source of randomness).
        options: ``training.augmentation``; ``enabled`` is the caller's business.
        song_ids: the song of each window (default: all different).

    Returns:
        ``(vocals, instrumental, mix)`` float32 (n, channels, samples), with
        ``mix == vocals + instrumental``. The inputs are not modified.

    Raises:
        ValueError: the shapes differ or are not (n, channels, samples).
    """
    vocals = np.asarray(vocals, np.float32)
    instrumental = np.asarray(instrumental, np.float32)
    if vocals.ndim != 3 or vocals.shape != instrumental.shape:
        raise ValueError(
            f"Received: vocals {vocals.shape} and instrumental {instrumental.shape}; "
            f"expected two equal (n, channels, samples) arrays"
        )
    n, n_channels, _ = vocals.shape
    ids = list(song_ids) if song_ids is not None else [str(i) for i in range(n)]
    partners = remix_partners(ids, rng=rng, probability=options.remix_probability)
    instrumental = instrumental[partners]
    gains = rng.uniform(options.gain_min, options.gain_max, size=(2, n)).astype(np.float32)
    vocals = vocals * gains[0][:, None, None]
    instrumental = instrumental * gains[1][:, None, None]
    if options.channel_swap and n_channels == 2:
        swaps = rng.random((2, n)) < 0.5
        vocals[swaps[0]] = vocals[swaps[0]][:, ::-1]
        instrumental[swaps[1]] = instrumental[swaps[1]][:, ::-1]
    return vocals, instrumental, vocals + instrumental
