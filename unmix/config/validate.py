"""The range and template checks of a loaded configuration: TensorFlow-free, before anything exists.

The schema checks types only; a value of the right type can still be nonsense
(``batch_size: 0``, ``validation_ratio: 1.5``) and used to fail late: after the
run folder was created, after two epochs (``overlap: 1.5``), or never
(``epoch.count: -3`` trained nothing and exited 0). Each rule here names the key,
the file that set it, what was received and what is allowed. The checks that need
a registry (model, loss, metric, optimizer, representation, normaliser names) are made
by ``unmix.training.checks.check_configuration``, which calls ``check_ranges`` first:
that one function is what training and ``train.py --check`` run.
"""

from __future__ import annotations

import math
import string
from pathlib import PurePosixPath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from unmix.config import Config
from unmix.errors import ConfigurationError, did_you_mean


@dataclass(frozen=True)
class Rule:
    """One key's allowed values: ``accepts(value)`` and the words for them."""

    key: str
    accepts: Callable[[Any], bool]
    allowed: str


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def at_least(low: float) -> Callable[[Any], bool]:
    return lambda v: _number(v) and v >= low


def above(low: float) -> Callable[[Any], bool]:
    return lambda v: _number(v) and v > low


def fraction(*, include_one: bool) -> Callable[[Any], bool]:
    return lambda v: _number(v) and 0 <= v and (v <= 1 if include_one else v < 1)


def between(low: float, high: float, *, above_low: bool = False) -> Callable[[Any], bool]:
    """``low <= v <= high`` (``low < v`` with ``above_low``)."""
    return lambda v: _number(v) and (v > low if above_low else v >= low) and v <= high


def even_between(low: int, high: int) -> Callable[[Any], bool]:
    return lambda v: _number(v) and v == int(v) and int(v) % 2 == 0 and low <= v <= high


# Upper bounds: values past these cannot be meant. A batch of 1e29 windows or a 2^30-sample STFT
# died with a traceback after the run folder existed; a sample rate of 1 Hz or a billion Wiener
# iterations crawled for minutes. Each bound sits far above what any shipped configuration uses.
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 384000  # telephone speech .. the highest studio rate
MAX_FFT_WINDOW = 32768  # 0.74 s at 44.1 kHz; the shipped models use 4096 at most
MAX_BATCH = 4096  # windows per step or per model call
MAX_WINDOW_FRAMES = 4096  # STFT frames in one model window (the shipped ones use 512 at most)
MAX_WORKERS = 256  # processes or threads
MAX_BLOCK_SECONDS = 3600  # an hour of audio per separation block: memory of a few GB per block beyond

# training.model.options.kernel_initializer of the hourglass (its builder checks against this too).
KERNEL_INITIALIZERS = ("glorot_uniform", "lecun_normal", "he_normal")

