"""Shared fixtures: synthesised audio and the path of ../shared/data."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_DATA = REPOSITORY.parent / "shared" / "data"

# Keep TensorFlow quiet and deterministic in every test process.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


@pytest.fixture
def shared_data() -> Path:
    """The real research data beside the checkout (CI has it too)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"../shared/data is missing: expected it at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def make_tone(
    *, frequency_hz: float, duration_s: float, sample_rate: int, n_channels: int = 2, amplitude: float = 0.3
) -> np.ndarray:
    """A sine of shape (channels, samples); channel k is phase-shifted so channels differ."""
    t = np.arange(int(round(duration_s * sample_rate))) / sample_rate
    rows = [amplitude * np.sin(2 * np.pi * frequency_hz * t + k * 0.7) for k in range(n_channels)]
    return np.asarray(rows, dtype=np.float32)


@pytest.fixture
def tone():
    return make_tone


@pytest.fixture(autouse=True)
def _restore_unmix_logger():
    """A CLI's main() installs handlers on the unmix logger; every test starts with the same logger."""
    logger = logging.getLogger("unmix")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    for handler in [h for h in logger.handlers if h not in saved[0]]:
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(saved[1])
    logger.propagate = saved[2]
