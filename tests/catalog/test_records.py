"""The catalogue's records: the lock, the ledger, receipts and the markers of songs in flight."""

from __future__ import annotations

import pytest

from unmix.catalog.records import (
    CatalogFolder, append_event, clear_running, driver_lock, mark_running, read_ledger, read_receipt, receipt_problem, write_receipt,
)  # fmt: skip
from unmix.errors import UnmixError

MODEL = {"name": "m", "identity": "abc"}
OPTIONS = {"format": "wav", "filename": "{song}/{stem}.{ext}", "stems": ["vocals"], "bit_depth": None}


def test_a_second_driver_is_refused_with_the_first_named(tmp_path):
    folder = CatalogFolder(tmp_path)
    with driver_lock(folder):
        with pytest.raises(UnmixError, match=rf"{tmp_path} is being separated by process .*:\d+ \(since .*\); wait for that run to end, or give another --output"):
            with driver_lock(folder):
                pass
    with driver_lock(folder):  # released when the first ended
        pass


def test_the_ledger_skips_a_line_cut_off_by_a_killed_driver(tmp_path):
    folder = CatalogFolder(tmp_path)
    append_event(folder, "done", song="a")
    with folder.ledger.open("a") as handle:
        handle.write('{"time": "x", "event": "do')
    assert [event["song"] for event in read_ledger(folder)] == ["a"]


def receipt_for(tmp_path, **changes):
    (tmp_path / "s").mkdir(exist_ok=True)
    (tmp_path / "s" / "vocals.wav").write_bytes(b"1234")
    return {"song_sha256": "h", "model": MODEL, "options": OPTIONS, "outputs": {"vocals": {"path": "s/vocals.wav", "size": 4}}, **changes}


def test_a_receipt_counts_only_for_the_same_song_model_options_and_stems(tmp_path):
    folder = CatalogFolder(tmp_path)
    write_receipt(folder, "0123456789abcdef", receipt_for(tmp_path))
    receipt = read_receipt(folder, "0123456789abcdef")
    assert folder.receipt("0123456789abcdef").parent.name == "01"
    check = dict(output=tmp_path, song_sha256="h", model=MODEL, options=OPTIONS)
    assert receipt_problem(receipt, **check) is None
    assert receipt_problem(None, **check) == "no receipt"
    assert receipt_problem(receipt, **{**check, "song_sha256": "other"}) == "the song changed"
    assert receipt_problem(receipt, **{**check, "model": {"name": "m", "identity": "new"}}) == "another model"
    assert receipt_problem(receipt, **{**check, "options": {**OPTIONS, "format": "flac"}}) == "other options"
    (tmp_path / "s" / "vocals.wav").write_bytes(b"12")
    assert receipt_problem(receipt, **check) == "its vocals stem changed"
    (tmp_path / "s" / "vocals.wav").unlink()
    assert receipt_problem(receipt, **check) == "its vocals stem is missing"


def test_a_marker_left_by_a_dead_attempt_makes_the_next_one_a_retry(tmp_path):
    folder = CatalogFolder(tmp_path)
    assert mark_running(folder, "song") == 1
    assert mark_running(folder, "song") == 2  # the first attempt never cleared it: its process died
    clear_running(folder, "song")
    assert mark_running(folder, "song") == 1