RULES = (
    Rule("collection.sample_rate", between(MIN_SAMPLE_RATE, MAX_SAMPLE_RATE), f"a whole number of Hz from {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} (e.g. 44100)"),
    Rule("collection.song_limit", at_least(0), "0 (all songs), a fraction in (0, 1] or a song count > 1"),
    Rule("collection.validation_ratio", fraction(include_one=False), "a fraction >= 0 and < 1 (e.g. 0.2)"),
    Rule("collection.test_data_count", at_least(0), "a whole number of songs >= 0"),
    Rule("collection.test_frequency", at_least(0), "a whole number of epochs >= 0 (0: at the end only)"),
    Rule("collection.test_save_count", at_least(0), "a whole number of songs >= 0"),
    Rule("collection.channel_split.vocals_channel", at_least(0), "a channel index >= 0"),
    Rule("collection.channel_split.instrumental_channel", at_least(0), "a channel index >= 0"),
    Rule("collection.mixture", lambda v: v in ("sum", "mean"), '"sum" (vocals + instrumental) or "mean" (their mean, e.g. a channel-split file\'s mono downmix)'),
    Rule("training.sampling", lambda v: v in ("grid", "random"), '"grid" (every window) or "random" (a random crop per song and pass)'),
    Rule("training.batch_size", between(1, MAX_BATCH), f"a whole number >= 1 and <= {MAX_BATCH}"),
    Rule("training.epoch.count", between(1, 1_000_000), "a whole number of epochs >= 1 and <= 1000000"),
    Rule("training.steps_per_epoch", between(0, 10_000_000), "a whole number >= 0 and <= 10000000 (0: one pass over the windows)"),
    Rule("training.limit_items_per_song", at_least(0), "a whole number >= 0 (0: every window)"),
    Rule("training.workers", between(0, MAX_WORKERS), f"a whole number from 0 (one per CPU core) to {MAX_WORKERS}"),
    Rule("training.verbose", lambda v: v in (0, 1, 2), "0, 1 or 2"),
    Rule("training.optimizer.lr", between(0, 10, above_low=True), "a number > 0 and <= 10 (e.g. 0.001)"),
    Rule("training.optimizer.learning_rate", between(0, 10, above_low=True), "a number > 0 and <= 10 (e.g. 0.001)"),
    Rule("training.optimizer.clipnorm", above(0), "a number > 0"),
    Rule("training.optimizer.decay_steps", lambda v: at_least(1)(v) and v == int(v), "a whole number of steps >= 1 (e.g. 12000)"),
    Rule("training.optimizer.decay_rate", lambda v: _number(v) and 0 < v <= 1, "a factor > 0 and <= 1 (e.g. 0.2)"),
    Rule("training.model.options.kernel_initializer", lambda v: v in KERNEL_INITIALIZERS, f"one of {', '.join(KERNEL_INITIALIZERS)}"),
    Rule("training.model.options.bins", lambda v: at_least(0)(v) and v == int(v), "0 (every bin) or the number of lowest bins the network sees (e.g. 512)"),
    Rule("training.augmentation.remix_probability", fraction(include_one=True), "a probability in [0, 1]"),
    Rule("training.augmentation.silent_keep_rate", fraction(include_one=True), "a probability in [0, 1]"),
    Rule("training.augmentation.gain_min", between(0, 100), "a gain >= 0 and <= 100"),
    Rule("training.augmentation.gain_max", between(0, 100), "a gain >= 0 and <= 100, and >= gain_min"),
    Rule("training.teacher.weight", fraction(include_one=True), "a weight in [0, 1] of the teacher term (e.g. 0.5)"),
    Rule("training.teacher.max_frequency", lambda v: v is None or above(0)(v), "null (the band the teacher separates) or a frequency in Hz > 0 (e.g. 11025)"),
    Rule("training.high_band_loss.frequency", above(0), "a frequency in Hz > 0 (e.g. 11025)"),
    Rule("training.high_band_loss.weight", between(0, 1000, above_low=True), "a weight > 0 and <= 1000 of each bin above the frequency (1: every bin alike)"),
    Rule("training.callbacks.early_stopping.patience", at_least(0), "a whole number of epochs >= 0"),
    Rule("training.callbacks.early_stopping.min_delta", at_least(0), "a number >= 0"),
    Rule("training.callbacks.reduce_learningrate.factor", lambda v: _number(v) and 0 < v < 1, "a number > 0 and < 1"),
    Rule("training.callbacks.reduce_learningrate.patience", at_least(0), "a whole number of epochs >= 0"),
    Rule("training.callbacks.reduce_learningrate.min_learningrate", at_least(0), "a number >= 0"),
    Rule("transformation.options.targets", lambda v: isinstance(v, (list, tuple)) and 0 < len(v) == len(set(v)) and set(v) <= {"vocals", "instrumental"}, 'a list of distinct stems, "vocals" and/or "instrumental" (e.g. ["vocals"])'),
    Rule("transformation.options.mask_activation", lambda v: v in ("sigmoid", "linear"), '"sigmoid" (masks in [0, 1]) or "linear" (unbounded, Park et al. 2018)'),
    Rule("transformation.options.normalizer_scope", lambda v: v in ("window", "song"), '"window" (each window\'s mix) or "song" (the whole song\'s, Park et al. 2018)'),
    Rule("transformation.overlap", fraction(include_one=False), "a fraction of a window >= 0 and < 1 (e.g. 0.5)"),
    Rule("transformation.fft_window", even_between(16, MAX_FFT_WINDOW), f"an even integer of samples from 16 to {MAX_FFT_WINDOW} (e.g. 4096)"),
    Rule("transformation.options.size", between(1, MAX_WINDOW_FRAMES), f"a whole number of STFT frames >= 1 and <= {MAX_WINDOW_FRAMES}"),
    Rule("transformation.wiener_iterations", between(-1, 100), "-1 (off), 0 (soft masks) or a count from 1 to 100"),
    Rule("transformation.mask_exponent", between(0, 10, above_low=True), "a number > 0 and <= 10 (e.g. 2.0)"),
    Rule("transformation.combination", lambda v: v in ("ratio", "direct"), '"ratio" (ratio masks; the instrumental is the input minus the rest) or "direct" (each target its own estimate)'),
    Rule("transformation.stitching", lambda v: v in ("taper", "middle"), '"taper" (a Hann blend of overlapping windows) or "middle" (each frame from the window it is central in)'),
    Rule("transformation.precision", lambda value: value in ("float32", "bfloat16", "auto"), "float32, bfloat16 or auto"),
    Rule("transformation.batch_size", between(0, MAX_BATCH), f"0 (4 x training.batch_size) or a window count from 1 to {MAX_BATCH}"),
    Rule("transformation.workers", between(1, MAX_WORKERS), f"a thread count from 1 to {MAX_WORKERS} (e.g. 2)"),
    Rule("transformation.block_seconds", between(0, MAX_BLOCK_SECONDS, above_low=True), f"seconds of audio per block, > 0 and <= {MAX_BLOCK_SECONDS} (e.g. 30)"),
)
_ABSENT = object()
MONITORED = ("model_checkpoint", "early_stopping", "reduce_learningrate")


