"""The tf.distribute strategy a configuration asks for.

``none`` (the default strategy), ``mirrored`` (all visible GPUs, or the given
logical devices), ``multi_worker`` (cluster from ``TF_CONFIG``), ``auto``
(mirrored when more than one GPU is visible).
"""

from __future__ import annotations

import logging

import tensorflow as tf

from unmix.errors import ConfigurationError

logger = logging.getLogger(__name__)
NAMES = ("none", "mirrored", "multi_worker", "auto")


def make_strategy(name: str) -> tf.distribute.Strategy:
    """Return the strategy for ``training.distribution``.

    Raises:
        ConfigurationError: unknown name.
    """
    key = name.lower()
    if key not in NAMES:
        raise ConfigurationError(f"training.distribution: unknown strategy {name!r}; expected one of {', '.join(NAMES)}")
    gpus = tf.config.list_logical_devices("GPU")
    if key == "auto":
        key = "mirrored" if len(gpus) > 1 else "none"
    if key == "none":
        return tf.distribute.get_strategy()
    if key == "mirrored":
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        logger.info("distribution: mirrored over %s", ", ".join(devices))
        return tf.distribute.MirroredStrategy(devices=devices)
    logger.info("distribution: multi-worker (cluster from TF_CONFIG)")
    return tf.distribute.MultiWorkerMirroredStrategy()


def configure_precision(*, mixed_precision: bool) -> None:
    """Mixed float16 compute for GPUs (variables stay float32)."""
    import keras

    keras.mixed_precision.set_global_policy("mixed_float16" if mixed_precision else "float32")
