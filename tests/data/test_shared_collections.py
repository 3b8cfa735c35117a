"""Discovery and decoding on the real collections in ../shared/data (one or two songs decoded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from unmix import audio
from unmix.data.layouts import ChannelSplit, discover
from unmix.data.songs import load_song
from unmix.data.split import match_names, read_split_file, split_songs

pytestmark = pytest.mark.shared_data


def test_musdb_preview_is_94_stems_songs(shared_data: Path):
    found = discover(shared_data / "musdb18-7")
    assert len(found.songs) == 94 and found.skipped == ()
    assert {song.layout for song in found.songs} == {"stems"}
    assert all(song.id.startswith("train/") and song.id.endswith(".stem.mp4") for song in found.songs)


def test_musdb_official_validation_split(shared_data: Path):
    names = read_split_file(shared_data / "musdb18-7" / "splits.tsv")
    assert len(names) == 14 and "ANiMAL - Rockshow" in names
    assert len(read_split_file(shared_data / "musdb18-7" / "splits.tsv", split_name="train")) == 80
    ids = [song.id for song in discover(shared_data / "musdb18-7").songs]
    validation = match_names(ids, names)
    assert len(validation) == 14 and "train/ANiMAL - Rockshow.stem.mp4" in validation
    result = split_songs(ids, test_data_count=0, song_limit=0, validation_ratio=0.2, validation_ids=validation)
    assert set(result.validation) == validation and len(result.training) == 80


def test_musdb_stems_track_at_11025(shared_data: Path):
    song = next(s for s in discover(shared_data / "musdb18-7").songs if s.name == "ANiMAL - Rockshow")
    vocals, instrumental = load_song(song, sample_rate=11025, n_channels=2)
    expected = round(300032 * 11025 / 44100)
    assert vocals.shape == instrumental.shape and vocals.dtype == np.float32
    assert vocals.shape[0] == 2 and abs(vocals.shape[1] - expected) <= 16
    assert np.abs(vocals).max() > 0.01 and np.abs(instrumental).max() > 0.01


def test_mir1k_is_175_channel_split_songs(shared_data: Path):
    found = discover(shared_data / "mir-1k", channel_split=ChannelSplit(patterns=("**/*.flac",)))
    assert len(found.songs) == 175 and found.skipped == ()
    assert {song.layout for song in found.songs} == {"channel_split"}
    assert "train/abjones_1_01.flac" in {song.id for song in found.songs}


def test_mir1k_vocals_are_the_right_channel(shared_data: Path):
    found = discover(shared_data / "mir-1k", channel_split=ChannelSplit(patterns=("**/*.flac",)))
    song = next(s for s in found.songs if s.id == "train/abjones_1_01.flac")
    vocals, instrumental = load_song(song, sample_rate=16000, n_channels=2)
    raw, sample_rate = audio.load(shared_data / "mir-1k" / "train" / "abjones_1_01.flac")
    assert sample_rate == 16000 and raw.shape[0] == 2
    np.testing.assert_allclose(vocals, raw[[1, 1]], atol=1e-6)
    np.testing.assert_allclose(instrumental, raw[[0, 0]], atol=1e-6)
