"""Representations: magnitude windows -> (model input, target), and predictions -> vocals.

TensorFlow-free. ``get_representation(name, options=, stft=)`` picks one of ``window``,
``train_window_predict_mask`` (the default), ``mask``, ``mask_ibm`` and ``stems`` (one
magnitude per stem, for models with named outputs); importing this package registers all five.
"""

from unmix.config.schema import TransformOptions
from unmix.pipeline.representations import mask, mask_ibm, stems, train_window_predict_mask, window  # noqa: F401  (registration)
from unmix.pipeline.representations.base import OUTPUT_KINDS, Representation
from unmix.pipeline.representations.registry import available_representations, get_representation, register_representation

__all__ = [
    "OUTPUT_KINDS",
    "TransformOptions",
    "Representation",
    "available_representations",
    "get_representation",
    "register_representation",
]
