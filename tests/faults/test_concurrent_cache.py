"""Two trainings started together into one working folder share its cache (issue: fault injection 1).

Before: both processes wrote ``<song>.h5.tmp``; one failed with ``BlockingIOError: unable to lock
file`` (HDF5's lock on the other's temporary), the other with ``FileNotFoundError`` (its rename
found the file already moved), and the song was left out of both runs.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from unmix.data.cache import cache_key, cache_path, open_cached, read_stems, write_cached
from unmix.data.layouts import discover
from unmix.data.lock import file_lock, lock_path
from unmix.data.prepare import build_song, prepare
from unmix.data.songs import load_song

SAMPLE_RATE = 11025


def _prepare_in_a_process(collection: str, cache_dir: str, barrier, results) -> None:
    """One 'training' preparing the whole collection (runs in a spawned process)."""
    songs = discover(Path(collection)).songs
    barrier.wait(timeout=120)
    try:
        prepared = prepare(songs, cache_dir=Path(cache_dir), sample_rate=SAMPLE_RATE, n_channels=2, workers=1, progress=False)
        results.put(("ok", [c.song_id for c in prepared.cached], [reason for _, reason in prepared.failed]))
    except BaseException as error:  # reported to the test, which names it
        results.put(("error", repr(error), []))


def test_two_processes_prepare_one_cache_and_both_see_every_song(tmp_path: Path, kit) -> None:
    collection = kit.generate_collection(tmp_path / "collection", n_songs=8, seconds=6.0)
    expected = sorted(song.id for song in discover(collection).songs)
    context = multiprocessing.get_context("spawn")
    for attempt in range(3):  # the same second, the same empty cache: three times over
        cache_dir = tmp_path / f"cache{attempt}"
        barrier, results = context.Barrier(2), context.Queue()
        processes = [context.Process(target=_prepare_in_a_process, args=(str(collection), str(cache_dir), barrier, results)) for _ in range(2)]
        for process in processes:
            process.start()
        outcomes = [results.get(timeout=240) for _ in processes]
        for process in processes:
            process.join(timeout=60)
            assert process.exitcode == 0
        for status, ids, failures in outcomes:
            assert status == "ok", ids
            assert failures == []
            assert sorted(ids) == expected
        assert not list(cache_dir.glob("*.tmp")) + list(cache_dir.glob(".partial-*")), "a temporary file was left behind"
        for song in discover(collection).songs:
            cached = open_cached(cache_path(cache_dir, song.id), key=cache_key(song, sample_rate=SAMPLE_RATE, n_channels=2))
            assert cached is not None, song.id
            np.testing.assert_array_equal(read_stems(cached)[0], load_song(song, sample_rate=SAMPLE_RATE, n_channels=2)[0])


@pytest.fixture
def one_song(tmp_path: Path, kit):
    """``(song, cache folder, its cache file, its key)`` for a one-song collection."""
    (song,) = discover(kit.generate_collection(tmp_path / "collection", n_songs=1)).songs
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    return song, cache_dir, cache_path(cache_dir, song.id), cache_key(song, sample_rate=SAMPLE_RATE, n_channels=2)


def test_a_song_another_process_is_preparing_is_waited_for_and_reused(one_song) -> None:
    song, cache_dir, path, key = one_song
    outcome: list = []
    with file_lock(lock_path(path)) as held:  # "the other process" holds the song
        assert held
        waiting = threading.Thread(target=lambda: outcome.append(prepare([song], cache_dir=cache_dir, sample_rate=SAMPLE_RATE, n_channels=2, workers=1, progress=False)))
        waiting.start()
        time.sleep(0.5)
        assert waiting.is_alive() and not path.exists(), "the song was built while another process held it"
        vocals, instrumental = load_song(song, sample_rate=SAMPLE_RATE, n_channels=2)
        write_cached(path, song=song, key=key, vocals=vocals, instrumental=instrumental, sample_rate=SAMPLE_RATE)
        written = path.stat().st_mtime_ns
    waiting.join(timeout=60)
    (prepared,) = outcome
    assert [c.song_id for c in prepared.cached] == [song.id] and prepared.failed == ()
    assert path.stat().st_mtime_ns == written, "the waiter rebuilt the song instead of reusing it"


def test_a_lock_that_is_never_released_does_not_drop_the_song(one_song) -> None:
    song, _, path, key = one_song
    with file_lock(lock_path(path)):  # a hung holder
        started = time.monotonic()
        outcome = build_song(song, path, key, SAMPLE_RATE, 2, lock_timeout_s=0.3)
    assert time.monotonic() - started < 30
    assert outcome == open_cached(path, key=key) and outcome is not None


def test_temporary_names_differ_per_call_and_name_their_process(tmp_path: Path) -> None:
    import os

    from unmix.atomic import target_of, temporary_path, writer_pid

    names = {temporary_path(tmp_path / "song.h5") for _ in range(50)}
    assert len(names) == 50 and all(n.name.startswith(".partial-") and n.suffix == ".h5" for n in names)
    assert {target_of(n) for n in names} == {tmp_path / "song.h5"} and {writer_pid(n) for n in names} == {os.getpid()}


def test_a_dead_writers_temporary_is_removed_and_a_live_ones_kept(one_song) -> None:
    import os

    from unmix.data.cache import remove_stale_temporaries

    _, _, path, _ = one_song
    live = path.with_name(f".partial-{os.getpid()}-0123abcd-{path.name}")
    dead = path.with_name(f".partial-999999999-0123abcd-{path.name}")  # no such process
    older = path.with_name(f"{path.name}.999999999-0123abcd.tmp")  # an earlier version's name
    for temporary in (live, dead, older):
        temporary.write_bytes(b"partial")
    remove_stale_temporaries(path, exclusive=True)
    assert live.exists() and not dead.exists() and not older.exists()
