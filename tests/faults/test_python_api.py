"""Fault injection on the Python API: ``Separator.separate`` on arrays as users hand them over.

The separator is the web tests' tiny NumPy one (no model is loaded): what is under test is what
``separate`` accepts, not what a model makes of it.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from tests.web.support import SAMPLE_RATE, song_samples, tiny_separator
from unmix.errors import AudioError


@pytest.mark.parametrize("n_channels", [1, 2, 6])
def test_soundfile_layout_is_refused_with_the_expected_layout(tmp_path, n_channels):
    """``soundfile.read`` gives (frames, channels): read the other way it was thousands of channels, and hung."""
    path = tmp_path / "song.wav"
    soundfile.write(path, song_samples(seconds=1.0, n_channels=n_channels).T, SAMPLE_RATE)
    frames, rate = soundfile.read(path, dtype="float32", always_2d=True)
    separator = tiny_separator()
    with pytest.raises(AudioError, match=r"^received audio of shape \(8000, \d\), more channels \(8000\) than samples \(\d\); expected \(channels, samples\): pass samples\.T"):
        separator.separate(frames, rate)
    stems = separator.separate(frames.T, rate)  # what the message says to do works
    assert stems["vocals"].shape == (n_channels, frames.shape[0])


@pytest.mark.parametrize(("shape", "refused"), [((3, 3), False), ((3, 2), True), ((2, 1), False), ((1, 1), False)])
def test_only_more_channels_than_samples_beyond_stereo_is_refused(shape, refused):
    """Mono and stereo clips shorter than their channel count are still audio; 3 channels of 2 samples are not."""
    clip = np.full(shape, 0.1, dtype=np.float32)
    if refused:
        with pytest.raises(AudioError, match=r"expected \(channels, samples\)"):
            tiny_separator().separate(clip, SAMPLE_RATE)
        return
    stems = tiny_separator().separate(clip, SAMPLE_RATE)
    np.testing.assert_allclose(stems["vocals"] + stems["instrumental"], clip, atol=1e-6)


@pytest.mark.parametrize("shape", [(2, 0), (1, 0), (6, 0)])
def test_audio_with_no_samples_is_refused_in_one_line(shape):
    """Zero samples were "separated" into empty stems without a word (issue 29, zero-sample audio)."""
    with pytest.raises(AudioError, match=rf"^received audio of shape \({shape[0]}, 0\), with no samples; expected \(channels, samples\) with at least one sample: there is nothing to separate$"):
        tiny_separator().separate(np.zeros(shape, np.float32), SAMPLE_RATE)


def test_a_file_with_no_samples_is_refused_and_leaves_no_stem(tmp_path):
    song = tmp_path / "empty.wav"
    soundfile.write(song, np.zeros((0, 2), np.float32), SAMPLE_RATE)
    with pytest.raises(AudioError, match=rf"^audio file {song} holds no samples \(0 s of audio\): there is nothing to separate; re-export it, or leave it out$"):
        tiny_separator().separate_file(song, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("peak", [3.4e38, 1e18])
def test_enormous_amplitude_is_refused_not_separated_into_nan(peak):
    """Finite samples this loud overflow float32 inside the separation (NaN stems, no error, before)."""
    samples = song_samples(seconds=1.0).astype(np.float64)
    loud = (samples / np.abs(samples).max() * peak).astype(np.float32)
    with pytest.raises(AudioError, match=r"^sample \d+ \(\d\.\d{3} s, channel \d\) is .*, beyond ±2\^31 .*normalise the audio's peak to 1\.0 and separate again$"):
        tiny_separator().separate(loud, SAMPLE_RATE)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_audio_is_refused_in_one_line(dtype):
    """numpy dropped the imaginary part with only its ComplexWarning, and the real part was separated (issue 29, minor 17)."""
    samples = (song_samples(seconds=0.5) + 0.1j).astype(dtype)
    with pytest.raises(AudioError, match=r"^received complex audio \(dtype complex\d+\); expected real samples: pass samples\.real, or np\.abs\(samples\)"):
        tiny_separator().separate(samples, SAMPLE_RATE)


def test_audio_that_is_not_numbers_is_refused_in_one_line():
    with pytest.raises(AudioError, match=r"^received audio of dtype <U\d+ that does not hold plain numbers"):
        tiny_separator().separate(np.array([["a", "b"], ["c", "d"]]), SAMPLE_RATE)


def test_no_numpy_warning_on_the_way_in(recwarn):
    """A float64 beyond float32's range met check_samples as inf, after numpy's "overflow encountered in cast"."""
    with pytest.raises(AudioError, match=r"^sample 0 \(0\.000 s, channel 0\) is 1e\+39, beyond ±2\^31"):
        tiny_separator().separate(np.full((2, SAMPLE_RATE), 1e39), SAMPLE_RATE)
    stems = tiny_separator().separate(song_samples(seconds=0.5).astype(np.float16), SAMPLE_RATE)  # 2^31 overflows float16
    assert stems["vocals"].dtype == np.float32
    assert [str(w.message) for w in recwarn] == []
