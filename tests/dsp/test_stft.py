"""The single STFT: exact reconstruction, centred frames, channel order, option checks."""

from __future__ import annotations

import numpy as np
import pytest

from unmix.dsp.stft import StftOptions, analysis_window, istft, n_frames, stft
from unmix.errors import ConfigurationError


@pytest.mark.parametrize("n_channels", [1, 2])
@pytest.mark.parametrize("n_samples", [1, 383, 1537, 12345])
def test_stft_istft_reconstructs_odd_lengths(rng, n_channels, n_samples):
    options = StftOptions()
    audio = rng.uniform(-1, 1, (n_channels, n_samples)).astype(np.float32)
    spec = stft(audio, options=options)
    assert spec.dtype == np.complex64
    assert spec.shape == (n_channels, 769, n_frames(n_samples, options=options))
    restored = istft(spec, options=options, length=n_samples)
    assert restored.dtype == np.float32 and restored.shape == audio.shape
    assert np.max(np.abs(restored - audio)) < 1e-5


@pytest.mark.parametrize(
    "options",
    [
        StftOptions(n_fft=256, hop_length=64, window="hamming"),
        StftOptions(n_fft=256, hop_length=100, window="blackman"),  # hop does not divide n_fft
        StftOptions(n_fft=16, hop_length=8),
        StftOptions(n_fft=1024, hop_length=512),
    ],
)
def test_other_windows_and_hops_reconstruct(rng, options):
    audio = rng.standard_normal((2, 5001)).astype(np.float32) * 0.3
    restored = istft(stft(audio, options=options), options=options, length=5001)
    assert np.max(np.abs(restored - audio)) < 1e-5


def test_channel_order_is_kept(tone):
    audio = tone(frequency_hz=440.0, duration_s=0.5, sample_rate=8000)
    audio[1] = 0.0  # right channel silent
    options = StftOptions(n_fft=256, hop_length=64)
    spec = stft(audio, options=options)
    assert np.abs(spec[0]).max() > 1.0
    assert np.abs(spec[1]).max() == 0.0
    restored = istft(spec, options=options, length=audio.shape[1])
    assert np.abs(restored[1]).max() == 0.0
    np.testing.assert_allclose(restored[0], audio[0], atol=1e-5)


def test_frame_k_is_centred_on_sample_k_times_hop():
    options = StftOptions(n_fft=256, hop_length=64)
    audio = np.zeros((1, 1000), dtype=np.float32)
    audio[0, 5 * 64] = 1.0
    spec = stft(audio, options=options)
    # An impulse at a frame's centre meets the window's peak (1 for periodic Hann)
    # at offset n_fft/2: a flat magnitude of 1 in every bin.
    np.testing.assert_allclose(np.abs(spec[0, :, 5]), 1.0, atol=1e-6)
    assert np.abs(spec[0, :, 3]).max() < 1e-6  # 128 samples away: outside frame 3's window edge


def test_matches_librosa_centred_zero_padded_stft(rng):
    librosa = pytest.importorskip("librosa")
    audio = rng.uniform(-1, 1, (2, 4000)).astype(np.float32)
    expected = librosa.stft(audio, n_fft=1536, hop_length=384, center=True, pad_mode="constant")
    np.testing.assert_allclose(stft(audio, options=StftOptions()), expected, atol=2e-5)


def test_blocks_share_interior_frames_with_the_whole_signal(rng):
    """The block recipe in the module docstring: interior frames are identical."""
    options = StftOptions(n_fft=256, hop_length=64)
    audio = rng.standard_normal((2, 8000)).astype(np.float32)
    whole = stft(audio, options=options)
    block_start = 40 * 64  # a multiple of hop_length
    block = stft(audio[:, block_start : block_start + 2000], options=options)
    margin = options.n_fft // 2 // options.hop_length  # frames touching the block's padding
    first, last = margin, block.shape[2] - margin - 1
    np.testing.assert_allclose(block[:, :, first:last], whole[:, :, 40 + first : 40 + last], atol=1e-5)


