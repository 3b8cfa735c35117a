"""The network exported to ONNX and run by OpenVINO: the same stems as Keras, chosen by ``runtime``, never importing TensorFlow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from unmix.cli import options
from unmix.errors import ConfigurationError
from unmix.separation import exported, subpixel
from unmix.separation.separator import Separator

RATE = 8000
# Spleeter's two U-Nets, tiny: two named outputs ("vocals", "instrumental") and ratio masks.
SPLEETER = {
    "environment": {"name": "tiny-spleeter"},
    "collection": {"sample_rate": RATE, "stereo": True},
    "transformation": {"name": "stems", "fft_window": 256, "hop_length": 64, "precision": "float32", "batch_size": 2, "options": {"size": 64, "step": 64, "normalizer": "none"}},
    "training": {"batch_size": 2, "model": {"name": "spleeter", "options": {"bins": 64, "filters": [2, 2, 2, 2, 2, 2], "high_band": "none"}}},
}  # fmt: skip
# One unnamed output (the vocals' mask), as the ``fast`` model and most trained models have.
DUMMY = {
    "environment": {"name": "tiny"},
    "collection": {"sample_rate": RATE, "stereo": True},
    "transformation": {"name": "train_window_predict_mask", "fft_window": 256, "hop_length": 64, "options": {"size": 16, "step": 16, "normalizer": "norm_max"}},
    "training": {"batch_size": 2, "model": {"name": "dummy", "options": {}}},
}  # fmt: skip


@pytest.fixture
def models_dir(tmp_path, monkeypatch) -> Path:
    """Exports go into a folder of the test's own."""
    folder = tmp_path / "models"
    monkeypatch.setenv("UNMIX_MODELS_DIR", str(folder))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(exported, "gpu_visible", lambda: False)
    return folder


@pytest.fixture(scope="module", params=["spleeter", "dummy"])
def run(request, tmp_path_factory, dummy_run) -> Path:
    configuration = SPLEETER if request.param == "spleeter" else DUMMY
    folder = tmp_path_factory.mktemp("exported") / request.param
    dummy_run(folder, configuration, weights_file="weights.weights.h5", seed=5)
    return folder


def mixture(seconds: float = 2.5) -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * RATE)) / RATE
    return np.stack([0.3 * np.sin(2 * np.pi * 330 * t), 0.2 * np.sin(2 * np.pi * 510 * t)]).astype(np.float32) + 0.05 * rng.standard_normal((2, t.size)).astype(np.float32)


def test_the_exported_network_separates_as_keras_does(run, models_dir):
    keras_separator = Separator.from_run_folder(run, runtime="tensorflow")
    openvino_separator = Separator.from_run_folder(run, runtime="openvino")  # exports it first
    assert isinstance(openvino_separator.kernel.predict, exported.ExportedNetwork)
    assert not isinstance(keras_separator.kernel.predict, exported.ExportedNetwork)
    assert openvino_separator.stems == keras_separator.stems
    x = mixture()
    expected, got = keras_separator.separate(x, RATE), openvino_separator.separate(x, RATE)
    peak = float(np.abs(x).max())
    for stem in expected:
        assert np.abs(expected[stem]).max() > 1e-3  # a stem with something in it
        assert float(np.abs(got[stem] - expected[stem]).max()) <= 1e-4 * peak
    assert list(models_dir.glob("exported/*.onnx")) == [exported.exported_path(run)]


def test_spleeters_last_layers_are_rewritten_to_run_at_half_resolution(run, models_dir):
    """Both U-Nets' tails (the separation above checks their stems against Keras'); the dummy has none."""
    import openvino

    Separator.from_run_folder(run, runtime="openvino")  # exports it
    model = openvino.Core().read_model(str(exported.exported_path(run)))
    assert subpixel.rewrite(model) == (2 if run.name == "spleeter" else 0)


def test_a_batch_spread_over_several_streams_gives_the_stems_of_one(run, models_dir):
    """With a stream per block worker, a batch's windows run on every stream at once, each into its own slot."""
    one = Separator.from_run_folder(run, runtime="openvino", workers=1, batch_size=3)
    many = Separator.from_run_folder(run, runtime="openvino", workers=3, batch_size=3)
    assert (one.kernel.predict.streams, many.kernel.predict.streams) == (1, 3) and many.kernel.predict._one_by_one
    x = mixture(4.0)
    expected, got = one.separate(x, RATE), many.separate(x, RATE)
    peak = float(np.abs(x).max())
    for stem in expected:
        assert float(np.abs(got[stem] - expected[stem]).max()) <= 1e-5 * peak


