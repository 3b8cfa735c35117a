"""``Separator``: a trained model plus everything needed to split audio into its stems.

The separator composes the pieces below it and nothing calls back up: ``loading`` builds the
model and reads the run folder, ``kernel`` turns one block of model-rate audio into an estimate
per stem, ``streaming`` feeds it blocks in bounded memory and resamples, ``outputs`` names the
files. One load serves any number of songs. Separation runs at the model's sample rate and is
resampled back: outputs always have the input's sample rate, length and channel count.
``instrumental = input - vocals``, so the two stems sum to the input to float precision and keep
the full bandwidth (everything above the model's band lands in the instrumental); a model run
with ``transformation.combination`` "direct" (Park et al. 2018) gives each stem its own estimate.

Channels: a mono model runs on every input channel alone. A stereo model runs on consecutive
channel pairs (0, 1), (2, 3), ... (for 5.1 in WAV order: FL FR | FC LFE | BL BR); a channel left
without a partner (mono input, the last of an odd count) fills both model channels and the two
outputs are averaged.

Example:
    >>> separator = Separator.from_run_folder("runs/20190506-154117-hourglass")
    >>> stems = separator.separate(samples, 44100)   # samples: float32 (channels, samples)
    >>> stems["vocals"].shape == samples.shape
    True
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unmix.atomic import remove_dead_temporaries
from unmix.dsp.stft import StftOptions
from unmix.errors import AudioError, ConfigurationError, ModelError
from unmix.separation import exported, streaming
from unmix.separation.arrays import check_audio
from unmix.separation.kernel import Kernel, Plan, plan_from_sections
from unmix.separation.loading import keras_predict, load_model, open_run, stats_beside, targets_of
from unmix.separation.outputs import DEFAULT_TEMPLATE, STEMS, check_stems, format_note, song_name_of, stem_paths, subtype_of

logger = logging.getLogger(__name__)

Progress = Callable[[float, float], None]
# Input-rate seconds per decoded block when reading a file.
READ_BLOCK_SECONDS = 10.0


class Separator:
    """A loaded model that separates audio arrays and files.

    Args:
        predict: the model: a ``keras.Model`` (its named outputs are targets, else its output
            is the vocals), or any function mapping a float32 batch
            ``(batch, n_bins, size, n_channels)`` to predictions of that shape, or to
            ``{target: prediction}`` (tests inject one).
        representation: the pipeline representation the model was trained with.
        stft_options: the STFT of training.
        sample_rate: rate the model runs at, in Hz.
        n_channels: channels the model takes (1 or 2).
        stats: ZMUV statistics for the ``zmuv`` normaliser, else None.
        batch_size: windows per model call.
        overlap: fraction of a window shared with the next, in [0, 1).
        wiener_iterations: -1 mask × mixture phase; 0 soft masks; >= 1 multichannel Wiener filter.
        mask_exponent: exponent of the ratio masks that combine several targets.
        combination: "ratio" (ratio masks; the instrumental is the input minus the rest) or
            "direct" (each target its own estimate: the stems need not sum to the input).
        stitching: how overlapping windows join: "taper" or "middle".
        targets: the target names of a plain function ``predict`` (default: those of a Keras
            model, else the representation's ``targets``, stacked on the output channels).
        block_seconds: seconds of model-rate audio per block (bounded memory); None processes the
            whole input as one block, as it always does for a representation whose normaliser
            scales by the whole song (``normalizer_scope`` "song").
        workers: blocks separated at once on threads (one block's STFT runs beside another's
            model; peak memory grows by a block per worker); 1 separates block after block.

    Raises:
        ConfigurationError: for a batch size < 1, an overlap outside [0, 1),
            wiener_iterations < -1, workers < 1 or a bad sample rate.
    """

    def __init__(
        self,
        predict: Any,
        *,
        representation: Any,
        stft_options: StftOptions,
        sample_rate: int,
        n_channels: int,
        stats: Any = None,
        batch_size: int = 32,
        overlap: float = 0.5,
        wiener_iterations: int = -1,
        mask_exponent: float = 2.0,
        combination: str = "ratio",
        stitching: str = "taper",
        targets: Sequence[str] | None = None,
        block_seconds: float | None = 30.0,
        workers: int = 2,
    ) -> None:
        if block_seconds is not None and block_seconds <= 0:
            raise ConfigurationError(f"block_seconds must be positive or None, received {block_seconds!r}")
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise ConfigurationError(f"workers must be a positive integer, received {workers!r}")
        if not isinstance(sample_rate, int) or isinstance(sample_rate, bool) or sample_rate <= 0:
            raise ConfigurationError(f"sample_rate must be a positive integer (Hz), received {sample_rate!r}")
        plan = Plan(
            stft=stft_options, representation=representation, n_channels=int(n_channels), stats=stats, batch_size=batch_size,
            overlap=overlap, wiener_iterations=wiener_iterations, mask_exponent=mask_exponent, combination=combination,
            stitching=stitching,
        )  # fmt: skip
        self.model = predict if hasattr(predict, "predict_on_batch") else None
        stacked = tuple(getattr(representation, "targets", ("vocals",)))
        if self.model is not None:
            targets = targets_of(self.model, stacked=stacked) if targets is None else targets
            predict = keras_predict(self.model)
        self.kernel = Kernel(predict, plan, targets=targets or stacked)
        self.sample_rate = sample_rate
        self.block_seconds = None if getattr(representation, "song_scope", False) else block_seconds
        self.workers = workers

    # === Construction ===
    @classmethod
    def from_run_folder(cls, path: str | Path, *, weights: str | Path | None = None, runtime: str = "auto", **overrides: Any) -> "Separator":
        """Load a training run (or an installed pretrained model): its resolved configuration and best weights.

        Args:
            path: the run folder.
            weights: a checkpoint to load instead of the best one (e.g. to score an earlier epoch).
            runtime: what runs the network (``unmix.separation.exported``): ``tensorflow``;
                ``openvino`` (the network exported once to ONNX, exported now if it is not yet);
                ``auto`` (the exported network when it exists, OpenVINO is installed and no GPU
                is visible, else TensorFlow). An export is keyed by the weights it holds.
            **overrides: ``sample_rate``, ``batch_size``, ``overlap``, ``wiener_iterations``,
                ``precision`` ("float32", "bfloat16" or "auto"), ``block_seconds``, ``workers``,
                ``stats`` (see the class).

        Raises:
            ConfigurationError: not a run folder, or a bad configuration, override or runtime.
            ModelError: no weights, weights that do not fit the configured model, or (runtime
                ``openvino``) no OpenVINO or a failed export.
        """
        exported.check_runtime(runtime)
        run = open_run(path, weights=weights)
        overrides.setdefault("stats", run.stats)
        logger.info("model: %s (weights %s)", run.config.training.model.name, run.weights.name)
        if runtime != "tensorflow":
            streams = overrides.get("workers") or run.config.transformation.workers
            network = cls._exported_network(path, run, runtime=runtime, precision=overrides.get("precision"), streams=streams)
            if network is not None:
                overrides.pop("precision", None)
                logger.info("network: %s, run by OpenVINO (%s)", network.path.name, network.precision)
                return cls._around(network, cls._configured_plan(run.config, stats=overrides.pop("stats"), overrides=overrides), run.config, targets=network.targets, **overrides)
        return cls.from_config(run.weights, run.config, **overrides)

    @classmethod
    def export_network(cls, path: str | Path, *, weights: str | Path | None = None) -> Path:
        """Export a run folder's network with its best weights (or ``weights``) to ONNX once (``unmix.separation.exported``); return the file.

        Raises:
            ConfigurationError: not a run folder.
            ModelError: no weights, or the export failed.
        """
        run = open_run(path, weights=weights)
        return cls._export(run, exported.exported_path(path, run.weights))

    @classmethod
    def _export(cls, run: Any, target: Path) -> Path:
        """``target``, the run's float32 network exported there unless it already is."""
        if not target.is_file():
            plan = cls._configured_plan(run.config, stats=run.stats, overrides={})
            exported.export(cls._built_model(run.weights, run.config, plan, precision="float32"), target)
        return target

    @classmethod
    def _exported_network(cls, path: str | Path, run: Any, *, runtime: str, precision: str | None, streams: int = 1) -> "exported.ExportedNetwork | None":
        """The run's exported network (exported first when ``runtime`` is ``openvino``), or None for TensorFlow."""
        if runtime == "auto" and (exported.gpu_visible() or not exported.available()):
            return None
        target = exported.exported_path(path, run.weights)
        if not target.is_file():
            if runtime == "auto":
                return None
            target = cls._export(run, target)
        chosen = exported.cpu_precision(precision or run.config.transformation.precision)
        try:
            return exported.ExportedNetwork(target, precision=chosen, streams=streams)
        except ModelError as error:
            if runtime != "auto":
                raise
            logger.warning("%s; separating with TensorFlow", error)  # a damaged export never stops a separation
            return None

    @classmethod
    def from_weights(
        cls, weights: str | Path, configuration: str | Path, *, sample_rate: int | None = None, working_directory: str | Path | None = None, **overrides: Any
    ) -> "Separator":
        """Load weights (``.weights.h5``, or a whole ``.keras`` model) with the configuration they were trained with.

        A ``zmuv.json`` beside the weights, or in the folder above (a run's ``weights/``), is
        used as normaliser statistics unless ``stats`` is given.

        Args:
            weights: the weights file.
            configuration: the ``.jsonc`` the weights were trained with (a run folder's resolved
                one works too).
            sample_rate: rate the model runs at (default: the configuration's).
            working_directory: where the configuration's ``.env`` is looked for (default: the
                current directory).
            **overrides: as for :meth:`from_run_folder`.

        Raises:
            ConfigurationError: a bad configuration or override.
            ModelError: a missing or unfit weights file.
        """
        from unmix.config import load

        weights = Path(weights)
        config = load(configuration, working_directory=working_directory)
        if "stats" not in overrides:
            overrides["stats"] = stats_beside(weights)
        return cls.from_config(weights, config, sample_rate=sample_rate, **overrides)

    @classmethod
    def from_pretrained(cls, name: str | None = None, **overrides: Any) -> "Separator":
        """Load a built-in model by name (``unmix.pretrained.catalog``; None: the default one).

        Raises:
            ModelError: an unknown name, or a model that is not installed (the message says
                what to run).
        """
        from unmix.pretrained import catalog

        name = name or catalog.default_name()
        logger.info("using the built-in model %s", name)
        return cls.from_run_folder(catalog.folder(name), **overrides)

    @classmethod
    def from_config(
        cls, weights: str | Path | None, config: Any, *, stats: Any = None, precision: str | None = None, **overrides: Any
    ) -> "Separator":  # fmt: skip
        """Build the configured model, load ``weights`` into it (None keeps it untrained) and wrap it.

        Raises:
            ConfigurationError: a bad configuration or override.
            ModelError: a missing or unfit weights file, or missing ZMUV statistics.
        """
        plan = cls._configured_plan(config, stats=stats, overrides=overrides)
        model = cls._built_model(weights, config, plan, precision=precision or config.transformation.precision)
        return cls._around(model, plan, config, **overrides)

    @staticmethod
    def _built_model(weights: str | Path | None, config: Any, plan: Plan, *, precision: str) -> Any:
        """The configured Keras model for ``plan``'s representation, with ``weights`` loaded (``load_model``)."""
        return load_model(
            weights, config.training.model, input_shape=tuple(plan.representation.input_shape(plan.n_channels)),
            output=plan.representation.model_output, precision=precision, configuration=config.path,
            n_targets=len(plan.representation.targets),
        )  # fmt: skip

    @classmethod
    def for_model(cls, model: Any, config: Any, *, stats: Any = None, **overrides: Any) -> "Separator":
        """Wrap a built model with the configuration's separation defaults (the one place they are chosen).

        The training accuracy callback uses this with the model being trained, so scores during
        training separate exactly as ``predict.py`` will.

        Raises:
            ConfigurationError: a bad configuration or override.
            ModelError: the ``zmuv`` normaliser without statistics.
        """
        return cls._around(model, cls._configured_plan(config, stats=stats, overrides=overrides), config, **overrides)

    @staticmethod
    def _configured_plan(config: Any, *, stats: Any, overrides: dict[str, Any]) -> Plan:
        """The configuration's plan with ``batch_size``, ``overlap`` and ``wiener_iterations`` taken out of ``overrides``."""
        batch_size = overrides.pop("batch_size", None)
        plan = plan_from_sections(
            config.transformation, n_channels=config.collection.n_channels, stats=stats,
            batch_size=batch_size or config.transformation.batch_size or config.training.batch_size * 4,
            overlap=overrides.pop("overlap", None), wiener_iterations=overrides.pop("wiener_iterations", None),
        )  # fmt: skip
        if getattr(plan.representation, "normalizer_name", None) == "zmuv" and stats is None:
            raise ModelError("the zmuv normaliser needs zmuv.json (the run's statistics); none was found beside the weights")
        return plan

    @classmethod
    def _around(cls, model: Any, plan: Plan, config: Any, *, sample_rate: int | None = None, **options: Any) -> "Separator":
        """The separator of ``model`` (a Keras model or a :data:`Predict`) with the configuration's separation defaults."""
        options.setdefault("workers", config.transformation.workers)
        options.setdefault("block_seconds", config.transformation.block_seconds)
        return cls(
            model, representation=plan.representation, stft_options=plan.stft, sample_rate=sample_rate or config.collection.sample_rate,
            n_channels=plan.n_channels, stats=plan.stats, batch_size=plan.batch_size, overlap=plan.overlap,
            wiener_iterations=plan.wiener_iterations, mask_exponent=plan.mask_exponent, combination=plan.combination,
            stitching=plan.stitching, **options,
        )  # fmt: skip

    # === What it separates into ===
    @property
    def stems(self) -> tuple[str, ...]:
        """The stems of every separation, vocals first and the residual (``instrumental``, if any) last."""
        return self.kernel.stems

    @property
    def plan(self) -> Plan:
        return self.kernel.plan

    @property
    def stft_options(self) -> StftOptions:
        return self.kernel.plan.stft

    @property
    def representation(self) -> Any:
        return self.kernel.plan.representation

    @property
    def n_channels(self) -> int:
        return self.kernel.plan.n_channels

    @property
    def batch_size(self) -> int:
        return self.kernel.plan.batch_size

    @property
    def size(self) -> int:
        return self.kernel.plan.size

    @property
    def step(self) -> int:
        return self.kernel.plan.step

    # === Separation ===
    def separate(self, samples: np.ndarray, sample_rate: int, *, progress: Progress | None = None) -> dict[str, np.ndarray]:
        """Split audio into its stems.

        Args:
            samples: float audio ``(channels, samples)``, any channel count (``soundfile.read``
                gives ``(frames, channels)``: pass its ``.T``).
            sample_rate: rate of ``samples`` in Hz.
            progress: called as ``progress(done_seconds, total_seconds)`` after each block.

        Returns:
            ``{"vocals": …, "instrumental": …}``, float32 arrays of the input's shape at the
            input's sample rate; the stems sum to ``samples`` to float precision (unless the
            combination is "direct": then each is the model's own estimate).

        Raises:
            AudioError: for input that is not a 2-D array, has no samples or more than two
                channels but fewer samples, holds NaN, infinite or samples beyond ±2^31, or separates into
                non-finite stems; or a bad sample rate.
        """
        samples = check_audio(samples, sample_rate)
        n_samples = samples.shape[1]
        block = max(1, int(sample_rate * 10))
        chunks = (samples[:, start : start + block] for start in range(0, n_samples, block))
        out = {stem: np.empty_like(samples) for stem in self.stems}
        done = 0
        for stems in self.stream(chunks, sample_rate=sample_rate, n_channels=samples.shape[0], total_samples=n_samples, progress=progress):
            n = next(iter(stems.values())).shape[1]
            for stem, block_out in stems.items():
                out[stem][:, done : done + n] = block_out
            done += n
        return out

    def stream(
        self, blocks: Iterable[np.ndarray], *, sample_rate: int, n_channels: int, total_samples: int | None = None, progress: Progress | None = None
    ) -> Iterator[dict[str, np.ndarray]]:
        """Separate consecutive ``(n_channels, n)`` blocks at ``sample_rate``, yielding ``{stem: block}`` as they are ready.

        Raises:
            AudioError: a block of the wrong shape.
        """
        plan = self.kernel.plan
        layout = streaming.block_layout(
            n_fft=plan.stft.n_fft, hop_length=plan.stft.hop_length, size=plan.size, step=plan.step,
            sample_rate=self.sample_rate, block_seconds=self.block_seconds,
        )  # fmt: skip
        return streaming.iter_separate(
            self.kernel, blocks, layout=layout, estimated=self.kernel.estimated, residual=self.kernel.residual,
            model_rate=self.sample_rate, sample_rate=sample_rate, n_channels=n_channels, workers=self.workers,
            total_samples=total_samples, progress=progress,
        )  # fmt: skip

    def separate_file(
        self, path: str | Path, output_dir: str | Path, *, file_format: str = "wav", filename: str = DEFAULT_TEMPLATE,
        stems: Sequence[str] = STEMS, song_name: str | None = None, progress: Progress | None = None, bit_depth: int | None = None,
    ) -> dict[str, Path]:  # fmt: skip
        """Separate an audio file in bounded memory and write the stems incrementally.

        Args:
            path: any file ``unmix.audio`` decodes.
            output_dir: folder the file name template is relative to.
            file_format: "wav", "flac" or "mp3".
            filename: template with ``{song}``, ``{stem}`` and ``{ext}``.
            stems: which of "vocals", "instrumental" to write.
            song_name: the ``{song}`` of the template (default: the file name without extension).
            progress: as in :meth:`separate`.
            bit_depth: 16 or 24 (integer PCM) or 32 (float) for WAV, 16 or 24 for FLAC; None
                keeps the format's default (float WAV, 24-bit FLAC).

        Partial stems that a killed separation left in the stems' folders (their process is
        gone) are removed first.

        Returns:
            The written file of each stem; they have the input's sample rate and channel count,
            except where MP3 cannot hold them (more than 2 channels, above 48 kHz), which a
            warning line says (``format_note``).

        Raises:
            AudioError: the file cannot be decoded or holds no samples, or a stem cannot be
                written (nothing partial is left behind, nor a folder that only this song's stems
                would have filled).
            ConfigurationError: a bad template, format, bit depth or stem name, or a stem that
                would overwrite ``path``.
        """
        from unmix import audio

        path = Path(path)
        stems = check_stems(stems)
        missing = [stem for stem in stems if stem not in self.stems]
        if missing:
            raise ConfigurationError(f"stems: this model separates {', '.join(self.stems)}, not {', '.join(missing)}")
        targets = stem_paths(Path(output_dir), song_name or song_name_of(path), template=filename, stems=stems, file_format=file_format)
        for stem, target in targets.items():
            if target.exists() and path.exists() and os.path.samefile(target, path):  # a link or another spelling counts
                raise ConfigurationError(f"the {stem} stem would be written over the song itself ({target}); choose another output folder or --filename")
        subtype = subtype_of(file_format, bit_depth)
        for folder in sorted({target.parent for target in targets.values()}):
            removed = remove_dead_temporaries(folder)
            if removed:
                logger.info("%s: removed %d partial file(s) of a separation that was killed", folder, len(removed))
        details = audio.info(path)
        rate, n_channels = details.sample_rate, details.n_channels
        forced = format_note(file_format, sample_rate=rate, n_channels=n_channels)
        if forced is not None:
            logger.warning("%s: %s", path, forced)
        chunks = audio.read_blocks(path, sample_rate=None, n_channels=None, block_samples=max(1, int(READ_BLOCK_SECONDS * rate)))
        started = time.time_ns()
        created = _missing_folders(targets.values())
        try:
            with contextlib.ExitStack() as stack:
                writers = {stem: stack.enter_context(audio.open_writer(target, sample_rate=rate, n_channels=n_channels, subtype=subtype)) for stem, target in targets.items()}
                # The bar counts towards what the header declares, as the truncation warning does.
                total = max(details.declared_samples or 0, details.n_samples)
                n = streaming.write_stream(self.stream(chunks, sample_rate=rate, n_channels=n_channels, total_samples=total, progress=progress), writers)
                if n == 0:  # its empty stems are removed below, as a failed song's
                    raise AudioError(f"audio file {path} holds no samples (0 s of audio): there is nothing to separate; re-export it, or leave it out")
        except BaseException:
            for target in targets.values():  # a stem finished before another failed must not stay alone
                with contextlib.suppress(OSError):
                    if target.stat().st_mtime_ns >= started:
                        target.unlink()
            for folder in created:  # the writers made them; an empty <song>/ would look like a result
                with contextlib.suppress(OSError):  # not empty: another song's files are in it
                    folder.rmdir()
            raise
        if not _warn_if_truncated(path, n, details) and progress is not None and n:
            progress(n / rate, n / rate)  # the length is known now: a header's estimate that was off ends at 100 %
        return targets

    def predict_batch(self, batch: np.ndarray) -> Any:
        """One model call on ``(batch, n_bins, size, n_channels)`` float32 inputs (for benchmarks)."""
        return self.kernel.predict(batch)


def _missing_folders(paths: Iterable[Path]) -> list[Path]:
    """The folders above ``paths`` that do not exist yet (what writing them creates), the deepest first."""
    missing = set()
    for path in paths:
        for folder in path.parents:
            if folder.exists():
                break
            missing.add(folder)
    return sorted(missing, key=lambda folder: len(folder.parts), reverse=True)


def _warn_if_truncated(path: Path, decoded: int, details: Any) -> bool:
    """One warning when a file decoded to clearly fewer samples than its header declares (a cut-off download); whether it did."""
    declared = max(details.declared_samples or 0, details.n_samples)
    # Compressed formats differ from their header by the encoder's delay and padding.
    if declared - decoded > max(4096, declared // 100):
        rate = details.sample_rate
        logger.warning(
            "%s: decoded %.1f s of the %.1f s its header declares: the file looks truncated; separated what was there",
            path, decoded / rate, declared / rate,
        )  # fmt: skip
        return True
    return False
