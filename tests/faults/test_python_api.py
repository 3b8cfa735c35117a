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


@pytest.mark.parametrize(("shape", "refused"), [((3, 3), False), ((3, 2), True), ((2, 1), False), ((1, 0), False)])
def test_only_more_channels_than_samples_beyond_stereo_is_refused(shape, refused):
    """Mono and stereo clips shorter than their channel count are still audio; 3 channels of 2 samples are not."""
    clip = np.full(shape, 0.1, dtype=np.float32)
    if refused:
        with pytest.raises(AudioError, match=r"expected \(channels, samples\)"):
            tiny_separator().separate(clip, SAMPLE_RATE)
        return
    stems = tiny_separator().separate(clip, SAMPLE_RATE)
    np.testing.assert_allclose(stems["vocals"] + stems["instrumental"], clip, atol=1e-6)


@pytest.mark.parametrize("peak", [3.4e38, 1e18])
def test_enormous_amplitude_is_refused_not_separated_into_nan(peak):
    """Finite samples this loud overflow float32 inside the separation (NaN stems, no error, before)."""
    samples = song_samples(seconds=1.0).astype(np.float64)
    loud = (samples / np.abs(samples).max() * peak).astype(np.float32)
    with pytest.raises(AudioError, match=r"^sample \d+ \(\d\.\d{3} s, channel \d\) is .*, beyond ±2\^31 .*normalise the audio's peak to 1\.0 and separate again$"):
        tiny_separator().separate(loud, SAMPLE_RATE)
