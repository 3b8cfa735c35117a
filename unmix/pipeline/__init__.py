"""From cached songs to the batches a Keras model trains on.

``representations`` (TensorFlow-free) turn magnitude windows into model inputs and
targets; ``augment`` remixes and re-gains time-domain segments; ``segments`` reads
the samples a window needs; ``stats`` computes zmuv statistics; ``generator`` (the
only module here that imports Keras) is the ``PyDataset``. Import the submodules
directly: this package imports nothing, so the TF-free parts stay TF-free.
"""
