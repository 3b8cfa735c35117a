"""A NumPy separator in place of a trained model, for the fault tests of ``predict.py``.

``python -m tests.faults.fake_model DELAY_S ARGS...`` runs ``predict.main(ARGS)`` in a process of
its own with a model that takes ``DELAY_S`` seconds a call, for the tests that signal a real
predict in the middle of a song.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

FAKE_MODEL_RATE = 8000


def use_fake_model(monkeypatch: pytest.MonkeyPatch, predict=lambda x: np.full_like(x, 0.5), **options) -> None:
    """``Separator.from_run_folder`` builds a NumPy separator around ``predict`` (default: half of every bin
    is vocals); ``options`` go to ``Separator`` (``targets``, ``mask_exponent``, ...)."""
    from unmix.config.schema import TransformOptions
    from unmix.dsp.stft import StftOptions
    from unmix.pipeline.representations import get_representation
    from unmix.separation.separator import Separator

    stft = StftOptions(n_fft=256, hop_length=64)
    representation = get_representation("train_window_predict_mask", options=TransformOptions(size=16, step=16), stft=stft)

    def load(*args, **overrides):
        return Separator(predict, representation=representation, stft_options=stft, sample_rate=FAKE_MODEL_RATE, n_channels=2, batch_size=4, block_seconds=0.5, **options)

    monkeypatch.setattr(Separator, "from_run_folder", staticmethod(load))


def main(argv: list[str]) -> int:
    from unmix.cli import predict

    delay_s = float(argv[0])

    def slow(batch: np.ndarray) -> np.ndarray:
        time.sleep(delay_s)
        return np.full_like(batch, 0.5)

    use_fake_model(pytest.MonkeyPatch(), slow)
    return predict.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
