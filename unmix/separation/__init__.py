"""Separation: split songs into their stems with a trained model.

Modules, each importing only those listed before it: ``outputs`` (stems, formats, file names),
``arrays`` and ``overlap_add`` (NumPy plumbing), ``kernel`` (a block → an estimate per stem),
``streaming`` (blocks, resampling, the residual stem), ``loading`` (models, statistics, run
folders), ``separator`` (the public ``Separator``), ``batch`` (many songs → a report).

The public surface is ``Separator``, ``separate_songs`` with its ``OutputSpec`` and
``SeparationReport``. They are imported lazily, so ``import unmix.separation.overlap_add``
never loads TensorFlow.
"""

__all__ = ["OutputSpec", "SeparationReport", "Separator", "separate_songs"]


def __getattr__(name: str):
    # Lazy: the Separator pulls in Keras; overlap_add must stay importable without it.
    if name == "Separator":
        from unmix.separation.separator import Separator

        return Separator
    if name in ("SeparationReport", "separate_songs"):
        from unmix.separation import batch

        return getattr(batch, name)  # a fixed name from __all__, not user text
    if name == "OutputSpec":
        from unmix.separation.outputs import OutputSpec

        return OutputSpec
    raise AttributeError(f"module 'unmix.separation' has no attribute {name!r}")
