"""Songs without vocals (collection.accompaniments): discovery, decoding and preparation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from unmix.config.schema import CollectionOptions
from unmix.data.accompaniments import accompaniment_songs
from unmix.data.collection import prepare_collection
from unmix.data.songs import load_song
from unmix.errors import ConfigurationError, DataError


@pytest.fixture
def backing(tmp_path: Path, kit) -> Path:
    """Two plain instrumentals and one Frets on Fire song (song.ini, song.ogg + guitar.ogg)."""
    folder = tmp_path / "backing"
    kit.write(folder / "karaoke one.wav", kit.tone(220))
    kit.write(folder / "sub" / "karaoke two.flac", kit.tone(330))
    kit.write(folder / "Metal madness" / "song.ogg", kit.tone(440))
    kit.write(folder / "Metal madness" / "guitar.ogg", kit.tone(550))
    (folder / "Metal madness" / "song.ini").write_text("[song]\nname = Metal madness\n")
    (folder / "Metal madness" / "notes.mid").write_bytes(b"MThd")
    kit.write(folder / ".hidden" / "x.wav", kit.tone(660))
    (folder / "library.ini").write_text("[library]\n")
    return folder


def test_each_file_or_frets_on_fire_folder_is_one_accompaniment(backing: Path):
    songs = {song.id: song for song in accompaniment_songs(backing.parent, ["backing"])}
    assert sorted(songs) == ["accompaniment:backing/Metal madness", "accompaniment:backing/karaoke one.wav", "accompaniment:backing/sub/karaoke two.flac"]
    fof = songs["accompaniment:backing/Metal madness"]
    assert fof.layout == "accompaniment" and fof.vocals == () and sorted(s.path.name for s in fof.instrumental) == ["guitar.ogg", "song.ogg"]
    assert [s.id for s in accompaniment_songs(Path("/elsewhere"), [str(backing)])][0] == f"accompaniment:{backing}/Metal madness"


def test_an_accompaniment_decodes_to_silent_vocals_over_the_sum_of_its_parts(backing: Path, kit):
    song = next(s for s in accompaniment_songs(backing.parent, ["backing"]) if s.name == "Metal madness")
    vocals, instrumental = load_song(song, sample_rate=kit.sample_rate, n_channels=2)
    assert vocals.shape == instrumental.shape and not vocals.any()
    expected = kit.tone(440) + kit.tone(550)
    np.testing.assert_allclose(instrumental[:, 200:1400], expected[:, 200:1400], atol=0.02)  # ogg is lossy


def test_a_missing_or_empty_accompaniment_folder_is_one_line(tmp_path: Path):
    with pytest.raises(ConfigurationError, match=r"collection\.accompaniments: folder .*nowhere not found \(from 'nowhere'\)"):
        accompaniment_songs(tmp_path, ["nowhere"])
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no audio")
    with pytest.raises(ConfigurationError, match=r"collection\.accompaniments: no audio files in .*empty"):
        accompaniment_songs(tmp_path, ["empty"])


def test_accompaniments_are_prepared_for_training_only(mixed_collection: Path, tmp_path: Path, kit):
    kit.write(tmp_path / "backing" / "a.wav", kit.tone(220, duration_s=0.5))
    kit.write(tmp_path / "backing" / "broken.wav", kit.tone(220))
    (tmp_path / "backing" / "broken.wav").write_bytes(b"RIFF not audio")
    options = CollectionOptions(folder=str(mixed_collection), sample_rate=kit.sample_rate, test_data_count=0, validation_ratio=0.0,
                                accompaniments=(str(tmp_path / "backing"),))  # fmt: skip
    assert prepare_collection(options, cache_dir=tmp_path / "cache", workers=1, progress=False).accompaniments == ()  # an evaluation's
    prepared = prepare_collection(options, cache_dir=tmp_path / "cache", workers=1, progress=False, accompaniments=True)
    assert [song.song_id for song in prepared.accompaniments] == [f"accompaniment:{tmp_path / 'backing'}/a.wav"]
    split_ids = set(prepared.split.training) | set(prepared.split.validation) | set(prepared.split.test)
    assert not any(i.startswith("accompaniment:") for i in split_ids)
    assert prepared.accompaniments[0].n_samples == int(0.5 * kit.sample_rate)
    only_broken = CollectionOptions(**{**options.__dict__, "accompaniments": (str(tmp_path / "backing" / "none"),)})
    with pytest.raises(ConfigurationError, match="not found"):
        prepare_collection(only_broken, cache_dir=tmp_path / "cache", workers=1, progress=False, accompaniments=True)
    (tmp_path / "backing" / "a.wav").unlink()
    with pytest.raises(DataError, match=r"none of the 1 songs of collection\.accompaniments could be decoded"):
        prepare_collection(options, cache_dir=tmp_path / "cache", workers=1, progress=False, accompaniments=True)
