"""``train(config)``: configuration → collection → split → pipeline → model → fit → run folder.

Resume continues a stopped or killed run from its last backup (Keras
BackupAndRestore): epoch numbering continues and results.csv is appended, with
rows of epochs that were lost in the kill removed so the file stays continuous
(``RunFolder.keep_results_until``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import keras
import numpy as np

from unmix import log
from unmix.callbacks.accuracy import accuracy_callback, separator_for_training
from unmix.callbacks.backup import check_backup
from unmix.callbacks.final_model import save_final_model
from unmix.callbacks.live_plots import SpectrogramPlot, plot_model_diagram
from unmix.config import Config
from unmix.config.schema import TrainingOptions
from unmix.dsp.normalizers import ZmuvStats
from unmix.dsp.stft import StftOptions
from unmix.errors import ConfigurationError, ModelError, TrainingError, first_line
from unmix.models.registry import build_model, load_matching_weights
from unmix.pipeline.generator import WindowDataset
from unmix.pipeline.window_items import fixed_window
from unmix.pipeline.stats import compute_zmuv_stats
from unmix.pipeline.representations import get_representation
from unmix.progress import end_open_line_on_error
from unmix.runfolder import RunFolder, start_run
from unmix.training.callback_list import build_callbacks
from unmix.training.checks import check_configuration, high_band_edge
from unmix.training.full_disk import stop_on_full_disk
from unmix.data.collection import PreparedSplit, cache_folder, prepare_collection
from unmix.data.lock import Busy, exclusive
from unmix.data.songs import MIXTURE_GAINS
from unmix.training.distribute import adapt_to_strategy, check_distribution, configure_precision, is_chief, make_strategy, worker_working_directory
from unmix.training.losses import BandWeightedLoss, TeacherMixedLoss, get_loss, loss_packs_mix
from unmix.training.metrics import get_metric
from unmix.training.optimizers import build_optimizer
from unmix.training.teacher import teacher_bins, teacher_songs

logger = logging.getLogger(__name__)


def stft_options(config: Config) -> StftOptions:
    return StftOptions.from_section(config.transformation)


class RepeatTargets(keras.utils.PyDataset):
    """Give every output of a multi-output model (intermediate supervision) the same target."""

    def __init__(self, dataset: keras.utils.PyDataset, n_outputs: int) -> None:
        super().__init__()
        self.dataset = dataset
        self.n_outputs = n_outputs

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        x, y = self.dataset[index]
        return x, tuple([y] * self.n_outputs)

    def on_epoch_end(self) -> None:
        self.dataset.on_epoch_end()


def compiled_model(
    training: TrainingOptions, *, input_shape: tuple[int, int, int], output: str, n_targets: int = 1, band_edge: int | None = None,
) -> keras.Model:  # fmt: skip
    """Build the configured model and compile it with its loss (on every output), metrics and optimizer.

    ``band_edge``: the first bin that ``training.high_band_loss`` weighs (``high_band_edge``).
    """
    model = build_model(training.model.name, training.model.options, input_shape=input_shape, output=output, n_targets=n_targets)
    n_outputs = len(model.outputs)
    band_weight = training.high_band_loss.weight
    if training.teacher.name:  # targets packed as [true, teacher]: the exact mixture of the two terms
        loss = TeacherMixedLoss(training.loss_function, training.teacher.weight, edge=band_edge, band_weight=band_weight)
    elif band_edge is not None and band_weight != 1.0:
        loss = BandWeightedLoss(training.loss_function, band_edge, band_weight)
    else:
        loss = get_loss(training.loss_function)
    metrics = [get_metric(name) for name in training.metrics]
    if isinstance(model.output, dict):  # one output per stem: one loss (and the metrics) per stem
        losses, output_metrics = {stem: loss for stem in model.output}, {stem: metrics for stem in model.output}
    elif n_outputs > 1:  # intermediate supervision: the loss on every module, the metrics on the final output
        losses, output_metrics = [loss] * n_outputs, [[]] * (n_outputs - 1) + [metrics]
    else:
        losses, output_metrics = loss, metrics
    model.compile(optimizer=build_optimizer(training.optimizer), loss=losses, metrics=output_metrics, jit_compile=training.jit_compile)
    return model


def pretrained_weights(name: str) -> Path:
    """``training.model.pretrained``: the best weights of a built-in model or a run folder, or a weights file.

    Raises:
        ModelError: neither a built-in model (installed) nor an existing file.
    """
    from unmix.pretrained import catalog

    folder = _pretrained_folder(name)
    if folder is not None:
        return folder.best_weights()
    path = Path(name).expanduser()
    if not path.is_file():
        raise ModelError(f"training.model.pretrained: {name!r} is neither a built-in model ({', '.join(catalog.names())}) nor a run folder or weights file")
    return path


def _pretrained_folder(name: str) -> RunFolder | None:
    """The run folder ``training.model.pretrained`` names (a built-in model or a folder), else None (a weights file)."""
    from unmix.pretrained import catalog

    if name in catalog.names():
        return RunFolder.open(catalog.folder(name))
    path = Path(name).expanduser()
    return RunFolder.open(path) if path.is_dir() else None


def _start_from_part_of(model: keras.Model, name: str, config: Config) -> bool:
    """Start ``model`` from the layers of the same name of a built-in model or run folder with other options.

    True when it did: the pretrained model is the same kind of model with other options (the
    vocals U-Net alone, say). False leaves it to the plain weights load (the same options, or
    a weights file).
    """
    from unmix.config import load_resolved
    from unmix.models.registry import copy_layers_by_name, options_class, options_from_mapping

    folder = _pretrained_folder(name)
    if folder is None:
        return False
    theirs = load_resolved(folder.configuration)
    ours = config.training.model
    if theirs.training.model.name != ours.name:
        return False
    kind = options_class(ours.name)
    if options_from_mapping(kind, theirs.training.model.options) == options_from_mapping(kind, ours.options):
        return False
    stft = stft_options(theirs)
    representation = get_representation(theirs.transformation.name, options=theirs.transformation.options, stft=stft)
    source = build_model(
        theirs.training.model.name, theirs.training.model.options,
        input_shape=representation.input_shape(theirs.collection.n_channels), output=representation.model_output,
        n_targets=len(representation.targets),
    )  # fmt: skip
    weights = folder.best_weights()
    _load_initial_weights(source, weights, theirs, source=f"training.model.pretrained {name!r}")
    copied = copy_layers_by_name(model, source, target_name=f"configuration {config.path}", source_name=f"pretrained model {name!r}")
    logger.info("initialised %d layers from %s by name (%s)", copied, name, weights)
    return True


def _load_initial_weights(model: keras.Model, weights: Path, config: Config, *, source: str) -> None:
    """The weights a run starts from; weights of another model or size are one line naming where they were given."""
    model_section = config.training.model
    try:
        load_matching_weights(
            model, weights, model_name=model_section.name, target=f"configuration {config.path}",
            advice="start from weights of the same model and options, or set training.model.options to theirs",
        )  # fmt: skip
    except ModelError as error:
        raise ModelError(f"{source}: {error}") from None
    except OSError as error:  # not an h5 file
        raise ModelError(f"{source}: cannot read weights {weights}: {first_line(error)}; give a .weights.h5 file") from None


def train(
    config: Config, *, working_directory: Path, resume: Path | None = None, initial_weights: Path | None = None,
    prepare_only: bool = False, quiet: bool = False,
) -> RunFolder | None:  # fmt: skip
    """Train the configured model and fill its run folder.

    The configuration is checked in full (``check_configuration``) and a resume
    backup is checked before the run folder is created or touched.

    Args:
        config: the loaded configuration (a run's own configuration on resume).
        working_directory: receives ``runs/`` and ``cache/``.
        resume: a run folder to continue.
        initial_weights: weights to start from (``--weights``).
        prepare_only: only decode and cache the collection.
        quiet: no progress bars (Keras' nor the preparation's) and no callback chatter.

    Returns:
        The run folder (``None`` with ``prepare_only``).

    Raises:
        ConfigurationError: the configuration is invalid, or the run folder cannot be created.
        TrainingError: the resume backup is unreadable, the loss became NaN, or the disk is full.
    """
    check_configuration(config)
    if prepare_only:
        _prepare(config, working_directory=working_directory, quiet=quiet)
        logger.info("collection prepared in %s", cache_folder(config.environment, config.collection, working_directory=working_directory))
        return None
    check_distribution(config.training.distribution)
    names = RunFolder.names(config.environment, config.training.callbacks)
    fitting = threading.Event()  # set by _train when model.fit starts: from then on the run folder holds results
    with contextlib.ExitStack() as held:
        if resume is not None:
            run = RunFolder.open(resume, **names)
            check_backup(run)
            held.enter_context(_trained_here(run, distribution=config.training.distribution))
            run.log_handler = log.add_log_file(run.logs)
            logger.info("resuming %s", run.path)
        else:
            working_directory = worker_working_directory(working_directory, distribution=config.training.distribution)
            run = start_run(
                config.environment, callbacks=config.training.callbacks, name=config.name, configuration=config.to_json(),
                source=config.path, collection_folder=config.collection.folder, environ=config.environ, working_directory=working_directory,
            )  # fmt: skip
            held.push(_removed_unless_fitted(run, fitting))  # pushed before the lock: runs after it is released
            held.enter_context(_trained_here(run, distribution=config.training.distribution))
            logger.info("run folder: %s", run.path)
        try:
            with stop_on_full_disk(run):
                _train(
                    config, run, working_directory=working_directory, resumed=resume is not None, initial_weights=initial_weights, quiet=quiet,
                    fitting=fitting,
                )  # fmt: skip
        finally:
            if run.log_handler is not None:
                log.remove_handler(run.log_handler)
    return run


def _removed_unless_fitted(run: RunFolder, fitting: threading.Event) -> Callable[..., bool]:
    """An exit hook that removes a new run's folder when training fails before ``model.fit`` starts.

    Such a folder holds only what this process wrote a moment ago (configuration, environment,
    the log of the failure): a bad ``--initial_weights`` file, a collection with no decodable
    song or a Ctrl-C while preparing left one orphan folder per attempt. The error line says
    what went wrong; a run that reached ``fit`` keeps its folder, whatever happens next.
    """

    def hook(kind: type[BaseException] | None, error: BaseException | None, trace: object) -> bool:
        if kind is not None and not fitting.is_set():
            shutil.rmtree(run.path, ignore_errors=True)
            logger.info("removed %s: the run failed before its first epoch", run.path)
        return False  # the error goes on

    return hook


@contextlib.contextmanager
def _trained_here(run: RunFolder, *, distribution: str) -> Iterator[None]:
    """Hold the run's ``train.lock`` while this process trains it: two ``--resume`` at once duplicated its results.

    The workers of a multi-worker run resume the chief's folder together, so only the chief holds it.

    Raises:
        TrainingError: another live process trains the run (the line names it).
    """
    if check_distribution(distribution) == "multi_worker" and not is_chief():
        yield
        return
    holder = f"train.py (pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')})"
    try:
        with exclusive(run.train_lock, holder=holder):
            yield
    except Busy as busy:
        raise TrainingError(f"run folder {run.path} is being trained by {busy.holder}; let it finish or stop it, then --resume {run.path}") from None


def _prepare(config: Config, *, working_directory: Path, quiet: bool):
    """The collection section's songs and accompaniments, cached under the environment's cache folder with ``training.workers``."""
    cache = cache_folder(config.environment, config.collection, working_directory=working_directory)
    return prepare_collection(config.collection, cache_dir=cache, workers=config.training.workers or None, progress=not quiet, accompaniments=True)


def _train(
    config: Config, run: RunFolder, *, working_directory: Path, resumed: bool, initial_weights: Path | None, quiet: bool, fitting: threading.Event,
) -> None:  # fmt: skip
    training = config.training
    strategy = make_strategy(training.distribution)  # first: a multi-worker strategy must precede any TF op
    prepared = _prepare(config, working_directory=working_directory, quiet=quiet)
    keras.utils.set_random_seed(training.seed)
    configure_precision(mixed_precision=training.mixed_precision)
    stft = stft_options(config)
    representation = get_representation(config.transformation.name, options=config.transformation.options, stft=stft)
    packs_mix = loss_packs_mix(training.loss_function)
    mix_gain = MIXTURE_GAINS[config.collection.mixture]
    stats = _zmuv_stats(representation, prepared, run, stft=stft, n_channels=config.collection.n_channels, mix_gain=mix_gain)
    songs, teachers, bins = prepared.songs("training"), None, None
    if training.teacher.name:  # validation repeats its true targets: val_loss stays the true-stem loss
        songs, teachers = teacher_songs(config, prepared, working_directory=working_directory)
        bins = teacher_bins(config, n_fft=stft.n_fft)
        logger.info("teacher targets: %s", "every bin" if bins is None else f"the lowest {bins} bins, the true stems above")
    datasets = _datasets(
        training, songs, prepared.songs("validation"), representation, teachers=teachers, teacher_bins=bins, stft=stft, packs_mix=packs_mix, stats=stats,
        accompaniments=prepared.accompaniments, mix_gain=mix_gain,
    )
    input_shape = representation.input_shape(config.collection.n_channels)
    band_edge = high_band_edge(config, n_fft=stft.n_fft, n_bins=input_shape[0])
    with strategy.scope():
        model = compiled_model(
            training, input_shape=input_shape, output=representation.model_output, n_targets=len(representation.targets), band_edge=band_edge,
        )  # fmt: skip
        n_outputs = len(model.outputs)
    adapt_to_strategy(model, strategy)
    logger.info("model %s: %s parameters, %d output(s), input %s", training.model.name, f"{model.count_params():,}", n_outputs, representation.input_shape(config.collection.n_channels))
    source = "--initial_weights"
    if initial_weights is None and training.model.pretrained and not resumed:
        initial_weights = pretrained_weights(training.model.pretrained)
        source = f"training.model.pretrained in {config.origin('training.model.pretrained')}"
        if _start_from_part_of(model, training.model.pretrained, config):
            initial_weights = None
    if initial_weights is not None:
        _load_initial_weights(model, Path(initial_weights), config, source=source)
        logger.info("initialised from %s", initial_weights)
    if not resumed:
        plot_model_diagram(model, run.plots / "model.png")
    run.update_environment(devices=[d.name for d in __import__("tensorflow").config.list_physical_devices()])
    history = run.keep_results_until(run.backup_epoch())  # check_backup has made sure the backup reads
    train_data, validation_data = datasets
    if n_outputs > 1 and not isinstance(model.output, dict):  # named outputs get their own targets
        train_data = RepeatTargets(train_data, n_outputs)
        validation_data = RepeatTargets(validation_data, n_outputs) if validation_data is not None else None
    extra = []
    if validation_data is not None:
        x, _, mix_mag, vocals_mag, reference = fixed_window(
            prepared.songs("validation"), representation=representation, stft=stft, packs_mix=packs_mix, stats=stats, mix_gain=mix_gain
        )

        def to_vocals(prediction, mix):
            return representation.to_vocals_magnitude(representation.split_targets(prediction)["vocals"], mix, stats=stats, reference=reference)

        extra.append(SpectrogramPlot(run.plots, window=(x, mix_mag, vocals_mag), to_vocals=to_vocals, every=5))
    extra.append(accuracy_callback(run, collection=config.collection, prepared=prepared, separator_factory=separator_for_training(config, stats=stats)))
    callbacks = build_callbacks(
        run,
        callbacks=training.callbacks,
        monitor_fallback="val_loss" if validation_data is not None else "loss",
        total_epochs=training.epoch.count,
        history=history,
        first_epoch=1,
        extra=extra,
        quiet=quiet,
    )
    if validation_data is None:
        logger.warning("no validation songs: checkpoints and early stopping monitor the training loss")
    fitting.set()
    with end_open_line_on_error():  # an error line starts on a line of its own, not after Keras' bar
        result = model.fit(train_data, validation_data=validation_data, epochs=training.epoch.count, callbacks=callbacks, verbose=0 if quiet else training.verbose)
    losses = result.history.get("loss", [])
    diverged = bool(losses) and not math.isfinite(losses[-1])
    if diverged:
        _restore_last_good(model, run)
    save_final_model(model, run, weights_file=config.environment.weights.file)
    if diverged:
        raise TrainingError(f"the loss became NaN in epoch {len(losses)}: training stopped; the last good weights are kept in {run.path}")
    logger.info("training finished: %s", run.path)


def _datasets(training: TrainingOptions, songs, validation_songs, representation, *, teachers, teacher_bins, stft: StftOptions, packs_mix: bool, stats, accompaniments=(), mix_gain: float = 1.0):
    """The training and validation datasets (``training`` section); ``teachers``: the teacher's separations, or None;
    ``teacher_bins``: how many low bins take the teacher's target (None: all); ``accompaniments``: training only;
    ``mix_gain``: ``collection.mixture``'s factor. Validation windows are always the grid's (deterministic)."""
    augmentation = training.augmentation if training.augmentation.enabled else None
    common = dict(representation=representation, stft=stft, batch_size=training.batch_size, packs_mix=packs_mix, stats=stats, mix_gain=mix_gain)
    if teachers is not None:
        common["teacher_targets"] = True
    train_data = WindowDataset(
        songs,
        teachers=teachers,
        teacher_bins=teacher_bins,
        accompaniments=accompaniments,
        limit_items_per_song=training.limit_items_per_song,
        shuffle=training.epoch.shuffle,
        seed=training.seed,
        augmentation=augmentation,
        steps_per_epoch=training.steps_per_epoch,
        sampling=training.sampling,
        **common,
    )
    validation_data = None
    if validation_songs:
        validation_data = WindowDataset(validation_songs, limit_items_per_song=training.limit_items_per_song, shuffle=False, seed=training.seed, **common)
    return train_data, validation_data


def _zmuv_stats(representation, prepared: PreparedSplit, run: RunFolder, *, stft: StftOptions, n_channels: int, mix_gain: float) -> ZmuvStats | None:
    if representation.normalizer_name != "zmuv":
        return None
    if run.zmuv_stats.is_file():
        return ZmuvStats.from_json(run.zmuv_stats)
    stats = compute_zmuv_stats(prepared.songs("training"), stft=stft, n_channels=n_channels, mix_gain=mix_gain)
    stats.to_json(run.zmuv_stats)
    return stats


def _restore_last_good(model: keras.Model, run: RunFolder) -> None:
    try:
        best = run.best_weights()
    except Exception:
        logger.error("the loss became NaN and no earlier good weights exist: the final weights are not usable")
        return
    model.load_weights(best)
    logger.warning("the loss became NaN: training stopped; restored the last good weights %s", best.name)
    if np.isnan(np.sum([np.sum(w) for w in model.get_weights()])):
        raise ConfigurationError("weights are NaN even after restoring: lower training.optimizer.lr")
