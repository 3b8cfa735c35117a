"""The separation kernel: one block of audio at the model's rate → one estimate per stem.

A :class:`Plan` freezes everything the kernel needs besides the network: the STFT, the
representation (model input layout and the inverse of its output), normaliser statistics, window
size and step, batch size, channel count, Wiener iterations and how the model's targets are
combined. It is built from the configuration's sections in one place, :func:`plan_from_sections`,
which both the separator and the training accuracy callback use.

How targets are combined:

- one target (the model predicts vocals only): the vocal magnitude is clipped to ``[0, |mix|]``;
- several targets (e.g. Spleeter's one U-Net per stem): ratio masks
  ``m_k = (e_k^p + eps/K) / (sum_j e_j^p + eps)`` with ``p = transformation.mask_exponent``
  (Spleeter's separation exponent, 2).

Either way one stem, the *residual* (``instrumental``), is never computed here: the streaming
layer forms it as ``input - sum of the others`` at the input's rate, so the stems sum to the
input exactly and the residual keeps the full bandwidth.

``transformation.combination`` "direct" (Park et al. 2018) instead gives every target its own
estimate with the mixture's phase, with no ratio and no residual: the model must predict every
stem, and the stems need not sum to the input (each is band-limited to the model's band).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np

from unmix.dsp import windows
from unmix.dsp.stft import StftOptions, istft, stft
from unmix.errors import ConfigurationError, ModelError
from unmix.separation import overlap_add
from unmix.separation.arrays import batches, channel_groups, magnitude_channels_last
from unmix.separation.shared_windows import BlockShare

#: A batch ``(batch, n_bins, size, n_channels)`` → the model's prediction: one array of that
#: shape (a single target, vocals), one of ``k * n_channels`` channels (``k`` targets stacked as
#: the representation's ``targets``) or ``{target: array}`` (several named targets).
Predict = Callable[[np.ndarray], "np.ndarray | Mapping[str, np.ndarray]"]
RESIDUAL = "instrumental"
COMBINATIONS = ("ratio", "direct")
# Spleeter's EPSILON of its ratio masks.
MASK_EPSILON = 1e-10


@dataclass(frozen=True)
class Plan:
    """Everything of a separation but the network, frozen.

    Attributes:
        stft: the STFT of training.
        representation: the pipeline representation the model was trained with.
        n_channels: channels the model takes (1 or 2).
        stats: ZMUV statistics for the ``zmuv`` normaliser, else None.
        batch_size: windows per model call.
        overlap: fraction of a window shared with the next, in [0, 1).
        wiener_iterations: -1 mask × mixture phase; 0 soft masks; >= 1 multichannel Wiener filter.
        mask_exponent: exponent of the ratio masks of several targets.
        combination: "ratio" (ratio masks, a residual stem) or "direct" (each target its own).
        stitching: "taper" or "middle" (``unmix.separation.overlap_add.weights``).

    Raises:
        ConfigurationError: a batch size < 1, an overlap outside [0, 1), wiener_iterations < -1,
            a mask exponent <= 0, an unknown combination or stitching, or a Wiener filter with
            the direct combination.
    """

    stft: StftOptions
    representation: Any
    n_channels: int
    stats: Any = None
    batch_size: int = 32
    overlap: float = 0.5
    wiener_iterations: int = -1
    mask_exponent: float = 2.0
    combination: str = "ratio"
    stitching: str = "taper"

    def __post_init__(self) -> None:
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigurationError(f"batch_size must be a positive integer, received {self.batch_size!r}")
        if isinstance(self.overlap, bool) or not isinstance(self.overlap, (int, float)) or not 0 <= self.overlap < 1:
            raise ConfigurationError(f"overlap must be in [0, 1), received {self.overlap!r}")
        if isinstance(self.wiener_iterations, bool) or not isinstance(self.wiener_iterations, int) or self.wiener_iterations < -1:
            raise ConfigurationError(f"wiener_iterations must be -1 (off), 0 or more, received {self.wiener_iterations!r}")
        if isinstance(self.mask_exponent, bool) or not isinstance(self.mask_exponent, (int, float)) or not self.mask_exponent > 0:
            raise ConfigurationError(f"transformation.mask_exponent must be a number > 0, received {self.mask_exponent!r}")
        if self.combination not in COMBINATIONS:
            raise ConfigurationError(f"transformation.combination must be one of {', '.join(COMBINATIONS)}, received {self.combination!r}")
        if self.stitching not in overlap_add.STITCHINGS:
            raise ConfigurationError(f"transformation.stitching must be one of {', '.join(overlap_add.STITCHINGS)}, received {self.stitching!r}")
        if self.combination == "direct" and self.wiener_iterations >= 0:
            raise ConfigurationError("transformation.combination 'direct' keeps each target's own estimate; it takes no Wiener filter: set wiener_iterations -1")
        if self.n_channels not in (1, 2):
            raise ConfigurationError(f"the model must take 1 or 2 channels, received {self.n_channels!r}")
        object.__setattr__(self, "overlap", float(self.overlap))

    @property
    def size(self) -> int:
        """Frames per model window."""
        return int(self.representation.size)

    @property
    def step(self) -> int:
        """Frames between window starts at separation (from ``overlap``)."""
        return max(1, int(round(self.size * (1.0 - self.overlap))))


def plan_from_sections(
    transformation: Any, *, n_channels: int, batch_size: int, stats: Any = None,
    overlap: float | None = None, wiener_iterations: int | None = None,
) -> Plan:  # fmt: skip
    """The plan of a configuration's ``transformation`` section (the one place it is built).

    Args:
        transformation: the ``transformation`` section.
        n_channels: channels the model takes (``collection.n_channels``).
        batch_size: windows per model call.
        stats: ZMUV statistics, or None.
        overlap: overrides ``transformation.overlap``.
        wiener_iterations: overrides ``transformation.wiener_iterations``.

    Raises:
        ConfigurationError: an unknown representation, or a value out of range.
    """
    from unmix.pipeline.representations import get_representation

    stft_options = StftOptions.from_section(transformation)
    representation = get_representation(transformation.name, options=transformation.options, stft=stft_options)
    return Plan(
        stft=stft_options, representation=representation, n_channels=int(n_channels), stats=stats, batch_size=batch_size,
        overlap=transformation.overlap if overlap is None else overlap,
        wiener_iterations=transformation.wiener_iterations if wiener_iterations is None else wiener_iterations,
        mask_exponent=getattr(transformation, "mask_exponent", 2.0),
        combination=getattr(transformation, "combination", "ratio"), stitching=getattr(transformation, "stitching", "taper"),
    )  # fmt: skip


def residual_of(targets: Sequence[str]) -> str:
    """The stem formed as ``input - the others``: ``instrumental`` when the model predicts it or only vocals, else the last target."""
    return RESIDUAL if RESIDUAL in targets or tuple(targets) == ("vocals",) else targets[-1]


class Kernel:
    """A block of model-rate audio → the time-domain estimate of every stem but the residual.

    Args:
        predict: the model's forward pass (see :data:`Predict`).
        plan: the frozen plan.
        targets: the model's target names, in its output order (``("vocals",)`` for a model
            with one output).

    Raises:
        ConfigurationError: no targets, repeated targets, a Wiener filter over more than two,
            or the direct combination for a model that does not predict both stems.
    """

    def __init__(self, predict: Predict, plan: Plan, *, targets: Sequence[str] = ("vocals",)) -> None:
        targets = tuple(targets)
        if not targets or len(set(targets)) != len(targets):
            raise ConfigurationError(f"a model needs distinct target names, received {targets!r}")
        if plan.wiener_iterations >= 0 and len(targets) > 2:
            raise ConfigurationError(f"the Wiener filter combines two stems; this model has {len(targets)} targets: use --wiener -1")
        if plan.combination == "direct" and not {"vocals", RESIDUAL} <= set(targets):
            raise ConfigurationError(
                f"transformation.combination 'direct' estimates each stem from its own target; the model predicts {list(targets)}: "
                f"predict vocals and instrumental (transformation.options.targets) or use 'ratio'"
            )
        self.predict = predict
        self.plan = plan
        self.targets = targets
        #: The stem formed as ``input - the others`` by the caller; None with the direct combination.
        self.residual = None if plan.combination == "direct" else residual_of(targets)
        #: The stems this kernel returns (vocals first).
        self.estimated = tuple(sorted((t for t in targets if t != self.residual), key=lambda t: t != "vocals"))
        #: Every stem of a separation, the residual (if any) last.
        self.stems = self.estimated if self.residual is None else (*self.estimated, self.residual)

    def __call__(self, audio: np.ndarray, *, frames: tuple[int, int | None] = (0, None), shared: BlockShare | None = None) -> dict[str, np.ndarray]:
        """Estimates of :attr:`estimated` for ``audio``.

        Args:
            audio: float32 ``(channels, samples)`` at the model's rate, any channel count.
            frames: ``(first, stop)``: the model windows start at STFT frame ``first`` and cover
                the frames up to ``stop`` (None: the last frame); frames outside get no estimate.
                The streaming layer uses it to run exactly the song's own windows on a block.
            shared: the block boundary windows this block shares with its neighbours
                (``unmix.separation.shared_windows``): each is run by one of the two blocks only.

        Returns:
            ``{stem: float32 (channels, samples)}``: STFT → windows → model → overlap-add →
            combination of the targets → mixture phase (or Wiener filter) → inverse STFT.
        """
        n_samples = audio.shape[1]
        spec = stft(audio, options=self.plan.stft)
        # |mix| is stored channels-last, the model's layout, so model windows are plain slices.
        mix_mag = magnitude_channels_last(spec)
        magnitudes = self.magnitudes(mix_mag, frames=frames, shared=shared)
        if self.plan.wiener_iterations >= 0:
            return self._wiener(magnitudes, mix_mag, spec, n_samples)
        if len(self.targets) == 1 or self.residual is None:
            # estimate × e^{i∠mix}, formed inside istft a few frames at a time.
            return {t: istft(spec, options=self.plan.stft, length=n_samples, magnitude=magnitudes[t]) for t in self.estimated}
        masks = self._ratio_masks(magnitudes, only=self.estimated)
        # estimate × e^{i∠mix} = spec × mask, the product formed inside istft.
        return {stem: istft(spec, options=self.plan.stft, length=n_samples, gain=masks[stem]) for stem in self.estimated}

    def magnitudes(self, mix_mag: np.ndarray, *, frames: tuple[int, int | None] = (0, None), shared: BlockShare | None = None) -> dict[str, np.ndarray]:
        """Every target's magnitude estimate ``(channels, bins, frames)``, >= 0 (at most ``|mix|`` unless its mask is linear), window by window.

        Each batch is overlap-added as it arrives; a model's NaN or infinity becomes 0 (the model
        may only remove energy). ``frames`` and ``shared`` as in :meth:`__call__`: the shared
        windows this block claims run first (its neighbour may be waiting for them), those its
        neighbour claimed are taken last.
        """
        plan = self.plan
        n_input, n_bins, n_frames = mix_mag.shape
        first, stop = frames
        stop = n_frames if stop is None else min(stop, n_frames)
        groups = channel_groups(n_input, plan.n_channels)
        layout = windows.to_model_layout(mix_mag)  # (bins, frames, channels)
        layouts = [layout[:, :, group[0] : group[-1] + 1] if list(group) == list(range(group[0], group[-1] + 1)) else layout[:, :, list(group)] for group in groups]
        starts = [first + int(start) for start in windows.window_starts(max(0, stop - first), size=plan.size, step=plan.step)]
        taper = overlap_add.weights(plan.size, plan.step, kind=plan.stitching)
        stitchers = {(g, t): overlap_add.Stitcher(n_bins=n_bins, n_frames=n_frames, n_channels=plan.n_channels, taper=taper) for g in range(len(groups)) for t in self.targets}
        jobs = [(g, start) for g in range(len(groups)) for start in starts]
        claimed: dict[tuple[int, int], Future[Any]] = {}
        taken: list[tuple[tuple[int, int], Future[Any]]] = []
        # A song-scope normaliser scales by the block's mix: the separator makes the block the whole song.
        reference = plan.representation.song_reference(mix_mag)
        try:
            if shared is not None:
                own = []
                for job in jobs:
                    claim = shared.claim(*job)
                    if claim is None or claim[0]:
                        own.append(job)
                        if claim is not None:
                            claimed[job] = claim[1]
                    else:
                        taken.append((job, claim[1]))
                jobs = sorted(own, key=lambda job: job not in claimed)  # stable: the claimed first
            buffer = np.empty((min(plan.batch_size, len(jobs)), n_bins, plan.size, plan.n_channels), dtype=np.float32)
            for batch_jobs in batches(jobs, plan.batch_size):
                mix_windows = buffer[: len(batch_jobs)]
                for window, (g, start) in zip(mix_windows, batch_jobs):
                    valid = min(plan.size, n_frames - start)
                    window[:, :valid] = layouts[g][:, start : start + valid]
                    window[:, valid:] = 0.0
                x = np.asarray(plan.representation.prepare(mix_windows, stats=plan.stats, reference=reference), dtype=np.float32)
                published: dict[tuple[int, int], dict[str, np.ndarray]] = {job: {} for job in batch_jobs if job in claimed}
                for target, prediction in self._call_model(x).items():
                    out = plan.representation.to_vocals_magnitude(prediction, mix_windows, stats=plan.stats, reference=reference)
                    for window, (g, start) in zip(out, batch_jobs):
                        stitchers[g, target].add(window, start)
                        if (g, start) in published:
                            published[g, start][target] = np.array(window)
                for job, outputs in published.items():
                    claimed.pop(job).set_result(outputs)
        except BaseException as error:
            for future in claimed.values():  # the neighbour waiting for them fails with this block
                future.set_exception(error)
            raise
        for (g, start), future in taken:
            for target, window in future.result().items():
                stitchers[g, target].add(window, start)
        covered = (first, stop)
        return {target: self._stitched(groups, [stitchers[g, target] for g in range(len(groups))], mix_mag, covered) for target in self.targets}

    def _stitched(self, groups: list[tuple[int, ...]], stitchers: list[Any], mix_mag: np.ndarray, covered: tuple[int, int]) -> np.ndarray:
        n_input = mix_mag.shape[0]
        if len(groups) == 1 and groups[0] == tuple(range(n_input)):
            estimate = windows.from_model_layout(stitchers[0].result(covered=covered))  # channels-last memory, like mix_mag
        else:
            estimate = np.zeros_like(mix_mag)
            counts = np.zeros(n_input, dtype=np.float32)
            for group, stitcher in zip(groups, stitchers):
                stitched = windows.from_model_layout(stitcher.result(covered=covered))
                for slot, channel in enumerate(group):
                    estimate[channel] += stitched[slot]
                    counts[channel] += 1
            if np.any(counts > 1):
                estimate /= counts[:, None, None]
        # Each window is already clipped by the representation (to [0, |mix|]; a linear mask's
        # only at 0), and so is any blend of them; only a model's NaN survives the clipping. The
        # sum is finite exactly when every value is, short of an overflow: a cheap test.
        if not np.isfinite(np.sum(estimate, dtype=np.float64)):
            np.nan_to_num(estimate, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
            np.maximum(estimate, 0.0, out=estimate)
        return estimate

    def _call_model(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Run the model; a single array is the first target's prediction, or every target's stacked on the channels."""
        y = self.predict(x)
        if isinstance(y, Mapping):
            outputs = dict(y)
        elif len(self.targets) > 1:
            outputs = self.plan.representation.split_targets(y)
        else:
            outputs = {self.targets[0]: y}
        if set(outputs) != set(self.targets):
            raise ModelError(f"the model returned targets {sorted(outputs)}; expected {list(self.targets)}")
        result = {}
        for target in self.targets:
            value = np.asarray(outputs[target], dtype=np.float32)
            if value.shape != x.shape:
                raise ModelError(f"the model returned shape {value.shape} for {target} and input {x.shape}; expected the input's shape")
            result[target] = value
        return result

    def _ratio_masks(self, magnitudes: dict[str, np.ndarray], *, only: Sequence[str]) -> dict[str, np.ndarray]:
        """``m_k = (e_k^p + eps/K) / (sum_j e_j^p + eps)`` for the targets in ``only`` (in place of their estimates)."""
        p = float(self.plan.mask_exponent)
        eps = np.float32(MASK_EPSILON)
        powered = {t: (np.square(e, out=e) if p == 2.0 else np.power(e, p, out=e)) for t, e in magnitudes.items()}
        # Every step writes in place: each full-song temporary would cost a pass over fresh memory
        # and raise the peak RSS by a spectrogram. The sum goes into a target that is not returned
        # (the residual, for 2 stems) when there is one.
        spare = next((t for t in powered if t not in only), None)
        rest = [e for t, e in powered.items() if t != spare]
        total = powered[spare] if spare is not None else rest.pop(0).copy()
        for e in rest:
            total += e
        total += eps
        share = np.float32(eps / len(powered))
        masks = {}
        for t in only:
            masks[t] = np.divide(np.add(powered[t], share, out=powered[t]), total, out=powered[t])
        return masks

    def _wiener(self, magnitudes: dict[str, np.ndarray], mix_mag: np.ndarray, spec: np.ndarray, n_samples: int) -> dict[str, np.ndarray]:
        from unmix.dsp.wiener import wiener

        (stem,) = self.estimated  # at most two targets (checked in __init__)
        first = magnitudes[stem]
        other = magnitudes[self.residual] if self.residual in magnitudes else np.maximum(mix_mag - first, 0.0)
        out = np.empty_like(spec)
        # Covariances are estimated within one model group (a stereo pair), never across 5.1.
        for group in channel_groups(spec.shape[0], self.plan.n_channels):
            channels = sorted(set(group))
            out[channels] = wiener(first[channels], other[channels], spec[channels], iterations=self.plan.wiener_iterations)[0]
        return {stem: istft(out, options=self.plan.stft, length=n_samples)}