def check_ranges(config: Config) -> None:
    """Check every value of ``config`` that has a range, a template or a suffix.

    Raises:
        ConfigurationError: the first value outside what is allowed, e.g.
            ``"training.batch_size in …/x.jsonc: received 0; expected a whole number >= 1"``.
    """
    for rule in RULES:
        value = config.get(rule.key, _ABSENT)
        if value is not _ABSENT and not rule.accepts(value):
            raise out_of_range(config, rule.key, value, rule.allowed)
    augmentation = config.training.augmentation
    if augmentation.gain_max < augmentation.gain_min:
        raise out_of_range(config, "training.augmentation.gain_max", augmentation.gain_max, f"a gain >= gain_min={augmentation.gain_min}")
    limit = config.training.limit_items_per_song
    if config.training.sampling == "random" and limit:
        where = config.origin("training.limit_items_per_song")
        raise out_of_range(config, "training.sampling", "random", f'"grid" while training.limit_items_per_song is {limit} (in {where}); random sampling takes one crop per song and pass: set that limit to 0')
    if config.collection.unlabeled and not config.training.teacher.name:
        raise out_of_range(config, "collection.unlabeled", list(config.collection.unlabeled), "[] without training.teacher.name (a teacher labels songs without stems)")
    optimizer, reduce = config.training.optimizer, config.training.callbacks.get("reduce_learningrate")
    if "decay_steps" in optimizer and isinstance(reduce, Mapping) and reduce.get("enabled"):
        raise out_of_range(config, "training.optimizer.decay_steps", optimizer["decay_steps"], "no step decay while training.callbacks.reduce_learningrate is enabled (a schedule and a plateau both setting the rate)")
    weights_file = config.environment.weights.file
    if not weights_file.endswith(".weights.h5"):
        raise out_of_range(config, "environment.weights.file", weights_file, "a file name ending in .weights.h5")
    _check_names(config)
    _check_callbacks(config)


# Keys that name a file or folder inside the run folder: "../../x" would write outside it.
RUN_FOLDER_NAMES = (
    "environment.log_file", "environment.plot_folder", "environment.weights.folder", "environment.weights.file",
    "training.callbacks.csv_logger.file", "training.callbacks.tensorboard.folder",
)  # fmt: skip
# Keys whose value becomes part of a file or folder name, or is recorded in clear (environment.json,
# logs.txt): a secret read into one with env() would be on disk for anyone to list.
NAMING_KEYS = (
    *RUN_FOLDER_NAMES, "collection.name", "collection.folder", "environment.name", "environment.output_path", "environment.cache_folder",
)  # fmt: skip


def _check_names(config: Config) -> None:
    """Names stay inside the run folder, a collection's name is one file-name part, and no name is a secret."""
    for key in NAMING_KEYS:
        if key in config.secrets:
            raise ConfigurationError(
                f"{key} in {config.origin(key)}: its value is a secret, read from {config.secrets[key].name} with env(), "
                f"and would be written in clear into file names or logs; give {key} a plain value"
            )
    for key in RUN_FOLDER_NAMES:
        value = config.get(key, None)
        path = PurePosixPath(value.replace("\\", "/")) if isinstance(value, str) else None  # a Windows separator counts too
        if path is not None and (path.is_absolute() or ".." in path.parts):
            raise out_of_range(config, key, value, "a name inside the run folder: relative, without '..'")
    name = config.collection.name
    if name is not None and (name in ("", ".", "..") or any(separator in name for separator in "/\\")):
        raise out_of_range(config, "collection.name", name, "one name without '/' or '\\' (it names accuracy_<name>.csv and evaluation/<name>/), e.g. \"musdb18\"")


def out_of_range(config: Config, key: str, value: Any, allowed: str) -> ConfigurationError:
    """The one-line error for ``key``: where it was set, what was received, what is allowed."""
    return ConfigurationError(f"{key} in {config.origin(key)}: received {value!r}; expected {allowed}")


def log_keys(metrics: tuple[str, ...]) -> tuple[str, ...]:
    """The epoch-log keys every run has (``val_`` ones only with validation songs)."""
    base = ("loss", *metrics)
    return (*base, *(f"val_{name}" for name in base), "learning_rate")


