"""Preparing a collection into the cache: reuse, invalidation, failures, workers."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from unmix.data.cache import cache_path, read_stems
from unmix.data.layouts import discover
from unmix.data.prepare import prepare
from unmix.data.songs import load_song
from unmix.errors import ConfigurationError, DataError


@pytest.fixture
def collection(tmp_path: Path, kit) -> Path:
    root = tmp_path / "collection"
    for k, name in enumerate(("one", "two", "three")):
        kit.write(root / name / f"vocals_{name}.wav", kit.tone(440 + 10 * k))
        kit.write(root / name / f"instrumental_{name}.wav", kit.tone(220 + 10 * k))
    return root


def mtimes(cache_dir: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in cache_dir.glob("*.h5")}


def run(songs, cache_dir: Path, sample_rate: int = 8000, **kwargs):
    return prepare(songs, cache_dir=cache_dir, sample_rate=sample_rate, n_channels=2, workers=kwargs.pop("workers", 1),
                   progress=kwargs.pop("progress", False), **kwargs)


def test_prepare_builds_every_song(collection: Path, tmp_path: Path, kit):
    songs = discover(collection).songs
    prepared = run(songs, tmp_path / "cache")
    assert [c.song_id for c in prepared.cached] == [s.id for s in songs] and prepared.failed == ()
    vocals, instrumental = read_stems(prepared.cached[0])
    expected = load_song(songs[0], sample_rate=8000, n_channels=2)
    np.testing.assert_array_equal(vocals, expected[0])
    np.testing.assert_array_equal(instrumental, expected[1])
    assert not list((tmp_path / "cache").glob("*.tmp"))


def test_second_prepare_reuses_cache(collection: Path, tmp_path: Path, caplog):
    songs = discover(collection).songs
    run(songs, tmp_path / "cache")
    before = mtimes(tmp_path / "cache")
    with caplog.at_level(logging.INFO, logger="unmix.data.prepare"):
        again = run(songs, tmp_path / "cache")
    assert mtimes(tmp_path / "cache") == before and len(before) == 3
    assert len(again.cached) == 3
    assert "(3 reused, 0 built); 0 failed" in caplog.text


def test_changed_source_rebuilds_only_that_song(collection: Path, tmp_path: Path, kit):
    songs = discover(collection).songs
    run(songs, tmp_path / "cache")
    before = mtimes(tmp_path / "cache")
    changed = songs[0].vocals[0].path
    kit.write(changed, kit.tone(1000))
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    prepared = run(songs, tmp_path / "cache")
    after = mtimes(tmp_path / "cache")
    rebuilt = cache_path(tmp_path / "cache", songs[0].id).name
    assert after[rebuilt] != before[rebuilt]
    assert {k: v for k, v in after.items() if k != rebuilt} == {k: v for k, v in before.items() if k != rebuilt}
    np.testing.assert_allclose(read_stems(prepared.cached[0])[0], kit.tone(1000), atol=1e-6)


def test_sample_rate_change_rebuilds(collection: Path, tmp_path: Path):
    songs = discover(collection).songs
    run(songs, tmp_path / "cache")
    prepared = run(songs, tmp_path / "cache", sample_rate=4000)
    assert {c.sample_rate for c in prepared.cached} == {4000}
    assert {c.n_samples for c in prepared.cached} == {800}


def test_half_written_files_are_rebuilt(collection: Path, tmp_path: Path):
    songs = discover(collection).songs
    cache = tmp_path / "cache"
    run(songs, cache)
    killed = cache_path(cache, songs[0].id)
    killed.unlink()
    killed.with_name(killed.name + ".tmp").write_bytes(b"half a file")  # a run killed while writing
    incomplete = cache_path(cache, songs[1].id)
    with h5py.File(incomplete, "a") as file:
        del file.attrs["complete"]
    prepared = run(songs, cache)
    assert len(prepared.cached) == 3 and prepared.failed == ()
    assert not killed.with_name(killed.name + ".tmp").exists()
    with h5py.File(incomplete, "r") as file:
        assert file.attrs["complete"]
    with h5py.File(killed, "r") as file:
        assert file.attrs["complete"]


def test_temporaries_of_dead_writers_are_removed_and_live_ones_kept(collection: Path, tmp_path: Path):
    import subprocess
    import sys

    songs = discover(collection).songs
    cache = tmp_path / "cache"
    cache.mkdir()
    path = cache_path(cache, songs[0].id)
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead = path.with_name(f"{path.name}.{finished.stdout.strip()}-0badf00d.tmp")
    live = path.with_name(f"{path.name}.{os.getpid()}-0badf00d.tmp")  # another writer of this process, still at work
    for temporary in (dead, live):
        temporary.write_bytes(b"half a file")
    prepared = run(songs, cache)
    assert len(prepared.cached) == 3
    assert not dead.exists() and live.exists()


def test_full_disk_stops_preparation_with_one_line(collection: Path, tmp_path: Path, monkeypatch):
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(h5py.Group, "create_dataset", full)
    with pytest.raises(DataError, match=r"^no space left on device while writing .*\.h5; free space, then prepare the collection again$"):
        run(discover(collection).songs, tmp_path / "cache")
    left = [p.name for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".lock")]
    assert left == [], "a partial cache file was left"


def test_a_song_that_would_not_fit_is_not_started(collection: Path, tmp_path: Path, monkeypatch):
    """HDF5 can crash when the disk fills while it writes: a cache file that would not fit is refused first."""
    import shutil

    from unmix.data import disk

    monkeypatch.setattr(disk.shutil, "disk_usage", lambda folder: shutil._ntuple_diskusage(10**9, 10**9 - 4096, 4096))
    opened = []
    monkeypatch.setattr(h5py, "File", lambda *args, **kwargs: opened.append(args) or pytest.fail("h5py opened a file"))
    with pytest.raises(DataError, match=r"^no space left on device while writing .*\.h5; free space"):
        run(discover(collection).songs, tmp_path / "cache")
    assert opened == []


def test_an_unwritable_cache_folder_is_one_line(collection: Path, tmp_path: Path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(DataError, match=r"cannot create the cache folder .*file/cache: .*writable working directory"):
        run(discover(collection).songs, tmp_path / "file" / "cache")


def test_corrupt_song_does_not_stop_the_rest(collection: Path, tmp_path: Path, caplog):
    (collection / "two" / "vocals_two.wav").write_bytes(b"RIFF broken")
    songs = discover(collection).songs
    with caplog.at_level(logging.WARNING, logger="unmix.data.prepare"):
        prepared = run(songs, tmp_path / "cache")
    assert [c.song_id for c in prepared.cached] == ["one", "three"]
    assert [song_id for song_id, _ in prepared.failed] == ["two"]
    assert "vocals_two.wav" in prepared.failed[0][1]
    assert "song 'two' not prepared" in caplog.text and "; 1 failed" in caplog.text


def test_source_deleted_after_discovery(collection: Path, tmp_path: Path):
    songs = discover(collection).songs
    (collection / "one" / "instrumental_one.wav").unlink()
    prepared = run(songs, tmp_path / "cache")
    assert [song_id for song_id, _ in prepared.failed] == ["one"] and len(prepared.cached) == 2


def test_parallel_workers(collection: Path, tmp_path: Path, kit, caplog):
    (collection / "two" / "vocals_two.wav").write_bytes(b"RIFF broken")
    kit.write(collection / "three" / "instrumental_three.wav", kit.tone(230, duration_s=1.5))
    songs = discover(collection).songs
    with caplog.at_level(logging.WARNING):
        prepared = run(songs, tmp_path / "cache", workers=2)
    # Warnings raised inside a worker process reach the parent's log.
    assert any(r.name == "unmix.data.songs" and "'three'" in r.getMessage() for r in caplog.records)
    assert [c.song_id for c in prepared.cached] == ["one", "three"]
    assert [song_id for song_id, _ in prepared.failed] == ["two"]
    inline = run(songs, tmp_path / "inline")
    for a, b in zip(prepared.cached, inline.cached):
        np.testing.assert_array_equal(read_stems(a)[0], read_stems(b)[0])


def test_progress_bar_on_stderr(collection: Path, tmp_path: Path, capsys):
    run(discover(collection).songs, tmp_path / "cache", progress=True)
    captured = capsys.readouterr()
    assert "preparing" in captured.err and captured.out == ""


def test_cache_inside_collection_is_refused(collection: Path):
    songs = discover(collection).songs
    with pytest.raises(DataError, match=r"cache folder .*cache lies inside the collection .*collection"):
        run(songs, collection / "cache")
    with pytest.raises(DataError, match="lies inside the collection"):
        run([], collection / "sub" / "cache", collection_folder=collection)
    assert not (collection / "cache").exists()


def test_bad_workers(collection: Path, tmp_path: Path):
    with pytest.raises(ConfigurationError, match="workers must be a whole number >= 1; received workers=0"):
        run(discover(collection).songs, tmp_path / "cache", workers=0)


def test_duplicate_ids(collection: Path, tmp_path: Path):
    song = discover(collection).songs[0]
    with pytest.raises(DataError, match="duplicate song ids"):
        run([song, song], tmp_path / "cache")


def test_bad_channel_count(collection: Path, tmp_path: Path):
    with pytest.raises(ConfigurationError, match="n_channels must be 1 or 2; received n_channels=3"):
        prepare(discover(collection).songs, cache_dir=tmp_path / "cache", sample_rate=8000, n_channels=3)
