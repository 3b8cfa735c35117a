"""The kernel: one estimate per target, combined by a single mask or by ratio masks; the plan's checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from unmix import audio
from unmix.config.schema import TransformOptions
from unmix.dsp.stft import StftOptions
from unmix.errors import ConfigurationError, ModelError
from unmix.pipeline.representations import get_representation
from unmix.separation.kernel import Kernel, Plan, residual_of
from unmix.separation.separator import Separator

RATE = 8000
STFT = StftOptions(n_fft=256, hop_length=64)


def magnitude_representation(size: int = 16):
    # "window": the model outputs a magnitude; no normaliser, so a prediction is on |mix|'s scale.
    return get_representation("window", options=TransformOptions(size=size, step=size, normalizer="none"), stft=STFT)


def two_targets(vocals_gain: float, instrumental_gain: float):
    return lambda x: {"vocals": vocals_gain * x, "instrumental": instrumental_gain * x}


def separator(predict, *, targets=("vocals", "instrumental"), **options) -> Separator:
    options.setdefault("block_seconds", 0.5)
    return Separator(predict, representation=magnitude_representation(), stft_options=STFT, sample_rate=RATE, n_channels=2, batch_size=4, targets=targets, **options)


def noise(rng, n_channels=2, n_samples=RATE * 2 + 37):
    return (0.2 * rng.standard_normal((n_channels, n_samples))).astype(np.float32)


@pytest.mark.parametrize(("exponent", "expected"), [(2.0, 0.36 / (0.36 + 0.64)), (1.0, 0.6 / 1.4)])
def test_ratio_masks_of_two_targets(rng, exponent, expected):
    samples = noise(rng)
    stems = separator(two_targets(0.6, 0.8), mask_exponent=exponent).separate(samples, RATE)
    assert set(stems) == {"vocals", "instrumental"}
    np.testing.assert_allclose(stems["vocals"], expected * samples, atol=2e-5)
    np.testing.assert_allclose(stems["vocals"] + stems["instrumental"], samples, atol=1e-6)


def test_ratio_masks_of_four_targets(rng):
    """Each stem's share is its squared gain over the sum of all four; the residual is the rest."""
    samples = noise(rng)
    gains = {"vocals": 0.1, "drums": 0.2, "bass": 0.3, "other": 0.4}
    stems = separator(lambda x: {t: g * x for t, g in gains.items()}, targets=tuple(gains)).separate(samples, RATE)
    total = sum(g * g for g in gains.values())
    for target, gain in gains.items():
        np.testing.assert_allclose(stems[target], gain * gain / total * samples, atol=2e-5)
    np.testing.assert_allclose(sum(stems.values()), samples, atol=1e-6)


def test_a_target_with_no_energy_gets_nothing(rng):
    samples = noise(rng)
    stems = separator(two_targets(0.0, 1.0)).separate(samples, RATE)
    assert np.abs(stems["vocals"]).max() < 1e-6
    np.testing.assert_allclose(stems["instrumental"], samples, atol=1e-6)


def test_two_targets_block_wise_equal_whole(rng):
    samples = noise(rng, n_samples=RATE * 4 + 11)

    def uneven(x):  # a frequency-dependent split, so the masks vary over the spectrogram
        ramp = np.linspace(0.0, 1.0, x.shape[1], dtype=np.float32)[None, :, None, None]
        return {"vocals": ramp * x, "instrumental": (1.0 - ramp) * x}

    whole = separator(uneven, block_seconds=None).separate(samples, 16000)
    blocked = separator(uneven, block_seconds=0.7).separate(samples, 16000)
    for stem in whole:
        np.testing.assert_allclose(blocked[stem], whole[stem], atol=1e-5)


def test_wiener_filter_with_two_targets_sums_to_the_input(rng):
    samples = noise(rng)
    stems = separator(two_targets(0.6, 0.8), wiener_iterations=0).separate(samples, RATE)
    np.testing.assert_allclose(stems["vocals"], 0.36 * samples, atol=2e-5)  # soft masks = exponent-2 ratio masks
    np.testing.assert_allclose(stems["vocals"] + stems["instrumental"], samples, atol=1e-6)


def test_a_model_missing_a_target_is_a_model_error(rng):
    with pytest.raises(ModelError, match=r"returned targets \['vocals'\]; expected \['vocals', 'instrumental'\]"):
        separator(lambda x: {"vocals": x}).separate(noise(rng), RATE)
    with pytest.raises(ModelError, match="returned shape"):
        separator(lambda x: {"vocals": x, "instrumental": x[:, :-1]}).separate(noise(rng), RATE)


def test_a_single_output_model_predicts_the_vocals(rng):
    samples = noise(rng)
    stems = separator(lambda x: 0.25 * x, targets=None).separate(samples, RATE)
    np.testing.assert_allclose(stems["vocals"], 0.25 * samples, atol=2e-5)


def test_residual_and_stems():
    assert residual_of(("vocals",)) == "instrumental"
    assert residual_of(("instrumental", "vocals")) == "instrumental"
    assert residual_of(("vocals", "drums", "bass", "other")) == "other"
    plan = Plan(stft=STFT, representation=magnitude_representation(), n_channels=2)
    kernel = Kernel(lambda x: x, plan, targets=("instrumental", "vocals"))
    assert kernel.estimated == ("vocals",) and kernel.stems == ("vocals", "instrumental")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"overlap": 1.0}, r"overlap must be in \[0, 1\)"),
        ({"wiener_iterations": -2}, "wiener_iterations must be -1"),
        ({"mask_exponent": 0}, "transformation.mask_exponent must be a number > 0"),
        ({"n_channels": 3}, "1 or 2 channels"),
    ],
)
def test_plan_checks(options, message):
    arguments = {"stft": STFT, "representation": magnitude_representation(), "n_channels": 2, **options}
    with pytest.raises(ConfigurationError, match=message):
        Plan(**arguments)


