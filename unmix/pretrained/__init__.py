"""Built-in models: the catalog of names (``catalog``) and the importers that install them.

``default/`` is a data folder, the run folder of the shipped ``fast`` model. Importing this
package loads nothing (no TensorFlow): ``catalog`` is TF-free and ``spleeter`` is imported
only by the install command.
"""
