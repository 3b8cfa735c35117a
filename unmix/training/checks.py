"""``check_configuration``: every check a configuration gets before a run folder exists.

One function, run by ``train`` before it creates anything and by ``train.py
--check``, so the two can never disagree. It runs the TensorFlow-free range and
template rules first (``unmix.config.validate``), then looks every name up in
the registry that will use it: model (and its options), loss, metrics,
optimizer (and its options), distribution strategy, representation, normaliser, the
teacher, the high-band loss weight, the accompaniment folders, and the STFT parameters. Before, an unknown name failed only once the run folder
existed, leaving it behind. Each message names the key and the file that set it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from pathlib import Path

from unmix.config import Config
from unmix.config.validate import check_ranges
from unmix.data.songs import configured_folder
from unmix.dsp.stft import StftOptions
from unmix.errors import ConfigurationError
from unmix.models import check_targets, options_class, options_from_mapping
from unmix.pipeline.representations import get_representation
from unmix.training.distribute import check_distribution
from unmix.training.losses import check_band_weightable, loss_packs_mix
from unmix.training.metrics import get_metric
from unmix.training.optimizers import optimizer_arguments

# A registry's message starts with the key it is about: "training.model.name: unknown model ...".
_LEADING_KEY = re.compile(r"^((?:environment|collection|training|transformation)(?:\.[A-Za-z_][A-Za-z_0-9]*)*)")


def check_configuration(config: Config) -> None:
    """Check ranges, templates and every name of ``config``; build nothing, write nothing.

    Raises:
        ConfigurationError: the first problem, in one line naming the key, the file
            that set it and what is allowed.
    """
    check_ranges(config)
    training, transformation = config.training, config.transformation
    stft = _stft(config)
    representation = _checked(config, "transformation.name", lambda: get_representation(transformation.name, options=transformation.options, stft=stft))
    _checked(config, "training.model.name", lambda: options_from_mapping(options_class(training.model.name), training.model.options, origins=config.origins))
    _checked(config, "transformation.options.targets", lambda: check_targets(training.model.name, len(representation.targets)))
    packs_mix = _checked(config, "training.loss_function", lambda: loss_packs_mix(training.loss_function))
    for name in training.metrics:
        _checked(config, "training.metrics", lambda: get_metric(name))
    _checked(config, "training.optimizer", lambda: optimizer_arguments(training.optimizer))
    _checked(config, "training.distribution", lambda: check_distribution(training.distribution))
    if packs_mix and representation.output_kind != "mask":
        key = "training.loss_function"
        raise ConfigurationError(
            f"{key} in {config.origin(key)}: {training.loss_function!r} multiplies the model output by the mix "
            f"(a mask loss), but transformation.name {transformation.name!r} (in {config.origin('transformation.name')}) makes the model output a "
            f"{representation.output_kind}; use a loss such as mean_squared_error, or transformation.name "
            f"'train_window_predict_mask'"
        )
    if training.teacher.name:
        _check_teacher(config, representation)
    high_band_edge(config, n_fft=stft.n_fft, n_bins=representation.input_shape(config.collection.n_channels)[0])
    _check_accompaniments(config)


def high_band_edge(config: Config, *, n_fft: int, n_bins: int) -> int | None:
    """The first bin whose centre is at or above ``training.high_band_loss.frequency`` (11025 Hz at 4096/44.1 kHz: bin 1024); None when its weight is 1.

    Raises:
        ConfigurationError: the frequency leaves no bin of the model's output below or above it.
    """
    band = config.training.high_band_loss
    if band.weight == 1.0:
        return None
    edge = math.ceil(band.frequency * n_fft / config.collection.sample_rate)
    if not 0 < edge < n_bins:
        top = (n_bins - 1) * config.collection.sample_rate / n_fft
        raise ConfigurationError(
            f"training.high_band_loss.frequency in {config.origin('training.high_band_loss.frequency')}: {band.frequency:g} Hz leaves no "
            f"bin of the model's {n_bins} (0-{top:.0f} Hz) on one side; choose a frequency inside that band, or set its weight to 1"
        )
    check_band_weightable(config.training.loss_function)
    return edge


def _check_accompaniments(config: Config) -> None:
    """``collection.accompaniments``: each folder exists (a relative one once the collection folder is known)."""
    key = "collection.accompaniments"
    for entry in config.collection.accompaniments:
        folder = configured_folder(entry, config.collection.folder)
        if folder is None:
            continue  # read from the collection folder, which train.py requires before it prepares
        if not folder.is_dir():
            raise ConfigurationError(f"{key} in {config.origin(key)}: folder {folder} not found (from {entry!r}); expected a folder of instrumental songs")


def _check_teacher(config: Config, representation) -> None:
    """``training.teacher.name``: a built-in model or a run folder, with a representation of one target."""
    from unmix.pretrained import catalog
    from unmix.runfolder import RunFolder

    key, name = "training.teacher.name", config.training.teacher.name
    if name not in catalog.names() and not RunFolder(Path(name).expanduser()).configuration.is_file():
        raise ConfigurationError(
            f"{key} in {config.origin(key)}: received {name!r}; expected a built-in model "
            f"({', '.join(catalog.names())}) or a run folder (with a configuration.jsonc)"
        )
    if representation.name == "stems":
        raise ConfigurationError(
            f"{key} in {config.origin(key)}: a teacher needs one target per window, but transformation.name 'stems' "
            f"(in {config.origin('transformation.name')}) makes one per stem; use 'train_window_predict_mask'"
        )


def _stft(config: Config) -> StftOptions:
    """The STFT options, each parameter checked on its own so the message names its key."""
    try:
        return StftOptions.from_section(config.transformation)
    except ConfigurationError as error:  # "Received: hop_length=…": the JSONC key is in the message
        key = next(f"transformation.{name}" for name in ("fft_window", "hop_length", "window") if f"Received: {name}=" in str(error))
        raise ConfigurationError(_with_file(config, key, str(error))) from None


def _checked(config: Config, key: str, check: Callable[[], object]):
    """``check()``, with the file that set the key added to a ConfigurationError's message."""
    try:
        return check()
    except ConfigurationError as error:
        raise ConfigurationError(_with_file(config, key, str(error))) from None


def _with_file(config: Config, key: str, message: str) -> str:
    match = _LEADING_KEY.match(message)
    if match:  # the registry named a more precise key: name its file
        named = match.group(1)
        rest = message[match.end() :]
        if rest.startswith(" in "):  # it names its file already
            return message
        return f"{named} in {config.origin(named)}: {rest.removeprefix(':').lstrip()}"
    return f"{key} in {config.origin(key)}: {message}"
