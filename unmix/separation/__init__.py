"""Separation: split songs into vocals and instrumental with a trained model.

``overlap_add`` is NumPy only; ``Separator`` (and everything that loads a model) is imported
lazily, so ``import unmix.separation.overlap_add`` never loads TensorFlow.
"""

__all__ = ["SeparationReport", "Separator", "separate_command"]


def __getattr__(name: str):
    # Lazy: the Separator pulls in Keras; overlap_add must stay importable without it.
    if name == "Separator":
        from unmix.separation.separator import Separator

        return Separator
    if name in ("SeparationReport", "separate_command"):
        from unmix.separation import files

        return getattr(files, name)  # a fixed name from __all__, not user text
    raise AttributeError(f"module 'unmix.separation' has no attribute {name!r}")
