"""``Separator``: a trained model plus everything needed to split audio into vocals and instrumental.

The separator holds the model, the transformer, the STFT options and the normaliser statistics of
one run, so one load serves any number of songs. Separation runs at the model's sample rate and
is resampled back: outputs always have the input's sample rate, length and channel count.
``instrumental = input - vocals``, so the two stems sum to the input to float precision and keep
the full bandwidth (everything above the model's Nyquist frequency lands in the instrumental).

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

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unmix.dsp.stft import StftOptions, istft, stft
from unmix.errors import ConfigurationError, ModelError
from unmix.separation import blocks
from unmix.separation.arrays import batches, channel_groups, check_audio, magnitude_channels_last, mix_ratio
from unmix.separation.model import Predict, keras_predict, load_model

logger = logging.getLogger(__name__)

Progress = Callable[[float, float], None]
STEMS = ("vocals", "instrumental")


class Separator:
    """A loaded model that separates audio arrays and files.

    Args:
        predict: the model: a ``keras.Model`` (its last output is used), or any function mapping
            a float32 batch ``(batch, n_bins, size, n_channels)`` to predictions of that shape
            (tests inject one).
        transformer: the pipeline transformer the model was trained with.
        stft_options: the STFT of training.
        sample_rate: rate the model runs at, in Hz.
        n_channels: channels the model takes (1 or 2).
        stats: ZMUV statistics for the ``zmuv`` normaliser, else None.
        batch_size: windows per model call.
        overlap: fraction of a window shared with the next, in [0, 1).
        wiener_iterations: -1 mask × mixture phase; 0 soft masks; >= 1 multichannel Wiener filter.
        block_seconds: seconds of model-rate audio per block (bounded memory); None processes the
            whole input as one block.
        workers: blocks separated at once on threads (one block's STFT runs beside another's
            model; peak memory grows by a block per worker); 1 separates block after block.

    Raises:
        ConfigurationError: for a batch size < 1, an overlap outside [0, 1),
            wiener_iterations < -1 or workers < 1.
    """

    def __init__(
        self,
        predict: Any,
        *,
        transformer: Any,
        stft_options: StftOptions,
        sample_rate: int,
        n_channels: int,
        stats: Any = None,
        batch_size: int = 32,
        overlap: float = 0.5,
        wiener_iterations: int = -1,
        block_seconds: float | None = 30.0,
        workers: int = 2,
    ) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigurationError(f"batch_size must be a positive integer, received {batch_size!r}")
        if not 0 <= overlap < 1:
            raise ConfigurationError(f"overlap must be in [0, 1), received {overlap!r}")
        if not isinstance(wiener_iterations, int) or wiener_iterations < -1:
            raise ConfigurationError(f"wiener_iterations must be -1 (off), 0 or more, received {wiener_iterations!r}")
        if block_seconds is not None and block_seconds <= 0:
            raise ConfigurationError(f"block_seconds must be positive or None, received {block_seconds!r}")
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise ConfigurationError(f"workers must be a positive integer, received {workers!r}")
        if not isinstance(sample_rate, int) or sample_rate <= 0:
            raise ConfigurationError(f"sample_rate must be a positive integer (Hz), received {sample_rate!r}")
        self.model = predict if hasattr(predict, "predict_on_batch") else None
        self._predict: Predict = keras_predict(predict) if self.model is not None else predict
        self.transformer = transformer
        self.stft_options = stft_options
        self.sample_rate = sample_rate
        self.n_channels = int(n_channels)
        self.stats = stats
        self.batch_size = batch_size
        self.overlap = float(overlap)
        self.wiener_iterations = wiener_iterations
        self.block_seconds = block_seconds
        self.workers = workers
        self.size = int(transformer.size)
        self.step = max(1, int(round(self.size * (1.0 - self.overlap))))

    # === Construction ===
    @classmethod
    def from_run_folder(cls, path: str | Path, *, weights: str | Path | None = None, **overrides: Any) -> "Separator":
        """Load a training run: its resolved configuration and its best weights.

        Args:
            path: the run folder.
            weights: a checkpoint to load instead of the best one (e.g. to score an earlier epoch).
            **overrides: ``sample_rate``, ``batch_size``, ``overlap``, ``wiener_iterations``,
                ``block_seconds``, ``workers``, ``stats`` (see the class).

        Raises:
            ConfigurationError: not a run folder, or a bad configuration or override.
            ModelError: no weights, or weights that do not fit the configured model.
        """
        from unmix.config import load_resolved
        from unmix.runfolder import RunFolder

        folder = RunFolder.open(path)
        config = load_resolved(folder.configuration)
        weights = Path(weights) if weights is not None else folder.best_weights()
        overrides.setdefault("stats", _stats_file(folder.zmuv_stats))
        logger.info("model: %s (weights %s)", config.training.model.name, weights.name)
        return cls.from_config(weights, config, **overrides)

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
        from unmix.runfolder import ZMUV_STATS

        weights = Path(weights)
        config = load(configuration, working_directory=working_directory)
        if "stats" not in overrides:
            candidates = (weights.parent / ZMUV_STATS, weights.parent.parent / ZMUV_STATS)
            overrides["stats"] = next((s for s in map(_stats_file, candidates) if s is not None), None)
        return cls.from_config(weights, config, sample_rate=sample_rate, **overrides)

    @classmethod
    def from_config(
        cls, weights: str | Path | None, config: Any, *, sample_rate: int | None = None, batch_size: int | None = None,
        overlap: float | None = None, wiener_iterations: int | None = None, **options: Any,
    ) -> "Separator":  # fmt: skip
        """Build the configured model, load ``weights`` into it (None keeps it untrained) and wrap it.

        Raises:
            ConfigurationError: a bad configuration or override.
            ModelError: a missing or unfit weights file, or missing ZMUV statistics.
        """
        from unmix.pipeline.transformers import get_transformer

        transformation = config.transformation
        stft_options = StftOptions(n_fft=transformation.fft_window, hop_length=transformation.hop_length, window=transformation.window)
        transformer = get_transformer(transformation.name, options=transformation.options, stft=stft_options)
        n_channels = config.collection.n_channels
        if getattr(transformer, "normalizer_name", None) == "zmuv" and options.get("stats") is None:
            raise ModelError("the zmuv normaliser needs zmuv.json (the run's statistics); none was found beside the weights")
        model = load_model(weights, config, input_shape=tuple(transformer.input_shape(n_channels)), output=transformer.output_kind)
        return cls(
            model, transformer=transformer, stft_options=stft_options, sample_rate=sample_rate or config.collection.sample_rate,
            n_channels=n_channels, batch_size=batch_size or config.training.batch_size * 4,
            overlap=transformation.overlap if overlap is None else overlap,
            wiener_iterations=transformation.wiener_iterations if wiener_iterations is None else wiener_iterations, **options,
        )  # fmt: skip

    # === Separation ===
    def separate(self, samples: np.ndarray, sample_rate: int, *, progress: Progress | None = None) -> dict[str, np.ndarray]:
        """Split audio into vocals and instrumental.

        Args:
            samples: float audio ``(channels, samples)``, any channel count.
            sample_rate: rate of ``samples`` in Hz.
            progress: called as ``progress(done_seconds, total_seconds)`` after each block.

        Returns:
            ``{"vocals": …, "instrumental": …}``, float32 arrays of the input's shape at the
            input's sample rate; ``vocals + instrumental == samples`` to float precision.

        Raises:
            AudioError: for input that is not a 2-D array of finite numbers, or a bad sample rate.
        """
        samples = check_audio(samples, sample_rate)
        n_samples = samples.shape[1]
        block = max(1, int(sample_rate * 10))
        chunks = (samples[:, start : start + block] for start in range(0, n_samples, block))
        vocals = np.empty_like(samples)
        done = 0
        for v, _ in blocks.iter_separate(self, chunks, sample_rate=sample_rate, n_channels=samples.shape[0], total_samples=n_samples, progress=progress):
            vocals[:, done : done + v.shape[1]] = v
            done += v.shape[1]
        return {"vocals": vocals, "instrumental": samples - vocals}

    def separate_file(
        self, path: str | Path, output_dir: str | Path, *, file_format: str = "wav", filename: str = "{song}/{stem}.{ext}",
        stems: Sequence[str] = STEMS, song_name: str | None = None, progress: Progress | None = None,
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

        Returns:
            The written file of each stem; they have the input's sample rate and channel count.

        Raises:
            AudioError: the file cannot be decoded, or a stem cannot be written (nothing partial
                is left behind).
            ConfigurationError: a bad template, format or stem name.
        """
        return blocks.separate_file(self, Path(path), Path(output_dir), file_format=file_format, filename=filename, stems=tuple(stems), song_name=song_name, progress=progress)

    def vocals_at_model_rate(self, audio: np.ndarray) -> np.ndarray:
        """Vocals of audio that is already at the model's rate (one block; no resampling).

        Args:
            audio: float32 ``(channels, samples)`` at ``self.sample_rate``, any channel count.

        Returns:
            float32 vocals of the same shape: STFT → windows → model → overlap-add →
            mixture phase (or Wiener filter) → inverse STFT.
        """
        n_input, n_samples = audio.shape
        spec = stft(audio, options=self.stft_options)
        # |mix| is stored channels-last, the model's layout, so model windows are plain slices.
        mix_mag = magnitude_channels_last(spec)
        vocals_mag = self._vocals_magnitude(mix_mag)
        # The model may only remove energy: this also turns any NaN of a broken model into 0
        # (the sum is finite exactly when every value is, short of an overflow: a cheap test).
        if not np.isfinite(np.sum(vocals_mag, dtype=np.float64)):
            np.nan_to_num(vocals_mag, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        np.minimum(vocals_mag, mix_mag, out=vocals_mag)
        np.maximum(vocals_mag, 0.0, out=vocals_mag)
        if self.wiener_iterations >= 0:
            return istft(self._wiener(vocals_mag, mix_mag, spec), options=self.stft_options, length=n_samples)
        # vocals_mag × e^{i∠mix} = spec × vocals_mag / |mix|, the product formed inside istft.
        return istft(spec, options=self.stft_options, length=n_samples, gain=mix_ratio(vocals_mag, mix_mag))

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        """One model call on ``(batch, n_bins, size, n_channels)`` float32 inputs (for benchmarks)."""
        return self._predict(batch)

    # === Internals ===
    def _vocals_magnitude(self, mix_mag: np.ndarray) -> np.ndarray:
        """Model every channel group window by window and overlap-add each batch as it arrives."""
        from unmix.dsp import windows
        from unmix.separation import overlap_add

        n_input, n_bins, n_frames = mix_mag.shape
        groups = channel_groups(n_input, self.n_channels)
        layout = windows.to_model_layout(mix_mag)  # (bins, frames, channels)
        layouts = [layout[:, :, group[0] : group[-1] + 1] if list(group) == list(range(group[0], group[-1] + 1)) else layout[:, :, list(group)] for group in groups]
        starts = [int(start) for start in overlap_add.plan(n_frames, size=self.size, step=self.step)]
        taper = overlap_add.weights(self.size, self.step)
        stitchers = [overlap_add.Stitcher(n_bins=n_bins, n_frames=n_frames, n_channels=self.n_channels, taper=taper) for _ in groups]
        jobs = [(g, start) for g in range(len(groups)) for start in starts]
        buffer = np.empty((min(self.batch_size, len(jobs)), n_bins, self.size, self.n_channels), dtype=np.float32)
        for batch_jobs in batches(jobs, self.batch_size):
            mix_windows = buffer[: len(batch_jobs)]
            for window, (g, start) in zip(mix_windows, batch_jobs):
                valid = min(self.size, n_frames - start)
                window[:, :valid] = layouts[g][:, start : start + valid]
                window[:, valid:] = 0.0
            x = np.asarray(self.transformer.prepare(mix_windows, stats=self.stats), dtype=np.float32)
            prediction = self._call_model(x)
            out = self.transformer.to_vocals_magnitude(prediction, mix_windows, stats=self.stats)
            for window, (g, start) in zip(out, batch_jobs):
                stitchers[g].add(window, start)
        if len(groups) == 1 and groups[0] == tuple(range(n_input)):
            return windows.from_model_layout(stitchers[0].result())  # channels-last memory, like mix_mag
        vocals_mag = np.zeros_like(mix_mag)
        counts = np.zeros(n_input, dtype=np.float32)
        for group, stitcher in zip(groups, stitchers):
            stitched = windows.from_model_layout(stitcher.result())
            for slot, channel in enumerate(group):
                vocals_mag[channel] += stitched[slot]
                counts[channel] += 1
        if np.any(counts > 1):
            vocals_mag /= counts[:, None, None]
        return vocals_mag

    def _call_model(self, x: np.ndarray) -> np.ndarray:
        """Run the model (a Keras model runs as one graph for every batch size: no padding needed)."""
        y = np.asarray(self._predict(x), dtype=np.float32)
        if y.shape != x.shape:
            raise ModelError(f"the model returned shape {y.shape} for input {x.shape}; expected the input's shape")
        return y

    def _wiener(self, vocals_mag: np.ndarray, mix_mag: np.ndarray, spec: np.ndarray) -> np.ndarray:
        from unmix.dsp.wiener import wiener

        instrumental_mag = np.maximum(mix_mag - vocals_mag, 0.0)
        vocals_spec = np.empty_like(spec)
        # Covariances are estimated within one model group (a stereo pair), never across 5.1.
        for group in channel_groups(spec.shape[0], self.n_channels):
            channels = sorted(set(group))
            vocals_spec[channels] = wiener(vocals_mag[channels], instrumental_mag[channels], spec[channels], iterations=self.wiener_iterations)[0]
        return vocals_spec


def _stats_file(path: Path) -> Any:
    if not path.is_file():
        return None
    from unmix.dsp.normalizers import ZmuvStats

    return ZmuvStats.from_json(path)
