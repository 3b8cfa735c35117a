"""Separator: reconstruction, lengths, rates, channels, silence, errors, and loading a run folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from unmix.config.schema import TransformOptions
from unmix.dsp.stft import StftOptions
from unmix.errors import AudioError, ConfigurationError, ModelError
from unmix.pipeline.representations import get_representation
from unmix.separation.separator import Separator

MODEL_RATE = 8000
STFT = StftOptions(n_fft=256, hop_length=64)

TINY_CONFIGURATION = {
    "environment": {"name": "tiny"},
    "collection": {"sample_rate": MODEL_RATE, "stereo": True},
    "transformation": {
        "name": "train_window_predict_mask", "fft_window": 256, "hop_length": 64, "block_seconds": 0.5,
        "options": {"size": 16, "step": 16, "normalizer": "norm_max"},
    },
    "training": {"batch_size": 2, "model": {"name": "dummy", "options": {}}},
}  # fmt: skip


def ones(x: np.ndarray) -> np.ndarray:
    return np.ones_like(x)


def zeros(x: np.ndarray) -> np.ndarray:
    return np.zeros_like(x)


def soft(x: np.ndarray) -> np.ndarray:
    """A deterministic, nonlinear, per-window "model" (each window's output depends only on that window)."""
    return 1.0 / (1.0 + np.exp(-(4.0 * x - 1.0)))


def make_separator(predict=soft, *, n_channels: int = 2, size: int = 16, **options) -> Separator:
    representation = get_representation("train_window_predict_mask", options=TransformOptions(size=size, step=size), stft=STFT)
    return Separator(predict, representation=representation, stft_options=STFT, sample_rate=MODEL_RATE, n_channels=n_channels, batch_size=options.pop("batch_size", 4), **options)


def noise(rng: np.random.Generator, n_channels: int, n_samples: int) -> np.ndarray:
    return (0.2 * rng.standard_normal((n_channels, n_samples))).astype(np.float32)


@pytest.mark.parametrize("overlap", [0.0, 0.5, 0.75])
def test_identity_model_returns_the_input(rng, overlap):
    audio = noise(rng, 2, 12345)
    stems = make_separator(ones, overlap=overlap).separate(audio, MODEL_RATE)
    np.testing.assert_allclose(stems["vocals"], audio, atol=2e-6)
    np.testing.assert_allclose(stems["instrumental"], 0.0, atol=2e-6)


def test_zero_mask_puts_everything_in_the_instrumental(rng):
    audio = noise(rng, 2, 5000)
    stems = make_separator(zeros).separate(audio, MODEL_RATE)
    assert not stems["vocals"].any()
    np.testing.assert_array_equal(stems["instrumental"], audio)


@pytest.mark.parametrize(
    ("sample_rate", "n_channels", "n_samples"),
    [(8000, 2, 12345), (44100, 2, 44101), (96000, 1, 96007), (22050, 6, 22051), (11025, 1, 3)],
)
def test_output_has_the_input_shape_and_sums_to_it(rng, sample_rate, n_channels, n_samples):
    audio = noise(rng, n_channels, n_samples)
    stems = make_separator().separate(audio, sample_rate)
    for stem in ("vocals", "instrumental"):
        assert stems[stem].shape == audio.shape
        assert stems[stem].dtype == np.float32
    np.testing.assert_allclose(stems["vocals"] + stems["instrumental"], audio, atol=1e-6)
    assert np.abs(stems["vocals"]).max() > 1e-3  # the model did remove something


def test_identity_at_another_rate_keeps_the_band_below_the_model_nyquist(tone):
    audio = tone(frequency_hz=440.0, duration_s=1.0, sample_rate=44100)
    stems = make_separator(ones).separate(audio, 44100)
    np.testing.assert_allclose(stems["vocals"][:, 2000:-2000], audio[:, 2000:-2000], atol=2e-3)


def test_full_bandwidth_above_the_model_rate_goes_to_the_instrumental(tone):
    high = tone(frequency_hz=10000.0, duration_s=0.5, sample_rate=44100)  # above 8 kHz / 2
    stems = make_separator(ones).separate(high, 44100)
    assert np.abs(stems["vocals"][:, 2000:-2000]).max() < 0.01
    np.testing.assert_allclose(stems["instrumental"][:, 2000:-2000], high[:, 2000:-2000], atol=0.01)


def test_stereo_channels_are_not_swapped(rng):
    audio = noise(rng, 2, 8000)

    def left_only(x):
        mask = np.zeros_like(x)
        mask[..., 0] = 1.0
        return mask

    stems = make_separator(left_only).separate(audio, MODEL_RATE)
    np.testing.assert_allclose(stems["vocals"][0], audio[0], atol=2e-6)
    np.testing.assert_allclose(stems["vocals"][1], 0.0, atol=2e-6)


def test_mono_model_runs_per_channel_and_keeps_channels_apart(rng):
    audio = noise(rng, 3, 4000)
    audio[1] = 0.0
    stems = make_separator(soft, n_channels=1).separate(audio, MODEL_RATE)
    assert not stems["vocals"][1].any()
    single = make_separator(soft, n_channels=1).separate(audio[2:3], MODEL_RATE)
    np.testing.assert_allclose(stems["vocals"][2:3], single["vocals"], atol=1e-6)


def test_mono_input_into_a_stereo_model_is_duplicated(rng):
    audio = noise(rng, 1, 4000)
    mono = make_separator(soft).separate(audio, MODEL_RATE)
    stereo = make_separator(soft).separate(np.concatenate([audio, audio]), MODEL_RATE)
    np.testing.assert_allclose(mono["vocals"][0], stereo["vocals"][0], atol=1e-6)


def test_silence_in_silence_out_even_when_the_model_returns_nan():
    silence = np.zeros((2, 3000), dtype=np.float32)

    def broken(x):
        return np.full_like(x, np.nan)

    for predict in (soft, broken):
        stems = make_separator(predict).separate(silence, MODEL_RATE)
        assert np.isfinite(stems["vocals"]).all() and not stems["vocals"].any()
        assert not stems["instrumental"].any()


@pytest.mark.parametrize("n_samples", [1, 10, 200])  # 0 is refused: tests/faults/test_python_api.py
def test_input_shorter_than_one_window(rng, n_samples):
    audio = noise(rng, 2, n_samples)
    stems = make_separator(ones).separate(audio, 44100)
    assert stems["vocals"].shape == audio.shape
    np.testing.assert_allclose(stems["vocals"] + stems["instrumental"], audio, atol=1e-6)


def test_batch_size_does_not_change_the_result(rng):
    audio = noise(rng, 2, 9000)
    one = make_separator(soft, batch_size=1).separate(audio, MODEL_RATE)
    seven = make_separator(soft, batch_size=7).separate(audio, MODEL_RATE)
    np.testing.assert_allclose(one["vocals"], seven["vocals"], atol=1e-6)


def test_windows_are_batched_into_few_model_calls(rng):
    calls = []

    def counting(x):
        calls.append(x.shape[0])
        return soft(x)

    make_separator(counting, batch_size=8, block_seconds=None).separate(noise(rng, 2, 8000), MODEL_RATE)
    # 1 s at hop 64 = 126 frames; step 8 (half of 16) -> about 17 windows -> 3 calls of <= 8
    assert len(calls) <= 3 and max(calls) == 8


def test_progress_reaches_the_total(rng):
    seen = []
    make_separator(block_seconds=0.5).separate(noise(rng, 2, 20000), 16000, progress=lambda done, total: seen.append((done, total)))
    assert len(seen) > 1
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1] == pytest.approx((1.25, 1.25))


