"""What every representation shares: window geometry, normalisation and the inverse.

A representation turns the magnitude windows of one song excerpt into the model's input
and training target, and turns a model prediction back into a vocal magnitude. All
arrays are channels-last windows ``(bins, size, channels)`` (a leading batch axis is
accepted by ``prepare`` and ``to_vocals_magnitude``); channel 0 is the left channel,
and nothing here reorders channels (the seed's reshape scrambled them).

Normalisation: the model input is the mix window normalised by the configured
normaliser; a magnitude target is normalised with the factors of the *mix* window
(never from the already-normalised input, the seed's min-max bug). Masks are ratios
and are never normalised. With ``normalizer_scope`` "song" the factors come from the whole
song's mix instead (:meth:`Representation.song_reference`; Park et al. 2018 divide each clip
by its maximum), so every window of a song shares one scale.

Targets (``options.targets``): a representation that allows it (``stacked_targets``) makes
the model predict several stems stacked on its output channels, in the configured order
(Park et al. 2018: accompaniment then voice); :meth:`Representation.split_targets` takes a
prediction apart again. A mask is a sigmoid's, in [0, 1], or with ``mask_activation``
"linear" unbounded (a source can exceed a mixture built as the channels' mean): separation
then clips only its negative values.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from unmix.config.schema import TransformOptions
from unmix.dsp.normalizers import ZmuvStats, get_normalizer
from unmix.dsp.stft import StftOptions
from unmix.errors import ConfigurationError

OUTPUT_KINDS = ("mask", "magnitude")
STEMS = ("vocals", "instrumental")
MASK_ACTIVATIONS = ("sigmoid", "linear")
NORMALIZER_SCOPES = ("window", "song")
# The normalisers whose factors come from the mix's extremes, which a song can set as well as a window.
_SCOPED_NORMALIZERS = ("norm_max", "norm_min_max")


class Representation:
    """Base class of the registered representations (see ``registry.get_representation``).

    Args:
        options: ``transformation.options``: ``size`` (frames per window), ``step``
            (frames between window starts, 1 <= step <= size), ``normalizer``,
            ``normalizer_scope``, ``targets`` and ``mask_activation``.
        stft: the STFT parameters; ``stft.n_bins`` is the window height.

    Raises:
        ConfigurationError: size or step out of range, an unknown normaliser (or a song scope
            for one without a scale), targets this representation cannot stack, or a mask
            activation it has no mask for.
    """

    name: ClassVar[str] = ""
    #: What the model must output: "mask" (multiplied with |mix|) or "magnitude".
    output_kind: ClassVar[str] = "mask"
    #: Whether the model may predict several stems stacked on its channels (``options.targets``).
    stacked_targets: ClassVar[bool] = False

    def __init__(self, *, options: TransformOptions, stft: StftOptions) -> None:
        size, step = options.size, options.step
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigurationError(
                f"transformation.options.size must be a whole number of frames >= 1; received {size!r}"
            )
        if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= size:
            raise ConfigurationError(
                f"transformation.options.step must be a whole number between 1 and size={size} "
                f"(windows must overlap or touch); received {step!r}"
            )
        self.targets = self._checked_targets(tuple(options.targets))
        if options.mask_activation not in MASK_ACTIVATIONS or (options.mask_activation != "sigmoid" and self.output_kind != "mask"):
            allowed = " or ".join(repr(a) for a in MASK_ACTIVATIONS) if self.output_kind == "mask" else f"'sigmoid' (transformation.name {self.name!r} outputs a {self.output_kind})"
            raise ConfigurationError(f"transformation.options.mask_activation: expected {allowed}; received {options.mask_activation!r}")
        self.mask_activation = options.mask_activation
        self.options = options
        self.stft = stft
        self.size = size
        self.step = step
        self.normalizer_name = options.normalizer or "none"
        self._normalizer = get_normalizer(self.normalizer_name)
        scope = options.normalizer_scope
        if scope not in NORMALIZER_SCOPES or (scope == "song" and self._normalizer.name not in _SCOPED_NORMALIZERS):
            allowed = ' or '.join(repr(s) for s in NORMALIZER_SCOPES) if scope not in NORMALIZER_SCOPES else f"'window' for normalizer {self._normalizer.name!r} (a song scope sets the factors of {' and '.join(_SCOPED_NORMALIZERS)})"
            raise ConfigurationError(f"transformation.options.normalizer_scope: expected {allowed}; received {scope!r}")
        self.song_scope = scope == "song"
        # Raw magnitudes in and out (the "none" normaliser): inference skips the per-window loop.
        self._raw = self.normalizer_name.strip().lower() == "none"

    def _checked_targets(self, targets: tuple[str, ...]) -> tuple[str, ...]:
        if not targets or len(set(targets)) != len(targets) or not set(targets) <= set(STEMS):
            raise ConfigurationError(f"transformation.options.targets: expected distinct stems of {', '.join(STEMS)}; received {list(targets)!r}")
        if targets != ("vocals",) and not self.stacked_targets:
            raise ConfigurationError(f"transformation.options.targets: transformation.name {self.name!r} predicts the vocals only; received {list(targets)!r}")
        return targets

    @property
    def model_output(self) -> str:
        """The output the model's last layer makes: "mask", "linear_mask" or "magnitude" (``build_model``'s ``output``)."""
        return "linear_mask" if self.output_kind == "mask" and self.mask_activation == "linear" else self.output_kind

    def song_reference(self, mix_mag: np.ndarray) -> np.ndarray | None:
        """The ``reference`` of every window of a song: its mix's ``(min, max)``, or None (window scope).

        Args:
            mix_mag: the whole song's (or separation block's) mix magnitude, any layout.
        """
        if not self.song_scope:
            return None
        mix_mag = np.asarray(mix_mag)
        return np.array([mix_mag.min(), mix_mag.max()] if mix_mag.size else [0.0, 0.0], dtype=np.float32)

    def split_targets(self, prediction: np.ndarray) -> dict[str, np.ndarray]:
        """``{target: its channels}`` of a prediction ``(..., n_targets * channels)`` that stacks the targets."""
        return dict(zip(self.targets, np.split(np.asarray(prediction), len(self.targets), axis=-1)))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(size={self.size}, step={self.step}, "
            f"normalizer={self.normalizer_name!r}, output_kind={self.output_kind!r})"
        )

    def input_shape(self, n_channels: int) -> tuple[int, int, int]:
        """The model input shape ``(bins, size, n_channels)`` (also the output shape of each target)."""
        return (self.stft.n_bins, self.size, int(n_channels))

    # --- training -------------------------------------------------------------------------

    def make_item(
        self,
        mix_mag: np.ndarray,
        vocals_mag: np.ndarray,
        instrumental_mag: np.ndarray,
        *,
        packs_mix: bool,
        stats: ZmuvStats | None,
        reference: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The model input and training target of one window.

        Args:
            mix_mag: |mix| window, (bins, size, channels).
            vocals_mag: |vocals| window, same shape.
            instrumental_mag: |instrumental| window, same shape.
            packs_mix: the loss multiplies the prediction by the mix (L11_loss,
                L22_loss): the target is then ``concat([target, normalised mix], -1)``.
            stats: per-bin statistics, needed by the ``zmuv`` normaliser.
            reference: the song's :meth:`song_reference` (required with the song scope).

        Returns:
            ``(x, y)`` float32: x (bins, size, channels); y (bins, size, k * channels) for
            ``k`` targets, or (bins, size, (k + 1) * channels) when ``packs_mix``, or
            ``{stem: (bins, size, channels)}`` for a representation with one target per stem.

        Raises:
            ValueError: the windows' shapes differ or are not (bins, size, channels).
            ConfigurationError: ``packs_mix`` with a representation that outputs a magnitude.
        """
        for name, array in (("vocals_mag", vocals_mag), ("instrumental_mag", instrumental_mag)):
            if np.shape(array) != np.shape(mix_mag):
                raise ValueError(
                    f"Received: {name} of shape {np.shape(array)}; expected the mix window's shape {np.shape(mix_mag)}"
                )
        self._check_window(mix_mag, "mix_mag", batched=False)
        x, y = self._item(
            np.asarray(mix_mag, np.float32),
            np.asarray(vocals_mag, np.float32),
            np.asarray(instrumental_mag, np.float32),
            packs_mix=packs_mix,
            stats=stats,
            reference=self._checked_reference(reference),
        )
        if isinstance(y, dict):  # one target per stem (``stems``)
            return x.astype(np.float32, copy=False), {stem: t.astype(np.float32, copy=False) for stem, t in y.items()}
        return x.astype(np.float32, copy=False), y.astype(np.float32, copy=False)

    def _item(
        self, mix: np.ndarray, vocals: np.ndarray, instrumental: np.ndarray, *, packs_mix: bool, stats: ZmuvStats | None,
        reference: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    # --- inference ------------------------------------------------------------------------

    def prepare(self, mix_mag: np.ndarray, *, stats: ZmuvStats | None, reference: np.ndarray | None = None) -> np.ndarray:
        """The normalised model input of one window, or of a batch of windows.

        Args:
            mix_mag: |mix|, (bins, size, channels) or (n, bins, size, channels);
                each window is normalised on its own (or all by ``reference``).
            stats: per-bin statistics for ``zmuv``.
            reference: the song's :meth:`song_reference` (required with the song scope).

        Returns:
            float32 of the same shape.
        """
        mix_mag = np.asarray(mix_mag, np.float32)
        batched = self._check_window(mix_mag, "mix_mag", batched=None)
        if self._raw:  # the raw magnitudes: no per-window copy
            return mix_mag
        reference = self._checked_reference(reference)
        windows = mix_mag if batched else mix_mag[np.newaxis]
        out = np.stack([self._normalizer.normalize(w, None, stats=stats, reference=reference)[0] for w in windows])
        return (out if batched else out[0]).astype(np.float32, copy=False)

    def to_vocals_magnitude(
        self, prediction: np.ndarray, mix_mag: np.ndarray, *, stats: ZmuvStats | None, reference: np.ndarray | None = None
    ) -> np.ndarray:
        """The vocal magnitude a model prediction stands for.

        A mask is clipped to [0, 1] (a linear one only below, at 0) and multiplied with |mix|;
        a magnitude is denormalised with the mix window's factors and clipped to [0, |mix|].

        Args:
            prediction: the model output for ``mix_mag``, same shape (final output only).
            mix_mag: |mix|, (bins, size, channels) or (n, bins, size, channels).
            stats: per-bin statistics for ``zmuv``.
            reference: the song's :meth:`song_reference` (a magnitude's song-scope factors).

        Returns:
            float32 vocal magnitude, the shape of ``mix_mag``.

        Raises:
            ValueError: when the shapes differ.
        """
        prediction = np.asarray(prediction, np.float32)
        mix_mag = np.asarray(mix_mag, np.float32)
        if prediction.shape != mix_mag.shape:
            raise ValueError(
                f"Received: prediction of shape {prediction.shape}; expected the mix window's shape {mix_mag.shape}"
            )
        batched = self._check_window(mix_mag, "mix_mag", batched=None)
        if self.output_kind == "mask":
            upper = 1.0 if self.mask_activation == "sigmoid" else None
            return (np.clip(prediction, 0.0, upper) * mix_mag).astype(np.float32)
        if self._raw:  # already on |mix|'s scale: clip, without per-window copies
            out = np.maximum(prediction, 0.0)
            return np.minimum(out, mix_mag, out=out)
        mixes = mix_mag if batched else mix_mag[np.newaxis]
        predictions = prediction if batched else prediction[np.newaxis]
        reference = self._checked_reference(reference)
        out = np.stack([self._normalizer.denormalize(p, m, stats=stats, reference=reference) for p, m in zip(predictions, mixes)])
        out = np.clip(out, 0.0, mixes)
        return (out if batched else out[0]).astype(np.float32, copy=False)

    # --- helpers --------------------------------------------------------------------------

    def _checked_reference(self, reference: np.ndarray | None) -> np.ndarray | None:
        """The song's reference with the song scope (where it is required), else None."""
        if not self.song_scope:
            return None
        if reference is None:
            raise ValueError("normalizer_scope 'song' needs the song's reference (Representation.song_reference of its whole mix)")
        return reference

    def _normalize(
        self, mix: np.ndarray, target: np.ndarray | None, stats: ZmuvStats | None, reference: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        mix_n, target_n = self._normalizer.normalize(mix, target, stats=stats, reference=reference)
        return np.asarray(mix_n, np.float32), None if target_n is None else np.asarray(target_n, np.float32)

    def _check_window(self, array: np.ndarray, name: str, *, batched: bool | None) -> bool:
        """Check (bins, size, ch) or, when allowed, (n, bins, size, ch); return whether batched."""
        shape = np.shape(array)
        ok_single = len(shape) == 3 and shape[:2] == (self.stft.n_bins, self.size)
        ok_batch = len(shape) == 4 and shape[1:3] == (self.stft.n_bins, self.size)
        if (batched is not True and ok_single) or (batched is not False and ok_batch):
            return ok_batch
        expected = f"({self.stft.n_bins}, {self.size}, channels)"
        if batched is None:
            expected += f" or (n, {self.stft.n_bins}, {self.size}, channels)"
        raise ValueError(f"Received: {name} of shape {shape}; expected {expected}")


def pack(target: np.ndarray, mix_n: np.ndarray) -> np.ndarray:
    """``concat([target, normalised mix], -1)``: what a mix-packing loss splits again."""
    return np.concatenate([target, mix_n], axis=-1)
