"""Shared windows: a block boundary's context windows are run by one of its two blocks, with the same stems."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from unmix.dsp.stft import StftOptions
from unmix.pipeline.representations import get_representation
from unmix.config.schema import TransformOptions
from unmix.separation.separator import Separator
from unmix.separation.shared_windows import BlockShare, SharedWindows

RATE = 8000
STFT = StftOptions(n_fft=256, hop_length=64)


class CountingModel:
    """A fixed soft mask that counts the windows it is given (from any thread); fails on call ``fail_at``."""

    def __init__(self, fail_at: int | None = None):
        self.windows, self.calls, self.fail_at, self.lock = 0, 0, fail_at, threading.Lock()

    def __call__(self, x):
        with self.lock:
            self.calls += 1
            self.windows += x.shape[0]
            if self.calls == self.fail_at:
                raise RuntimeError("the network failed")
        return 1.0 / (1.0 + np.exp(-(4.0 * x - 1.0)))


def separator(model, *, block_seconds, overlap, workers) -> Separator:
    representation = get_representation("train_window_predict_mask", options=TransformOptions(size=16, step=16, normalizer="norm_max"), stft=STFT)
    return Separator(model, representation=representation, stft_options=STFT, sample_rate=RATE, n_channels=2, batch_size=3, overlap=overlap, block_seconds=block_seconds, workers=workers)


def test_a_shared_window_is_computed_by_its_first_block_and_taken_once_by_the_second():
    shared = SharedWindows()
    shared.add_boundary(100, 132)
    assert shared.claim((0, 99)) is None and shared.claim((0, 132)) is None  # a block's own windows
    first, second = BlockShare(shared, offset=40), BlockShare(shared, offset=90)
    computes, future = first.claim(0, 76)  # song frame 116
    assert computes and len(shared) == 1
    takes, same = second.claim(0, 26)
    assert not takes and same is future and len(shared) == 0  # dropped once both have it
    assert second.claim(1, 26)[0]  # another channel group is another window


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("overlap", [0.0, 0.5])
def test_blocks_run_each_window_once_and_give_the_whole_song_stems(rng, workers, overlap):
    samples = (0.2 * rng.standard_normal((2, RATE * 9 + 5))).astype(np.float32)
    whole_model, blocked_model = CountingModel(), CountingModel()
    whole = separator(whole_model, block_seconds=None, overlap=overlap, workers=1).separate(samples, RATE)
    blocked = separator(blocked_model, block_seconds=0.5, overlap=overlap, workers=workers).separate(samples, RATE)
    assert blocked_model.windows == whole_model.windows  # every boundary's context run once, not twice
    for stem in whole:
        np.testing.assert_allclose(blocked[stem], whole[stem], atol=1e-5)


def test_a_block_that_fails_fails_its_waiting_neighbour_instead_of_hanging(rng):
    samples = (0.2 * rng.standard_normal((2, RATE * 9))).astype(np.float32)
    with pytest.raises(RuntimeError, match="the network failed"):
        separator(CountingModel(fail_at=2), block_seconds=0.5, overlap=0.0, workers=2).separate(samples, RATE)
