"""The catalogue's plan: what a source lists, how songs are named and hashed, and the plan file."""

from __future__ import annotations

import hashlib
import json

import pytest

from unmix.catalog.plan import build_plan, list_source, read_plan, write_plan
from unmix.errors import ConfigurationError, UnmixError


def touch_song(path, content=b"RIFF song"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_a_folder_is_searched_recursively_in_a_stable_order(tmp_path):
    for name in ("b.wav", "a.flac", "deep/c.mp3", "notes.txt", ".hidden.wav"):
        touch_song(tmp_path / name)
    assert [p.relative_to(tmp_path).as_posix() for p in list_source(tmp_path)] == ["a.flac", "b.wav", "deep/c.mp3"]


def test_a_text_list_skips_comments_and_resolves_relative_paths_beside_it(tmp_path):
    listing = tmp_path / "lists" / "songs.txt"
    touch_song(tmp_path / "lists" / "x.wav")
    listing.write_text("# my songs\nx.wav\n\n/abs/y.wav\n")
    assert list_source(listing) == [tmp_path / "lists" / "x.wav", tmp_path / "lists" / "/abs/y.wav"]


def test_a_csv_list_takes_its_path_column(tmp_path):
    listing = tmp_path / "songs.csv"
    listing.write_text("title,path\nOne,one.wav\nTwo,two.wav\n")
    assert [p.name for p in list_source(listing)] == ["one.wav", "two.wav"]


@pytest.mark.parametrize(("make", "match"), [
    (lambda tmp: tmp / "missing", "SOURCE .*missing not found"),
    (lambda tmp: touch_song(tmp / "one.wav"), "is a file, not a folder or a list.*predict.py --song"),
])  # fmt: skip
def test_a_bad_source_is_one_line(tmp_path, make, match):
    with pytest.raises(ConfigurationError, match=match):
        list_source(make(tmp_path))


def test_a_source_without_songs_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigurationError, match="holds no audio files"):
        build_plan(tmp_path / "empty")


def test_the_plan_hashes_songs_makes_names_unique_and_keeps_missing_files(tmp_path):
    first = touch_song(tmp_path / "a" / "song.wav", b"first")
    second = touch_song(tmp_path / "b" / "song.wav", b"second")
    listing = tmp_path / "list.txt"
    listing.write_text(f"{first}\n{second}\n{first}\nmissing.wav\n")
    plan = build_plan(listing)
    assert [song.name for song in plan.songs] == ["song", "song-2", "missing"]  # the repeated file is one song
    assert plan.songs[0].sha256 == hashlib.sha256(b"first").hexdigest() and plan.songs[0].size == 5
    assert plan.songs[2].sha256 is None and plan.songs[2].size is None
    assert len({song.id for song in plan.songs}) == 3


def test_the_plan_round_trips_and_a_foreign_file_is_one_line(tmp_path):
    touch_song(tmp_path / "songs" / "one.wav")
    plan = build_plan(tmp_path / "songs")
    write_plan(tmp_path / "plan.json", plan)
    assert read_plan(tmp_path / "plan.json") == plan
    (tmp_path / "plan.json").write_text(json.dumps({"version": 99}))
    with pytest.raises(UnmixError, match="plan.json cannot be read .*version 99.*move the destination's .unmix-catalog folder away"):
        read_plan(tmp_path / "plan.json")
