"""The deterministic split, validation lists and MUSDB's splits.tsv."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from unmix.data.split import Split, hash_order, match_names, read_split_file, split_songs
from unmix.errors import ConfigurationError, DataError

IDS = [f"collection/song {k:02d}" for k in range(20)]


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def split(ids=IDS, **kwargs) -> Split:
    options = {"test_data_count": 0, "song_limit": 0, "validation_ratio": 0.0} | kwargs
    return split_songs(ids, **options)


def test_hash_order():
    assert hash_order(IDS) == sorted(IDS, key=md5)


def test_deterministic_and_independent_of_input_order():
    first = split(test_data_count=3, song_limit=0, validation_ratio=0.25)
    assert split(test_data_count=3, song_limit=0, validation_ratio=0.25) == first
    assert split(list(reversed(IDS)), test_data_count=3, song_limit=0, validation_ratio=0.25) == first


def test_parts_in_hash_order():
    ordered = sorted(IDS, key=md5)
    result = split(test_data_count=4, validation_ratio=0.25)
    assert result.test == tuple(ordered[-4:])
    assert result.validation == tuple(ordered[:4])  # int(16 * 0.25)
    assert result.training == tuple(ordered[4:16])
    assert set(result.training) | set(result.validation) | set(result.test) == set(IDS)


@pytest.mark.parametrize(
    ("song_limit", "n_kept"),
    [(0, 16), (0.5, 8), (1, 16), (1.0, 16), (0.01, 1), (5, 5), (5.0, 5), (100, 16)],
)
def test_song_limit_forms(song_limit, n_kept):
    ordered = sorted(IDS, key=md5)
    result = split(test_data_count=4, song_limit=song_limit, validation_ratio=0.0)
    assert result.training == tuple(ordered[:n_kept])
    assert result.test == tuple(ordered[-4:])


@pytest.mark.parametrize("song_limit", [2.5, -1, float("nan"), "5"])
def test_bad_song_limit(song_limit):
    with pytest.raises(ConfigurationError, match=r"collection\.song_limit .*received song_limit="):
        split(song_limit=song_limit)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"test_data_count": -1}, r"test_data_count must be a whole number >= 0; received test_data_count=-1"),
        ({"test_data_count": 1.5}, r"test_data_count must be a whole number"),
        ({"validation_ratio": 1.0}, r"validation_ratio must be in \[0, 1\); received validation_ratio=1.0"),
    ],
)
def test_bad_counts_and_ratios(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        split(**kwargs)


def test_duplicate_ids():
    with pytest.raises(DataError, match="duplicate song ids"):
        split(["a", "b", "a"])


def test_validation_ids_replace_ratio_and_are_never_test():
    ordered = sorted(IDS, key=md5)
    chosen = {ordered[-1], ordered[0], "not in collection"}
    result = split(test_data_count=2, validation_ratio=0.5, validation_ids=chosen)
    assert result.validation == (ordered[0], ordered[-1])
    assert result.test == tuple(ordered[-3:-1])  # the last non-validation songs
    assert set(result.training) == set(IDS) - chosen - set(result.test)


def test_validation_ids_with_song_limit():
    ordered = sorted(IDS, key=md5)
    result = split(song_limit=5, validation_ids={ordered[1], ordered[10]})
    assert result.validation == (ordered[1],)
    assert result.training == (ordered[0], *ordered[2:5])


def test_empty_parts_warn(caplog):
    with caplog.at_level(logging.WARNING, logger="unmix.data.split"):
        result = split(["a", "b"], test_data_count=5, validation_ratio=0.1)
    assert result.training == result.validation == () and len(result.test) == 2
    assert "no training songs" in caplog.text and "no validation songs" in caplog.text
    assert "only 2 songs can be test songs" in caplog.text


def test_read_split_file_and_match(tmp_path: Path):
    path = tmp_path / "splits.tsv"
    path.write_text("subset\ttrack\nvalid\tA - B\ntrain\tC - D\nvalid\tE.F - G\n\n")
    assert read_split_file(path) == {"A - B", "E.F - G"}
    assert read_split_file(path, split_name="train") == {"C - D"}
    ids = ["train/A - B.stem.mp4", "hq/E.F - G", "x/C - D.flac", "train/Z - Y.stem.mp4"]
    assert match_names(ids, {"A - B", "E.F - G", "C - D"}) == {"train/A - B.stem.mp4", "hq/E.F - G", "x/C - D.flac"}


def test_match_names_warns_about_unknown_names(caplog):
    with caplog.at_level(logging.WARNING, logger="unmix.data.split"):
        assert match_names(["a/b.stem.mp4"], {"b", "nobody"}) == {"a/b.stem.mp4"}
    assert "1 listed song names match no song, e.g. 'nobody'" in caplog.text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("track\tsubset\nvalid\tA\n", "expected a 'subset<TAB>track' header"),
        ("", "expected a 'subset<TAB>track' header"),
        ("subset\ttrack\nvalid\n", "line 2: expected 'subset<TAB>track'"),
        ("subset\ttrack\ntrain\tA\n", r"no track in subset 'valid'; subsets present: \['train'\]"),
    ],
)
def test_read_split_file_errors(tmp_path: Path, text: str, message: str):
    path = tmp_path / "splits.tsv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_split_file(path)


def test_read_missing_split_file(tmp_path: Path):
    with pytest.raises(DataError, match=r"cannot read split file .*nope\.tsv"):
        read_split_file(tmp_path / "nope.tsv")
