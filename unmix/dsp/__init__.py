"""Pure-NumPy signal processing: STFT, model windows, masks, normalizers, Wiener filter.

Layer 1: never imports TensorFlow or Keras. Spectrograms here are complex64
``(channels, bins, frames)``; model windows are channels-last
``(bins, frames, channels)`` (see :mod:`unmix.dsp.windows`). Import the
submodules directly, e.g. ``from unmix.dsp.stft import StftOptions, stft``.
"""
