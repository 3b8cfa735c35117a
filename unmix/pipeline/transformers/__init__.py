"""Transformers: magnitude windows -> (model input, target), and predictions -> vocals.

TensorFlow-free. ``get_transformer(name, options=, stft=)`` picks one of ``window``,
``train_window_predict_mask`` (the default), ``mask``, ``mask_ibm`` and ``stems`` (one
magnitude per stem, for models with named outputs); importing this package registers all five.
"""

from unmix.config.schema import TransformOptions
from unmix.pipeline.transformers import mask, mask_ibm, stems, train_window_predict_mask, window  # noqa: F401  (registration)
from unmix.pipeline.transformers.base import OUTPUT_KINDS, Transformer
from unmix.pipeline.transformers.registry import available_transformers, get_transformer, register_transformer

__all__ = [
    "OUTPUT_KINDS",
    "TransformOptions",
    "Transformer",
    "available_transformers",
    "get_transformer",
    "register_transformer",
]
