"""Scoring separated songs: metrics (museval, mir_eval, global SDR) and score files.

Kept free of imports so that importing a submodule stays cheap and TensorFlow-free.
"""