def test_auto_runs_the_export_only_once_it_exists_and_no_gpu_is_visible(run, models_dir, monkeypatch):
    assert not isinstance(Separator.from_run_folder(run).kernel.predict, exported.ExportedNetwork)  # nothing exported: Keras
    assert not exported.exported_path(run).exists()  # auto never exports by itself
    Separator.export_network(run)
    assert isinstance(Separator.from_run_folder(run).kernel.predict, exported.ExportedNetwork)
    assert not isinstance(Separator.from_run_folder(run, runtime="tensorflow").kernel.predict, exported.ExportedNetwork)
    monkeypatch.setattr(exported, "gpu_visible", lambda: True)
    assert not isinstance(Separator.from_run_folder(run).kernel.predict, exported.ExportedNetwork)  # a GPU: TensorFlow


def test_new_weights_or_configuration_are_exported_anew(tmp_path, dummy_run, models_dir):
    folder = tmp_path / "run"
    dummy_run(folder, DUMMY, weights_file="weights.weights.h5", seed=1)
    first = exported.exported_path(folder)
    dummy_run(folder, DUMMY, weights_file="weights.weights.h5", seed=2)
    assert exported.exported_path(folder) != first


def test_a_chosen_checkpoint_runs_exported_only_once_it_is_exported(tmp_path, dummy_run, models_dir):
    folder = tmp_path / "run"
    run, model = dummy_run(folder, DUMMY, weights_file="callback_weights_02.weights.h5", seed=1)
    earlier = run.weights / "callback_weights_01.weights.h5"
    model.save_weights(earlier)
    Separator.export_network(folder)  # the best weights only
    assert not isinstance(Separator.from_run_folder(folder, weights=earlier).kernel.predict, exported.ExportedNetwork)
    assert exported.exported_path(folder, earlier) != exported.exported_path(folder)
    assert isinstance(Separator.from_run_folder(folder, weights=earlier, runtime="openvino").kernel.predict, exported.ExportedNetwork)


def test_the_exported_network_never_imports_tensorflow(run, models_dir, tmp_path):
    Separator.export_network(run)
    song = tmp_path / "song.wav"
    import soundfile

    soundfile.write(song, mixture().T, RATE)
    code = (
        "import sys; from unmix.cli.predict import main; "
        f"code = main(['--run_folder', {str(run)!r}, '--song', {str(song)!r}, '--output', {str(tmp_path / 'out')!r}, '--quiet']); "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules, code)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**__import__("os").environ, "CUDA_VISIBLE_DEVICES": "-1"})
    assert result.stdout.split()[-3:] == ["False", "False", "0"]
    assert sorted(p.name for p in (tmp_path / "out" / "song").iterdir()) == ["instrumental.wav", "vocals.wav"]


def test_runtime_choices_and_precision():
    assert options.RUNTIMES == exported.RUNTIMES
    with pytest.raises(ConfigurationError, match="--runtime must be one of auto, tensorflow, openvino"):
        exported.check_runtime("onnx")
    assert exported.cpu_precision("float32") == "f32" and exported.cpu_precision("bfloat16") == "bf16"
    assert exported.cpu_precision("auto") in ("f32", "bf16")


def test_gpu_visible_respects_hidden_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert exported.gpu_visible() is False


def test_runtime_openvino_with_loose_weights_is_a_usage_error(tmp_path, capsys):
    from unmix.cli.predict import main

    weights = tmp_path / "w.weights.h5"
    weights.write_bytes(b"")
    song = tmp_path / "s.wav"
    import soundfile

    soundfile.write(song, mixture(0.2).T, RATE)
    assert main(["--weights", str(weights), "--configuration", str(tmp_path / "c.jsonc"), "--song", str(song), "--runtime", "openvino"]) == 2
    assert "--runtime openvino runs a run folder's exported network" in capsys.readouterr().err


def test_a_damaged_export_falls_back_to_tensorflow_under_auto_and_is_named_under_openvino(run, models_dir, caplog):
    from unmix.errors import ModelError

    target = exported.exported_path(run)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not an onnx file")
    with caplog.at_level("WARNING", logger="unmix"):
        separator = Separator.from_run_folder(run)
    assert not isinstance(separator.kernel.predict, exported.ExportedNetwork)
    assert any(f"cannot read the exported network {target}" in r.getMessage() and "separating with TensorFlow" in r.getMessage() for r in caplog.records)
    with pytest.raises(ModelError, match="delete it, then export it again with --runtime openvino"):
        Separator.from_run_folder(run, runtime="openvino")