def test_kernel_checks():
    plan = Plan(stft=STFT, representation=magnitude_representation(), n_channels=2, wiener_iterations=1)
    with pytest.raises(ConfigurationError, match="the Wiener filter combines two stems"):
        Kernel(lambda x: x, plan, targets=("vocals", "drums", "other"))
    with pytest.raises(ConfigurationError, match="distinct target names"):
        Kernel(lambda x: x, plan, targets=("vocals", "vocals"))


@pytest.mark.slow
def test_a_two_target_keras_model_separates_end_to_end_through_predict(tmp_path, hermetic_environment):
    """A tiny two-output Keras model (named outputs) through predict.py: ratio masks, stems sum to the input."""
    import keras

    from unmix.cli.predict import main

    inputs = keras.Input((STFT.n_bins, 16, 2))
    outputs = {"vocals": keras.layers.Rescaling(0.6, name="vocals")(inputs), "instrumental": keras.layers.Rescaling(0.8, name="instrumental")(inputs)}
    model_file = tmp_path / "two-targets.keras"
    keras.Model(inputs, outputs).save(model_file)
    configuration = tmp_path / "two-targets.jsonc"
    configuration.write_text(json.dumps({
        "collection": {"sample_rate": RATE, "stereo": True},
        "transformation": {"name": "window", "fft_window": 256, "hop_length": 64, "overlap": 0.0, "options": {"size": 16, "step": 16, "normalizer": "none"}},
        "training": {"batch_size": 2, "model": {"name": "dummy"}},
    }))  # fmt: skip
    rng = np.random.default_rng(5)
    samples = noise(rng, n_samples=RATE * 3)
    song = tmp_path / "song.wav"
    audio.save(song, samples, RATE)
    assert main(["--weights", str(model_file), "--configuration", str(configuration), "--song", str(song), "--output", str(tmp_path / "out"), "--quiet"]) == 0
    written = {stem: soundfile.read(tmp_path / "out" / "song" / f"{stem}.wav", dtype="float32", always_2d=True)[0].T for stem in ("vocals", "instrumental")}
    original = soundfile.read(song, dtype="float32", always_2d=True)[0].T
    np.testing.assert_allclose(written["vocals"] + written["instrumental"], original, atol=1e-5)
    np.testing.assert_allclose(written["vocals"], 0.36 * original, atol=1e-4)
    assert Path(tmp_path / "out" / "song").is_dir()


def test_a_song_scope_separates_the_whole_song_by_its_maximum(rng):
    """The model sees each window over the whole song's maximum |mix|, so the song is one block."""
    seen = []

    def record(x):
        seen.append(x.copy())
        return np.ones_like(x)

    representation = get_representation("train_window_predict_mask", options=TransformOptions(size=16, step=16, normalizer_scope="song"), stft=STFT)
    samples = noise(rng, n_samples=RATE * 3)
    samples[:, : RATE] *= 0.1  # a quiet first second: its windows stay quiet
    song = Separator(record, representation=representation, stft_options=STFT, sample_rate=RATE, n_channels=2, block_seconds=0.5)
    assert song.block_seconds is None
    song.separate(samples, RATE)
    windows = np.concatenate(seen)
    assert windows.max() == pytest.approx(1.0)
    assert windows[0].max() < 0.2, "the quiet start is not scaled up to its own maximum"


def park_representation():
    """Two linear masks stacked on the channels, accompaniment first (Park et al. 2018)."""
    options = TransformOptions(size=16, step=16, targets=("instrumental", "vocals"), mask_activation="linear")
    return get_representation("train_window_predict_mask", options=options, stft=STFT)


def test_the_direct_combination_gives_each_stem_its_own_estimate(rng):
    samples = noise(rng, n_channels=1)
    masks = lambda x: np.concatenate([1.5 * np.ones_like(x), 0.5 * np.ones_like(x)], axis=-1)  # noqa: E731
    direct = Separator(masks, representation=park_representation(), stft_options=STFT, sample_rate=RATE, n_channels=1, combination="direct", stitching="middle")
    assert direct.stems == ("vocals", "instrumental")
    stems = direct.separate(samples, RATE)
    np.testing.assert_allclose(stems["instrumental"], 1.5 * samples, atol=1e-5)
    np.testing.assert_allclose(stems["vocals"], 0.5 * samples, atol=1e-5)
    ratio = Separator(masks, representation=park_representation(), stft_options=STFT, sample_rate=RATE, n_channels=1, mask_exponent=1.0)
    stems = ratio.separate(samples, RATE)
    np.testing.assert_allclose(stems["vocals"], 0.25 * samples, atol=1e-5)
    np.testing.assert_allclose(stems["vocals"] + stems["instrumental"], samples, atol=1e-6)


def test_the_direct_combination_needs_every_stem_and_no_wiener_filter():
    with pytest.raises(ConfigurationError, match=r"transformation\.combination 'direct' estimates each stem from its own target; the model predicts \['vocals'\]"):
        separator(lambda x: x, targets=("vocals",), combination="direct")
    with pytest.raises(ConfigurationError, match=r"transformation\.combination 'direct' keeps each target's own estimate; it takes no Wiener filter"):
        Plan(stft=STFT, representation=park_representation(), n_channels=1, combination="direct", wiener_iterations=0)
