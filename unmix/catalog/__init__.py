"""Separating a whole catalogue: a fixed plan, a receipt per song, a ledger, on this machine or on Ray.

``python3 -m unmix.catalog run SOURCE --output DEST`` (``unmix.catalog.command``) separates
every song of SOURCE as ``predict.py`` would, and running it again resumes: ``plan`` lists and
hashes the songs once, ``records`` keeps the receipts and the ledger beside the stems,
``worker`` separates one song per call with a model loaded once, ``engines`` runs the workers
in this process or as a Ray Data actor pool, ``runner`` drives a run, ``report`` reads the
records back for ``status`` and ``report``. See docs/catalog.md.
"""
