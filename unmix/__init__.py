"""unmix: train neural networks that split songs into vocals and instrumental.

Importing the package is cheap: TensorFlow loads only when ``Separator`` is
first used.
"""

__version__ = "0.1.0"

__all__ = ["Separator", "__version__"]


def __getattr__(name: str):
    # Lazy so that `import unmix` (and the configuration check) stays TF-free.
    if name == "Separator":
        from unmix.separation.separator import Separator

        return Separator
    raise AttributeError(f"module 'unmix' has no attribute {name!r}")
