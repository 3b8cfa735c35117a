"""Decoding a song's vocals and instrumental with load_song."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from unmix.data.layouts import ChannelSplit, discover
from unmix.data.songs import Song, StemSource, load_song
from unmix.errors import DataError


def only_song(folder: Path, **kwargs) -> Song:
    (song,) = discover(folder, **kwargs).songs
    return song


def test_unmix_layout_round_trip(tmp_path: Path, kit):
    vocals, instrumental = kit.tone(440), kit.tone(220)
    kit.write(tmp_path / "s" / "vocals_s.wav", vocals)
    kit.write(tmp_path / "s" / "instrumental_s.wav", instrumental)
    got_vocals, got_instrumental = load_song(only_song(tmp_path), sample_rate=kit.sample_rate, n_channels=2)
    assert got_vocals.dtype == np.float32 and got_vocals.shape == vocals.shape
    np.testing.assert_allclose(got_vocals, vocals, atol=1e-6)
    np.testing.assert_allclose(got_instrumental, instrumental, atol=1e-6)


def test_track_parts_are_summed(tmp_path: Path, kit):
    parts = [kit.tone(f, amplitude=0.1) for f in (110, 220, 330)]
    kit.write(tmp_path / "s" / "vocals.wav", kit.tone(440))
    for name, part in zip(("drums", "bass", "other"), parts):
        kit.write(tmp_path / "s" / f"{name}.wav", part)
    _, instrumental = load_song(only_song(tmp_path), sample_rate=kit.sample_rate, n_channels=2)
    np.testing.assert_allclose(instrumental, sum(parts), atol=1e-6)


def test_resampling_and_mono(tmp_path: Path, kit):
    kit.write(tmp_path / "s" / "vocals_s.wav", kit.tone(440))
    kit.write(tmp_path / "s" / "instrumental_s.wav", kit.tone(220))
    vocals, instrumental = load_song(only_song(tmp_path), sample_rate=kit.sample_rate // 2, n_channels=1)
    assert vocals.shape == instrumental.shape == (1, int(0.2 * kit.sample_rate / 2))


def test_channel_split_picks_and_duplicates_channels(tmp_path: Path, kit):
    left, right = kit.tone(220, n_channels=1)[0], kit.tone(660, n_channels=1)[0]
    kit.write(tmp_path / "clip.flac", np.stack([left, right]))
    song = only_song(tmp_path, channel_split=ChannelSplit(patterns=("*.flac",)))
    vocals, instrumental = load_song(song, sample_rate=kit.sample_rate, n_channels=2)
    np.testing.assert_allclose(vocals, np.stack([right, right]), atol=1e-4)
    np.testing.assert_allclose(instrumental, np.stack([left, left]), atol=1e-4)
    vocals, _ = load_song(song, sample_rate=kit.sample_rate, n_channels=1)
    np.testing.assert_allclose(vocals, right[None], atol=1e-4)


def test_channel_split_of_mono_file_is_an_error(tmp_path: Path, kit):
    kit.write(tmp_path / "clip.flac", kit.tone(220, n_channels=1))
    song = only_song(tmp_path, channel_split=ChannelSplit(patterns=("*.flac",)))
    with pytest.raises(DataError, match=r"'clip.flac'.*has 1 channel\(s\); channel 1"):
        load_song(song, sample_rate=kit.sample_rate, n_channels=2)


def test_stems_mp4_streams(tmp_path: Path, kit, stems_tones):
    kit.stems_mp4(tmp_path / "A - B.stem.mp4", stems_tones)
    vocals, instrumental = load_song(only_song(tmp_path), sample_rate=44100, n_channels=2)
    n = stems_tones[0].shape[1]
    assert vocals.shape == instrumental.shape and abs(vocals.shape[1] - n) <= 2048
    # AAC is lossy: compare the steady middle by correlation.
    middle = slice(2048, n - 2048)
    expected_instrumental = stems_tones[1] + stems_tones[2] + stems_tones[3]
    assert np.corrcoef(vocals[0, middle], stems_tones[4][0, middle])[0, 1] > 0.95
    assert np.corrcoef(instrumental[0, middle], expected_instrumental[0, middle])[0, 1] > 0.95


def test_lengths_trimmed_to_shortest_with_warning(tmp_path: Path, kit, caplog):
    kit.write(tmp_path / "s" / "vocals_s.wav", kit.tone(440, duration_s=0.2))
    kit.write(tmp_path / "s" / "instrumental_s.wav", kit.tone(220, duration_s=1.5))
    with caplog.at_level(logging.WARNING, logger="unmix.data.songs"):
        vocals, instrumental = load_song(only_song(tmp_path), sample_rate=kit.sample_rate, n_channels=2)
    assert vocals.shape == instrumental.shape == (2, int(0.2 * kit.sample_rate))
    assert "differ in length; trimmed to the shorter" in caplog.text and "'s'" in caplog.text


def test_small_length_difference_trimmed_silently(tmp_path: Path, kit, caplog):
    kit.write(tmp_path / "s" / "vocals_s.wav", kit.tone(440, duration_s=0.2))
    kit.write(tmp_path / "s" / "instrumental_s.wav", kit.tone(220, duration_s=0.5))
    with caplog.at_level(logging.WARNING, logger="unmix.data.songs"):
        vocals, instrumental = load_song(only_song(tmp_path), sample_rate=kit.sample_rate, n_channels=2)
    assert vocals.shape[1] == instrumental.shape[1] == int(0.2 * kit.sample_rate)
    assert caplog.text == ""


def test_undecodable_stem_names_song_and_file(tmp_path: Path, kit):
    kit.write(tmp_path / "s" / "vocals_s.wav", kit.tone(440))
    (tmp_path / "s" / "instrumental_s.wav").write_bytes(b"RIFF garbage, not a wave file")
    with pytest.raises(DataError, match=r"song 's': cannot decode .*instrumental_s\.wav"):
        load_song(only_song(tmp_path), sample_rate=kit.sample_rate, n_channels=2)


def test_bad_channel_count(tmp_path: Path):
    song = Song(id="x", name="x", layout="unmix", vocals=(StemSource(tmp_path / "v.wav"),), instrumental=())
    with pytest.raises(DataError, match="n_channels must be 1 or 2; received n_channels=3"):
        load_song(song, sample_rate=8000, n_channels=3)


def test_song_without_instrumental_source(tmp_path: Path, kit):
    path = kit.write(tmp_path / "v.wav", kit.tone(440))
    song = Song(id="x", name="x", layout="unmix", vocals=(StemSource(path),), instrumental=())
    with pytest.raises(DataError, match="song 'x': no instrumental source"):
        load_song(song, sample_rate=kit.sample_rate, n_channels=2)
