"""The h5 preparation cache: layout, validity checks and slice reads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from unmix.data.cache import (
    CHUNK_SAMPLES,
    CachedSong,
    cache_key,
    cache_path,
    open_cached,
    open_stems,
    read_stems,
    write_cached,
)
from unmix.data.songs import Song, StemSource
from unmix.errors import DataError


@pytest.fixture
def song(tmp_path: Path, kit) -> Song:
    vocals = kit.write(tmp_path / "col" / "s" / "vocals_s.wav", kit.tone(440))
    instrumental = kit.write(tmp_path / "col" / "s" / "instrumental_s.wav", kit.tone(220))
    return Song(
        id="s", name="s", layout="unmix", vocals=(StemSource(vocals),), instrumental=(StemSource(instrumental),)
    )


@pytest.fixture
def stems(rng) -> tuple[np.ndarray, np.ndarray]:
    n = CHUNK_SAMPLES + 1000  # more than one chunk
    return rng.standard_normal((2, n)).astype(np.float32), rng.standard_normal((2, n)).astype(np.float32)


def test_cache_path_is_readable_and_unique(tmp_path: Path):
    a = cache_path(tmp_path, "train/Artist - Title.stem.mp4")
    assert a.parent == tmp_path and a.suffix == ".h5"
    assert a.name.startswith("train-Artist-Title-stem-mp4-")
    assert cache_path(tmp_path, "train/Artist - Title.stem.mp4") == a
    assert cache_path(tmp_path, "train/Artist_Title.stem.mp4") != a  # same slug, different hash
    assert cache_path(tmp_path, "").name.startswith("song-")


def test_round_trip_and_attributes(tmp_path: Path, song: Song, stems):
    key = cache_key(song, sample_rate=8000, n_channels=2)
    path = cache_path(tmp_path / "cache", song.id)
    path.parent.mkdir()
    cached = write_cached(path, song=song, key=key, vocals=stems[0], instrumental=stems[1], sample_rate=8000)
    assert cached == CachedSong(song_id="s", path=path, n_samples=stems[0].shape[1], sample_rate=8000, n_channels=2)
    assert open_cached(path, key=key) == cached
    assert not path.with_name(path.name + ".tmp").exists()
    with h5py.File(path, "r") as file:
        assert file["vocals"].dtype == np.float32 and file["vocals"].chunks == (2, CHUNK_SAMPLES)
        attrs = dict(file.attrs)
    assert attrs["complete"] and attrs["key"] == key and attrs["layout"] == "unmix" and attrs["song_id"] == "s"
    assert (attrs["sample_rate"], attrs["n_channels"], attrs["n_samples"]) == (8000, 2, stems[0].shape[1])
    assert json.loads(attrs["sources"])["vocals"][0]["path"] == str(song.vocals[0].path)


def test_read_stems_slices(tmp_path: Path, song: Song, stems):
    path = tmp_path / "c.h5"
    cached = write_cached(path, song=song, key="k", vocals=stems[0], instrumental=stems[1], sample_rate=8000)
    vocals, instrumental = read_stems(cached, start=100, stop=CHUNK_SAMPLES + 50)
    np.testing.assert_array_equal(vocals, stems[0][:, 100 : CHUNK_SAMPLES + 50])
    np.testing.assert_array_equal(instrumental, stems[1][:, 100 : CHUNK_SAMPLES + 50])
    whole, _ = read_stems(cached)
    np.testing.assert_array_equal(whole, stems[0])
    tail, _ = read_stems(cached, start=cached.n_samples - 10, stop=cached.n_samples + 500)
    assert tail.shape == (2, 10)  # stop is clipped as in a slice
    with open_stems(cached) as reader:
        a, _ = reader.read(start=0, stop=5)
        b, _ = reader.read(start=5, stop=10)
        handle = reader._file
    np.testing.assert_array_equal(np.concatenate([a, b], axis=1), stems[0][:, :10])
    assert not handle.id.valid  # closed on exit


@pytest.mark.parametrize(("start", "stop"), [(-1, 10), (10, 5)])
def test_read_stems_rejects_bad_ranges(tmp_path: Path, song: Song, stems, start, stop):
    cached = write_cached(
        tmp_path / "c.h5", song=song, key="k", vocals=stems[0], instrumental=stems[1], sample_rate=8000
    )
    with pytest.raises(DataError, match=rf"song 's': cannot read samples \[{start}, {stop}\)"):
        read_stems(cached, start=start, stop=stop)


def test_read_stems_of_missing_file(tmp_path: Path):
    cached = CachedSong(song_id="gone", path=tmp_path / "gone.h5", n_samples=10, sample_rate=8000, n_channels=2)
    with pytest.raises(DataError, match="song 'gone': cannot open cache file .*prepare the collection again"):
        read_stems(cached)


def test_write_rejects_mismatched_stems(tmp_path: Path, song: Song):
    with pytest.raises(DataError, match=r"song 's': cannot cache stems of shapes \(2, 10\) and \(2, 9\)"):
        write_cached(
            tmp_path / "c.h5", song=song, key="k", vocals=np.zeros((2, 10), np.float32),
            instrumental=np.zeros((2, 9), np.float32), sample_rate=8000,
        )
    assert not list(tmp_path.glob("c.h5*"))


def test_incomplete_foreign_or_stale_files_are_not_trusted(tmp_path: Path, song: Song, stems):
    path = tmp_path / "c.h5"
    assert open_cached(path, key="k") is None  # missing
    write_cached(path, song=song, key="k", vocals=stems[0], instrumental=stems[1], sample_rate=8000)
    assert open_cached(path, key="other") is None  # stale key
    with h5py.File(path, "a") as file:
        del file.attrs["complete"]
    assert open_cached(path, key="k") is None  # half written
    path.write_bytes(b"\x89HDF\r\n\x1a\n truncated")
    assert open_cached(path, key="k") is None  # garbage


def test_key_follows_sources_and_settings(song: Song):
    key = cache_key(song, sample_rate=8000, n_channels=2)
    assert cache_key(song, sample_rate=8000, n_channels=2) == key
    assert cache_key(song, sample_rate=16000, n_channels=2) != key
    assert cache_key(song, sample_rate=8000, n_channels=1) != key
    source = song.instrumental[0].path
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert cache_key(song, sample_rate=8000, n_channels=2) != key


def test_key_of_missing_source(song: Song):
    song.vocals[0].path.unlink()
    with pytest.raises(DataError, match="song 's': cannot read .*vocals_s.wav"):
        cache_key(song, sample_rate=8000, n_channels=2)