@pytest.mark.parametrize("iterations", [0, 1])
def test_wiener_filter_keeps_the_sum(rng, iterations):
    audio = noise(rng, 2, 6000)
    stems = make_separator(soft, wiener_iterations=iterations).separate(audio, MODEL_RATE)
    assert np.isfinite(stems["vocals"]).all()
    np.testing.assert_allclose(stems["vocals"] + stems["instrumental"], audio, atol=1e-6)
    plain = make_separator(soft).separate(audio, MODEL_RATE)
    assert not np.allclose(stems["vocals"], plain["vocals"], atol=1e-4)


def test_bad_input_raises():
    separator = make_separator()
    with pytest.raises(AudioError, match=r"expected \(channels, samples\)"):
        separator.separate(np.zeros(100, dtype=np.float32), MODEL_RATE)
    bad = np.zeros((2, 100), dtype=np.float32)
    bad[1, 40] = np.inf
    bad[0, 60] = np.nan
    # One check for arrays and streamed files: the first bad sample, with its time and channel.
    with pytest.raises(AudioError, match=rf"^sample 40 \(0\.{40 * 1000 // MODEL_RATE:03d} s, channel 1\) is inf: the audio holds 2 NaN or infinite sample"):
        separator.separate(bad, MODEL_RATE)
    with pytest.raises(AudioError, match="sample_rate=0"):
        separator.separate(np.zeros((1, 100), dtype=np.float32), 0)


def test_bad_options_raise():
    with pytest.raises(ConfigurationError, match="batch_size must be a positive integer"):
        make_separator(batch_size=0)
    with pytest.raises(ConfigurationError, match=r"overlap must be in \[0, 1\)"):
        make_separator(overlap=1.0)
    with pytest.raises(ConfigurationError, match="wiener_iterations must be -1"):
        make_separator(wiener_iterations=-2)
    with pytest.raises(ConfigurationError, match="block_seconds must be positive"):
        make_separator(block_seconds=0)


