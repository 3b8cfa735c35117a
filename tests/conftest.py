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


@pytest.fixture
def hermetic_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No UNMIX_* variable from the real environment and no developer .env (project root or working directory)."""
    import unmix.config

    for name in [k for k in os.environ if k.startswith("UNMIX_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(unmix.config, "PROJECT_ROOT", tmp_path_factory.mktemp("project-root"))
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))  # load() reads the working directory's .env too


def write_dummy_run(folder: Path, configuration: dict | Path, *, weights_file: str, seed: int | None = None, set_weights=None):
    """A run folder as training leaves it, for the dummy model: resolved configuration and weights.

    Args:
        folder: the run folder to create.
        configuration: a configuration document, or the path of a .jsonc file.
        weights_file: the name of the weights file in ``weights/``.
        seed: seeds the model's initial weights when given.
        set_weights: called with the built model before it is saved (e.g. to fix its mask).

    Returns:
        ``(RunFolder, model)``.
    """
    import json

    import keras

    from unmix.config import load
    from unmix.dsp.stft import StftOptions
    from unmix.models.registry import build_model
    from unmix.pipeline.representations import get_representation
    from unmix.runfolder import RunFolder

    source = configuration
    if not isinstance(configuration, Path):
        source = folder.parent / f"{folder.name}-source.jsonc"
        source.write_text(json.dumps(configuration))
    config = load(source, environ={})
    run = RunFolder(folder)
    for sub in (run.path, run.weights, run.predictions):
        sub.mkdir(parents=True, exist_ok=True)
    run.write_configuration(config.to_json())
    section = config.transformation
    stft = StftOptions.from_section(section)
    representation = get_representation(section.name, options=section.options, stft=stft)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    model = build_model(config.training.model.name, config.training.model.options,
                        input_shape=representation.input_shape(config.collection.n_channels), output=representation.output_kind)  # fmt: skip
    if set_weights is not None:
        set_weights(model)
    model.save_weights(run.weights / weights_file)
    return run, model


@pytest.fixture(scope="session")
def dummy_run():
    """``write_dummy_run``, for tests and module-scoped fixtures."""
    return write_dummy_run
