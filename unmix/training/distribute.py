"""The tf.distribute strategy a configuration asks for (``training.distribution``).

- ``none``: TensorFlow's default strategy (one device).
- ``mirrored``: ``tf.distribute.MirroredStrategy`` over every visible GPU, or, with no GPU,
  over the logical CPU devices (one unless the process split its CPU with
  ``tf.config.set_logical_device_configuration`` before TensorFlow started, as the tests do).
- ``multi_worker``: ``tf.distribute.MultiWorkerMirroredStrategy``; the cluster and this
  process's task come from the ``TF_CONFIG`` environment variable, e.g.
  ``{"cluster": {"worker": ["host0:12345", "host1:12345"]}, "task": {"type": "worker", "index": 0}}``.
  Start ``train.py`` once per worker with the same configuration.
- ``auto``: ``mirrored`` when more than one GPU is visible, else ``none``.

Order matters: a multi-worker strategy must exist before TensorFlow's runtime starts (the
first op, or even listing logical devices, starts it; later it fails with "Collective ops
must be configured at program startup"), so the trainer creates the strategy before it
seeds or builds anything, and ``make_strategy`` looks only at physical devices on that path.

What each worker writes (multi-worker). Every worker runs the whole Keras loop, callbacks
included: the losses are all-reduced, so every worker sees the same values and makes the
same decisions (early stopping, learning-rate changes); a worker that skipped a callback
could leave the others waiting in a collective. Only the chief (task index 0, or the task
of type ``chief``) writes the run under the given working directory; every other worker
writes its own complete run and cache under ``<workingdir>/worker<index>/`` (see
``worker_working_directory``), so workers that share one working directory (a shared
filesystem, or local processes as in the tests) never write the same file. The chief's run
folder is the one to use; the others are kept for inspection and may be deleted. To resume
(``--resume``), give each worker its own run folder: the chief's, and
``<workingdir>/worker<index>/runs/…`` for the others.

Batches. ``training.batch_size`` is the global batch: each step splits it over all replicas
of all workers. Every worker builds the same ``keras.utils.PyDataset`` (same songs, same
seed) and ``tf.distribute`` shards it by data (a generator has no files to shard by): each
worker computes every batch and keeps its replicas' part, so the input pipeline's work is
repeated on every worker while the network's work is divided.

Three Keras 3.15 quirks with multi-replica strategies are worked around on the training
model by ``adapt_to_strategy``; see there.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from unmix.errors import ConfigurationError, unknown_name

logger = logging.getLogger(__name__)
NAMES = ("none", "mirrored", "multi_worker", "auto")


def check_distribution(name: str) -> str:
    """Return the lower-case strategy name, before anything starts.

    Raises:
        ConfigurationError: an unknown name (the known ones and a close match are listed).
    """
    key = str(name).lower()
    if key not in NAMES:
        raise unknown_name("training.distribution", "strategy", name, NAMES)
    return key


def make_strategy(name: str) -> tf.distribute.Strategy:
    """Return the strategy for ``training.distribution`` and log what it spans.

    Call it before any other TensorFlow work in the process (see the module docstring).

    Raises:
        ConfigurationError: an unknown name, or a ``TF_CONFIG`` that is not a cluster description.
    """
    key = check_distribution(name)
    if key == "auto":
        n_gpus = len(tf.config.list_physical_devices("GPU"))
        key = "mirrored" if n_gpus > 1 else "none"
        logger.info("distribution: auto chose %s (%d GPU(s) visible)", key, n_gpus)
    if key == "none":
        return tf.distribute.get_strategy()
    if key == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or [d.name for d in tf.config.list_logical_devices("CPU")]
        logger.info("distribution: mirrored over %d device(s): %s", len(devices), ", ".join(devices))
        return tf.distribute.MirroredStrategy(devices=devices)
    task_type, index, n_workers = worker_task()
    if n_workers <= 1:
        logger.warning("distribution: multi_worker without a cluster in TF_CONFIG: training as a single worker")
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    logger.info("distribution: multi-worker, %s %d of %d worker(s), %d replica(s) in sync", task_type, index, n_workers, strategy.num_replicas_in_sync)
    return strategy


def worker_task(environ: dict[str, str] | None = None) -> tuple[str, int, int]:
    """This process's ``(task type, task index, number of workers)`` from ``TF_CONFIG``.

    Without ``TF_CONFIG`` the process is the only worker: ``("worker", 0, 1)``.

    Raises:
        ConfigurationError: ``TF_CONFIG`` is not JSON or lacks ``cluster``/``task``.
    """
    cluster, task_type, index = _cluster(environ)
    return task_type, index, sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))


def is_chief(environ: dict[str, str] | None = None) -> bool:
    """Whether this process writes the run: the ``chief`` task, or worker 0 of a chief-less cluster.

    Raises:
        ConfigurationError: ``TF_CONFIG`` is not a cluster description.
    """
    cluster, task_type, index = _cluster(environ)
    if cluster.get("chief"):
        return task_type == "chief"
    return task_type == "worker" and index == 0


def _cluster(environ: dict[str, str] | None) -> tuple[dict[str, Any], str, int]:
    text = (os.environ if environ is None else environ).get("TF_CONFIG", "").strip()
    if not text:
        return {"worker": ["localhost"]}, "worker", 0
    try:
        data = json.loads(text)
        cluster, task = dict(data["cluster"]), data["task"]
        return cluster, str(task["type"]), int(task["index"])
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise ConfigurationError(
            f"TF_CONFIG: not a cluster description ({type(error).__name__}: {error}); expected "
            '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": 0}}'
        ) from None


def worker_working_directory(working_directory: Path, *, distribution: str, environ: dict[str, str] | None = None) -> Path:
    """Where this process writes: the working directory itself, or ``worker<index>/`` in it.

    Only non-chief tasks of a ``multi_worker`` run are moved, so their run folder and cache
    never collide with the chief's.
    """
    if check_distribution(distribution) != "multi_worker" or is_chief(environ):
        return working_directory
    task_type, index, _ = worker_task(environ)
    return working_directory / f"{task_type}{index}"


def adapt_to_strategy(model: Any, strategy: tf.distribute.Strategy) -> None:
    """Work around three Keras 3.15 quirks with multi-replica strategies, on this model object only.

    - ``predict_on_batch`` runs every replica on the whole batch and concatenates the copies
      (n replicas: n× the windows). With more than one replica in sync it is replaced by a
      compiled forward pass in inference mode that reads the mirrored weights once, so
      callbacks that predict (spectrogram plots, accuracy) get one prediction per window.
    - ``fit`` starts by reducing the first distributed batch (a nest of per-replica values)
      with ``strategy.reduce``, which ``MultiWorkerMirroredStrategy`` with more than one worker
      cannot do ("Attempt to convert a value (PerReplica…) to a Tensor"). The batch only
      gives the shapes for building the loss and metrics, so under a multi-worker strategy
      the build uses this worker's first local per-replica values instead.
    - ``fit`` and ``evaluate`` average each step's logs over the workers with
      ``strategy.reduce("MEAN", value, axis=0)``, which fails for the scalar losses and
      metrics ("Invalid reduction dimension 0 for input with 0 dimensions"). Under a
      multi-worker cluster the train and test steps return each scalar as a 1-vector, so
      the reduction yields the mean over all replicas as a scalar, as on one machine; every
      worker then sees the same numbers and its callbacks take the same decisions.

    The saved model is unaffected (only instance attributes are replaced).

    Args:
        model: the compiled training model.
        strategy: the strategy it was built under.
    """
    if strategy.num_replicas_in_sync > 1:
        _single_copy_predictions(model)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        _build_from_local_values(model, strategy)
        if strategy.extended._in_multi_worker_mode():  # Keras' own test for the reduction above
            model.train_step = _vector_logs(model.train_step)
            model.test_step = _vector_logs(model.test_step)


def _single_copy_predictions(model: Any) -> None:
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def predict_on_batch(x: Any) -> Any:
        outputs = forward(tf.convert_to_tensor(x))
        if isinstance(outputs, (list, tuple)):
            return [np.asarray(output) for output in outputs]
        return np.asarray(outputs)

    model.predict_on_batch = predict_on_batch


def _vector_logs(step: Any) -> Any:
    import keras

    def vector(value: Any) -> Any:
        value = tf.convert_to_tensor(value)
        return tf.reshape(value, [1]) if value.shape.rank == 0 else value

    def wrapped(data: Any) -> Any:
        return keras.tree.map_structure(vector, step(data))

    return wrapped


def _build_from_local_values(model: Any, strategy: tf.distribute.Strategy) -> None:
    import keras

    original = model._maybe_symbolic_build

    def local(value: Any) -> Any:
        return strategy.experimental_local_results(value)[0] if isinstance(value, tf.distribute.DistributedValues) else value

    def maybe_symbolic_build(iterator: Any = None, data_batch: Any = None) -> None:
        if iterator is not None and data_batch is None:
            for _, _, batches in iterator:
                data_batch = keras.tree.map_structure(local, next(batches))
                break
        original(data_batch=data_batch)

    model._maybe_symbolic_build = maybe_symbolic_build


def configure_precision(*, mixed_precision: bool) -> None:
    """Mixed float16 compute for GPUs (variables stay float32); float32 otherwise."""
    import keras

    keras.mixed_precision.set_global_policy("mixed_float16" if mixed_precision else "float32")