def test_a_model_of_the_wrong_shape_is_a_model_error(rng):
    with pytest.raises(ModelError, match="expected the input's shape"):
        make_separator(lambda x: x[..., :1]).separate(noise(rng, 2, 2000), MODEL_RATE)


# --- loading a Keras model -----------------------------------------------------------------


@pytest.fixture
def write_tiny_run(dummy_run):
    """Writes a run folder with the dummy model; identity weights make its mask exactly 1."""

    def write(folder, *, identity: bool, stereo: bool = True):
        def fixed_mask(model):
            kernel, bias = model.get_layer("prediction").get_weights()
            model.get_layer("prediction").set_weights([np.zeros_like(kernel), np.full_like(bias, 40.0 if identity else -40.0)])

        configuration = dict(TINY_CONFIGURATION, collection={"sample_rate": MODEL_RATE, "stereo": stereo})
        return dummy_run(folder, configuration, weights_file="callback_weights_03.weights.h5", set_weights=fixed_mask)

    return write


@pytest.mark.slow
def test_from_run_folder_uses_the_best_weights(tmp_path, rng, write_tiny_run):
    from unmix.models.registry import build_model

    run, _ = write_tiny_run(tmp_path / "run", identity=True)
    newer = build_model("dummy", {}, input_shape=(129, 16, 2), output="mask")  # random: not the best
    newer.save_weights(run.weights / "weights.weights.h5")
    (run.weights / "best.json").write_text(json.dumps({"file": "callback_weights_03.weights.h5"}))
    separator = Separator.from_run_folder(run.path)
    assert separator.sample_rate == MODEL_RATE and separator.batch_size == 8 and separator.step == 8
    assert separator.block_seconds == 0.5  # transformation.block_seconds; an argument overrides it
    assert Separator.from_run_folder(run.path, block_seconds=2.0).block_seconds == 2.0
    audio = noise(rng, 2, 7001)
    stems = separator.separate(audio, MODEL_RATE)
    np.testing.assert_allclose(stems["vocals"], audio, atol=2e-6)


@pytest.mark.slow
def test_from_weights_with_weights_h5_and_keras_files(tmp_path, rng, write_tiny_run):
    run, model = write_tiny_run(tmp_path / "run", identity=False)
    model.save(tmp_path / "model.keras")
    audio = noise(rng, 2, 3000)
    for weights in (run.weights / "callback_weights_03.weights.h5", tmp_path / "model.keras"):
        separator = Separator.from_weights(weights, run.configuration, sample_rate=16000, batch_size=3)
        assert separator.sample_rate == 16000 and separator.batch_size == 3
        stems = separator.separate(audio, 16000)
        assert np.abs(stems["vocals"]).max() < 1e-6  # mask sigmoid(-40)
        np.testing.assert_allclose(stems["instrumental"], audio, atol=1e-6)


@pytest.mark.slow
def test_weights_that_do_not_fit_are_a_model_error(tmp_path, write_tiny_run):
    mono, _ = write_tiny_run(tmp_path / "mono", identity=True, stereo=False)
    stereo, _ = write_tiny_run(tmp_path / "stereo", identity=True)
    with pytest.raises(ModelError, match=r"do not match configuration .*stereo/configuration\.jsonc: 1 layer of model dummy .*; give the configuration the weights were trained with"):
        Separator.from_weights(mono.weights / "callback_weights_03.weights.h5", stereo.configuration)
    with pytest.raises(ModelError, match="weights file not found"):
        Separator.from_weights(tmp_path / "missing.weights.h5", stereo.configuration)
    (tmp_path / "w.pt").write_bytes(b"x")
    with pytest.raises(ModelError, match=r"expected a \.weights\.h5 or \.keras file"):
        Separator.from_weights(tmp_path / "w.pt", stereo.configuration)
    (tmp_path / "torn.weights.h5").write_bytes(b"not an h5 file")
    with pytest.raises(ModelError, match=r"cannot read weights .*torn\.weights\.h5: .*; the file is damaged or not a Keras weights file"):
        Separator.from_weights(tmp_path / "torn.weights.h5", stereo.configuration)
    (tmp_path / "torn.keras").write_bytes(b"not a zip file")
    with pytest.raises(ModelError, match=r"cannot read model .*torn\.keras: .*; the file is damaged or not a Keras weights file"):
        Separator.from_weights(tmp_path / "torn.keras", stereo.configuration)


def test_a_folder_without_configuration_is_not_a_run(tmp_path):
    with pytest.raises(ConfigurationError, match="not a run folder"):
        Separator.from_run_folder(tmp_path)
