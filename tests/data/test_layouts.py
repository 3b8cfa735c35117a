"""Discovery of songs in every collection layout."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from unmix.data.layouts import ChannelSplit, channel_split_matcher, discover
from unmix.errors import ConfigurationError, DataError


@pytest.fixture
def tone_array(kit):
    return kit.tone


@pytest.fixture
def write(kit):
    return kit.write


def by_id(discovery):
    return {song.id: song for song in discovery.songs}


def test_mixed_collection_finds_every_layout(mixed_collection: Path, caplog):
    caplog.set_level(logging.INFO, logger="unmix.data.layouts")
    found = discover(mixed_collection, channel_split=ChannelSplit(patterns=("mir/*.flac",)))
    songs = by_id(found)
    assert sorted(songs) == [
        "dsd/Song B",
        "hq/Song C",
        "mir/clip_1.flac",
        "musdb/Artist - Title.stem.mp4",
        "seed/Song A",
    ]
    assert [s.id for s in found.songs] == sorted(songs)
    assert {s.id: s.layout for s in found.songs} == {
        "dsd/Song B": "tracks",
        "hq/Song C": "tracks",
        "mir/clip_1.flac": "channel_split",
        "musdb/Artist - Title.stem.mp4": "stems",
        "seed/Song A": "unmix",
    }
    assert "found 5 songs (1 unmix, 2 tracks, 1 stems, 1 channel-split)" in caplog.text
    assert "skipped 2 incomplete" in caplog.text


def test_unmix_layout_sources(mixed_collection: Path):
    song = by_id(discover(mixed_collection))["seed/Song A"]
    assert song.name == "Song A"
    assert [s.path.name for s in song.vocals] == ["vocals_Song A.wav"]
    assert [s.path.name for s in song.instrumental] == ["instrumental_Song A.flac"]


def test_track_folder_sums_parts_and_ignores_mixture(mixed_collection: Path):
    song = by_id(discover(mixed_collection))["dsd/Song B"]
    assert [s.path.name for s in song.vocals] == ["vocals.wav"]
    assert [s.path.name for s in song.instrumental] == ["drums.wav", "bass.wav", "other.wav"]


def test_track_folder_prefers_accompaniment_alone(mixed_collection: Path):
    song = by_id(discover(mixed_collection))["hq/Song C"]
    assert [s.path.name for s in song.instrumental] == ["accompaniment.flac"]


def test_track_folder_uses_instrumental_file(tmp_path: Path, tone_array, write):
    write(tmp_path / "s" / "vocals.wav", tone_array(440))
    write(tmp_path / "s" / "instrumental.wav", tone_array(220))
    write(tmp_path / "s" / "bass.wav", tone_array(110))
    song = discover(tmp_path).songs[0]
    assert [s.path.name for s in song.instrumental] == ["instrumental.wav"]


def test_stems_file_streams(mixed_collection: Path):
    song = by_id(discover(mixed_collection))["musdb/Artist - Title.stem.mp4"]
    assert song.name == "Artist - Title"
    assert [s.stream for s in song.vocals] == [4]
    assert [s.stream for s in song.instrumental] == [1, 2, 3]


def test_channel_split_only_with_patterns(mixed_collection: Path):
    assert "mir/clip_1.flac" not in by_id(discover(mixed_collection))
    split = ChannelSplit(patterns=("**/*.flac",), vocals_channel=1, instrumental_channel=0)
    songs = by_id(discover(mixed_collection / "mir", channel_split=split))
    song = songs["clip_1.flac"]
    assert song.layout == "channel_split" and song.name == "clip_1"
    assert (song.vocals[0].channel, song.instrumental[0].channel) == (1, 0)


def test_incomplete_songs_skipped_with_one_warning_each(mixed_collection: Path, caplog):
    caplog.set_level(logging.WARNING, logger="unmix.data.layouts")
    found = discover(mixed_collection)
    assert dict(found.skipped).keys() == {"broken/Lonely", "broken/NoVoice"}
    assert "instrumental_*" in dict(found.skipped)["broken/Lonely"]
    assert "without a vocals file" in dict(found.skipped)["broken/NoVoice"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all("skipped song" in r.getMessage() for r in warnings)


def test_song_folder_at_collection_root(tmp_path: Path, tone_array, write):
    write(tmp_path / "vocals.wav", tone_array(440))
    write(tmp_path / "other.wav", tone_array(220))
    (song,) = discover(tmp_path).songs
    assert song.id == "." and song.name == tmp_path.name


def test_ids_are_relative_and_stable(mixed_collection: Path, tmp_path: Path):
    first = [s.id for s in discover(mixed_collection).songs]
    moved = mixed_collection.rename(tmp_path / "elsewhere")
    assert [s.id for s in discover(moved).songs] == first


def test_missing_collection_names_folder_and_setting(tmp_path: Path):
    missing = tmp_path / "nope"
    with pytest.raises(DataError, match=r"nope does not exist.*collection\.folder.*UNMIX_COLLECTION_DIR"):
        discover(missing)
    assert not missing.exists()


def test_collection_that_is_a_file(tmp_path: Path, tone_array, write):
    file = write(tmp_path / "a.wav", tone_array(440))
    with pytest.raises(DataError, match="is not a folder"):
        discover(file)


def test_discover_creates_nothing(mixed_collection: Path):
    before = sorted(p for p in mixed_collection.rglob("*"))
    discover(mixed_collection, channel_split=ChannelSplit(patterns=("**/*.flac",)))
    assert sorted(p for p in mixed_collection.rglob("*")) == before


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("**/*.flac", "a.flac", True),
        ("**/*.flac", "x/y/a.flac", True),
        ("mir-1k/**/*.flac", "mir-1k/train/a.flac", True),
        ("mir-1k/*.flac", "mir-1k/train/a.flac", False),
        ("mir-1k/*.flac", "other/a.flac", False),
        ("*.wav", "a.flac", False),
        ("clip_?.flac", "clip_1.flac", True),
        ("clip_[!2].flac", "clip_2.flac", False),
    ],
)
def test_channel_split_patterns(pattern: str, path: str, expected: bool):
    assert channel_split_matcher(ChannelSplit(patterns=(pattern,)))(path) is expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patterns": "**/*.flac"}, "must be a list of globs"),
        ({"patterns": ("*.flac",), "vocals_channel": 0, "instrumental_channel": 0}, "two different channel"),
        ({"patterns": ("*.flac",), "vocals_channel": -1}, "two different channel"),
    ],
)
def test_channel_split_rejects_bad_options(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        ChannelSplit(**kwargs)


def test_channel_split_is_the_configuration_section_and_empty_patterns_are_off(mixed_collection: Path):
    """Issue 14: one type; ``collection.channel_split`` goes to ``discover`` as it is."""
    from unmix.config.schema import ChannelSplitOptions

    assert ChannelSplit is ChannelSplitOptions
    off = discover(mixed_collection, channel_split=ChannelSplitOptions())
    assert not [song for song in off.songs if song.layout == "channel_split"]
    on = discover(mixed_collection, channel_split=ChannelSplitOptions(patterns=["mir/*.flac"]))
    assert [song for song in on.songs if song.layout == "channel_split"]