def test_istft_pads_to_a_longer_length_with_zeros(rng):
    options = StftOptions(n_fft=256, hop_length=64)
    audio = rng.standard_normal((1, 1000)).astype(np.float32)
    restored = istft(stft(audio, options=options), options=options, length=2000)
    np.testing.assert_allclose(restored[:, :1000], audio, atol=1e-5)
    assert np.all(restored[:, 1100:] == 0.0)
    assert np.all(np.isfinite(restored))


def test_a_magnitude_estimate_takes_the_mixtures_phase(rng):
    # istft(magnitude=m) inverts m * e^{i angle(spec)}: the same as the gain m / |spec|, and 0
    # where the spectrogram is 0 (the song's silent start here), with any layout of m.
    options = StftOptions(n_fft=256, hop_length=64)
    audio = rng.standard_normal((2, 3000)).astype(np.float32)
    audio[:, :700] = 0.0
    spec = stft(audio, options=options)
    share = rng.uniform(0.0, 1.0, spec.shape).astype(np.float32)
    magnitude = np.abs(spec) * share
    expected = istft(spec * (magnitude / np.maximum(np.abs(spec), 1e-30)).astype(np.float32), options=options, length=3000)
    channels_last = np.moveaxis(np.ascontiguousarray(np.moveaxis(magnitude, 0, -1)), -1, 0)
    for layout in (magnitude, channels_last):
        restored = istft(spec, options=options, length=3000, magnitude=layout)
        np.testing.assert_allclose(restored, expected, atol=1e-5)
        assert np.all(np.isfinite(restored)) and not restored[:, :400].any()  # frames that see only the silence
    full = istft(spec, options=options, length=3000, magnitude=np.abs(spec))
    np.testing.assert_allclose(full, audio, atol=1e-5)
    with pytest.raises(ValueError, match="at most one"):
        istft(spec, options=options, length=3000, magnitude=magnitude, gain=share)
    with pytest.raises(ValueError, match="magnitude of shape"):
        istft(spec, options=options, length=3000, magnitude=magnitude[:, :, :-1])


def test_silence_gives_silence():
    options = StftOptions()
    spec = stft(np.zeros((2, 3000), dtype=np.float32), options=options)
    assert not spec.any()
    assert not istft(spec, options=options, length=3000).any()


def test_n_frames_and_bins():
    options = StftOptions()
    assert options.n_bins == 769
    assert n_frames(0, options=options) == 1
    assert n_frames(383, options=options) == 1
    assert n_frames(384, options=options) == 2
    assert n_frames(3 * 44100, options=options) == 345  # the platform note's figure
    with pytest.raises(ValueError, match="n_samples=-1"):
        n_frames(-1, options=options)


def test_analysis_window_is_periodic_hann():
    window = analysis_window(StftOptions(n_fft=16, hop_length=4))
    assert window.dtype == np.float32 and window[0] == 0.0 and window[8] == 1.0
    np.testing.assert_allclose(window[1:8], window[15:8:-1], atol=1e-7)  # periodic symmetry


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_fft": 1500 + 1}, "fft_window=1501; expected an even integer ≥ 16"),
        ({"n_fft": 8, "hop_length": 2}, "fft_window=8"),
        ({"n_fft": 1536.0}, "fft_window=1536.0"),
        ({"hop_length": 0}, "hop_length=0"),
        ({"hop_length": 769}, "hop_length=769; expected an integer between 1 and fft_window/2=768"),
        ({"window": "kaiser"}, "window='kaiser'; expected one of hann, hamming, blackman"),
    ],
)
def test_options_validation(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        StftOptions(**kwargs)


def test_window_name_ignores_case():
    assert StftOptions(window="Hann").window == "hann"


def test_shape_errors():
    options = StftOptions()
    with pytest.raises(ValueError, match=r"expected \(channels, samples\)"):
        stft(np.zeros(100, dtype=np.float32), options=options)
    with pytest.raises(ValueError, match=r"expected \(channels, 769, frames\)"):
        istft(np.zeros((1, 100, 4), dtype=np.complex64), options=options, length=100)
    with pytest.raises(ValueError, match="length=-1"):
        istft(np.zeros((1, 769, 4), dtype=np.complex64), options=options, length=-1)