def is_log_key(name: str, metrics: tuple[str, ...]) -> bool:
    """Whether ``name`` can be in the epoch logs: a known key, or one output's loss or metric.

    Models with several outputs add ``<output>_loss`` and ``<output>_<metric>``; their
    output names depend on the model, so only the ending is checked.
    """
    bare = name.removeprefix("val_")
    return name in log_keys(metrics) or bare.endswith("_loss") or any(bare.endswith(f"_{metric}") for metric in metrics)


# How each metric of unmix.training.metrics improves (kept here so --check needs no TensorFlow): "min", "max", or None for a statistic
# that has no better direction (mean_pred, max_pred watch a mask for collapse). The metric
# registry declares no direction itself; this is the one place until it does. Losses are "min".
METRIC_MODES: dict[str, str | None] = {"mean_pred": None, "max_pred": None}


def monitor_mode(monitor: str, mode: str = "auto", *, key: str = "training.callbacks.model_checkpoint") -> str:
    """``"min"`` or ``"max"``: which way the monitored log key improves.

    ``min`` and ``max`` are taken as given. ``auto`` is ``min`` for a loss (``loss``,
    ``val_loss``, ``vocals_loss``: every unmix loss is minimised) and, for a metric, the
    direction ``METRIC_MODES`` declares for it; never a guess from the name.

    Raises:
        ConfigurationError: an unknown mode, or ``auto`` for a key whose direction is not known.
    """
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise ConfigurationError(f"{key}.mode: Received: {mode!r}; expected \"auto\", \"min\" or \"max\".")
    name = monitor.removeprefix("val_")
    if name == "loss" or name.endswith("_loss"):
        return "min"
    declared = [direction for metric, direction in METRIC_MODES.items() if name == metric or name.endswith("_" + metric)]
    if declared and declared[0] is not None:
        return declared[0]
    what = "has no better direction (a statistic of the prediction)" if declared else "is neither a loss nor a metric of known direction"
    raise ConfigurationError(f"{key}.monitor: {monitor!r} {what}; monitor a loss (e.g. \"val_loss\"), or set {key}.mode to \"min\" or \"max\".")


def _check_callbacks(config: Config) -> None:
    metrics = tuple(config.training.metrics)
    callbacks = config.training.callbacks
    for name in MONITORED:
        section = callbacks.get(name)
        if not isinstance(section, Mapping) or "monitor" not in section:
            continue
        key, monitor = f"training.callbacks.{name}.monitor", section["monitor"]
        if not isinstance(monitor, str) or not is_log_key(monitor, metrics):
            raise ConfigurationError(
                f"{key} in {config.origin(key)}: unknown log key {monitor!r}; known: {', '.join(log_keys(metrics))}"
                f"{did_you_mean(monitor, log_keys(metrics))}"
            )
    for name in MONITORED:  # the direction each monitor improves in, as the callbacks will ask it
        section = callbacks.get(name)
        if isinstance(section, Mapping):
            key = f"training.callbacks.{name}"
            try:
                monitor_mode(str(section.get("monitor", "val_loss")), section.get("mode", "auto"), key=key)
            except ConfigurationError as error:  # "training.callbacks.X.mode: …": add the file that set it
                head, rest = str(error).split(": ", 1)
                raise ConfigurationError(f"{head} in {config.origin(head)}: {rest}") from None
    checkpoint = callbacks.get("model_checkpoint")
    if isinstance(checkpoint, Mapping) and "file" in checkpoint:
        check_checkpoint_template(config, checkpoint["file"], metrics=metrics)


def check_checkpoint_template(config: Config, template: Any, *, metrics: tuple[str, ...]) -> None:
    """A checkpoint file name such as ``callback_weights_{epoch:02d}_{val_loss:.4f}.weights.h5``.

    Its fields are ``epoch`` and epoch-log keys; a typo used to crash after the first
    epoch and lose that epoch's weights.

    Raises:
        ConfigurationError: not a string, not ending in ``.h5``, an unknown field, or a
            format that does not apply to a number.
    """
    key = "training.callbacks.model_checkpoint.file"
    allowed = ("epoch", *log_keys(metrics))
    if not isinstance(template, str) or not template.endswith(".h5"):
        raise out_of_range(config, key, template, "a file name ending in .weights.h5 (e.g. callback_weights_{epoch:02d}.weights.h5)")
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
    except ValueError as error:
        raise out_of_range(config, key, template, f"a valid format template ({error})") from None
    for field in fields:
        if field == "epoch" or (field and field.isidentifier() and is_log_key(field, metrics)):
            continue
        raise ConfigurationError(
            f"{key} in {config.origin(key)}: unknown field {{{field}}} in {template!r}; known: "
            f"{', '.join(allowed)}{did_you_mean(field, allowed)}"
        )
    try:
        template.format(epoch=1, **{field: 0.5 for field in fields if field != "epoch"})
    except (ValueError, TypeError) as error:
        raise out_of_range(config, key, template, f"formats that apply to numbers ({error})") from None
