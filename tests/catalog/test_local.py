"""``python3 -m unmix.catalog run --engine local``: the catalogue's behaviour without Ray, in this process."""

from __future__ import annotations

import builtins
import errno
import io
import json
import os

import pytest

from tests.catalog.behaviour import GOOD, check_a_first_run_and_its_reruns, done_counts, ledger, partials, receipts
from tests.catalog.conftest import write_songs
from unmix.catalog import command, worker
from unmix.catalog.records import CatalogFolder

pytestmark = pytest.mark.slow


@pytest.fixture
def run(capsys):
    def call(argv):
        code = command.main([*argv[:1], *argv[1:], "--quiet"] if argv[0] == "run" else argv)
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return call


def test_local_engine_behaviour(run, songs, tmp_path, tiny_models):
    check_a_first_run_and_its_reruns(run, songs, tmp_path / "dest", tiny_models, [])


def test_status_and_report_say_what_is_done_failed_and_left(run, songs, tmp_path, tiny_models):
    dest = tmp_path / "dest"
    run(["run", str(songs), "--output", str(dest), "--run_folder", str(tiny_models[0])])
    code, out = run(["status", str(dest)])
    assert code == 0 and f"{dest.absolute()}: 4 songs planned, 3 done, 1 failed, 0 left" in out and "last run: started" in out and "on local with first" in out
    code, out = run(["report", str(dest)])
    assert "| corrupt | 2 | could not read" in out
    row = next(line for line in out.splitlines() if line.startswith("| 20") and "| local |" in line)
    assert row.split("|")[4].strip() == "3" and row.split("|")[5].strip() == "1"  # done, failed
    code, out = run(["status", str(tmp_path)])
    assert code == 1 and "holds no catalogue" in out and "python3 -m unmix.catalog run SOURCE --output" in out


def test_a_receipt_the_ledger_missed_is_recovered_not_separated_again(run, songs, tmp_path, tiny_models):
    """A driver killed between a worker's receipt and its ledger line: the re-run enters the song once."""
    dest = tmp_path / "dest"
    (songs / "corrupt.wav").unlink()
    run(["run", str(songs), "--output", str(dest), "--run_folder", str(tiny_models[0])])
    lines = (dest / ".unmix-catalog" / "ledger.jsonl").read_text().splitlines()
    kept = [line for line in lines if not ('"event": "done"' in line and '"song0"' in line)]
    (dest / ".unmix-catalog" / "ledger.jsonl").write_text("\n".join(kept) + "\n")
    code, out = run(["run", str(songs), "--output", str(dest), "--run_folder", str(tiny_models[0])])
    assert code == 0 and "nothing to do: all 3 songs of the plan have receipts" in out
    assert [event["name"] for event in ledger(dest) if event["event"] == "recovered"] == ["song0"]
    assert all(count == 1 for count in done_counts(dest).values()) and len(done_counts(dest)) == 3


def test_what_a_dead_attempt_left_is_removed_and_counted_as_a_retry(run, songs, tmp_path, tiny_models):
    dest = tmp_path / "dest"
    folder = CatalogFolder(dest)
    (songs / "corrupt.wav").unlink()
    run(["run", str(songs), "--output", str(dest), "--run_folder", str(tiny_models[0])])
    song0 = next(event["song"] for event in ledger(dest) if event.get("name") == "song0")
    folder.receipt(song0).unlink()  # song0 as if its worker died mid-song: a marker, a partial stem, no receipt
    folder.running(song0).write_text(json.dumps({"pid": 999999, "attempt": 1}))
    stale = dest / "song0" / ".partial-999999-0badc0de-vocals.wav"
    stale.write_bytes(b"half a stem")
    code, out = run(["run", str(songs), "--output", str(dest), "--run_folder", str(tiny_models[0])])
    assert code == 0 and "separated 1 song" in out
    assert not partials(dest) and not folder.running(song0).exists()
    assert [(e["event"], e["name"]) for e in ledger(dest) if e.get("run") and e["event"] in ("retried", "done")][-2:] == [("retried", "song0"), ("done", "song0")]


def test_a_song_changed_since_the_plan_fails_with_one_line(run, songs, tmp_path, tiny_models):
    dest = tmp_path / "dest"
    (songs / "corrupt.wav").unlink()
    command.main(["run", str(songs), "--output", str(dest), "--run_folder", str(tiny_models[0]), "--quiet"])
    write_songs(tmp_path / "other", count=2, seconds=1.0, corrupt=False)[0].replace(songs / "song0.wav")  # other content
    code, out = run(["run", str(songs), "--output", str(dest), "--run_folder", str(tiny_models[1])])
    assert code == 1 and "song0.wav: changed since the catalogue was planned; put the planned file back, or plan a new catalogue with another --output" in out


def test_another_source_into_a_planned_destination_is_a_usage_error(run, songs, tmp_path, tiny_models):
    dest = tmp_path / "dest"
    run(["run", str(songs), "--output", str(dest), "--run_folder", str(tiny_models[0])])
    (tmp_path / "other").mkdir()
    code, out = run(["run", str(tmp_path / "other"), "--output", str(dest), "--run_folder", str(tiny_models[0])])
    assert code == 2 and f"holds the catalogue of {songs.absolute()}, not of {(tmp_path / 'other').absolute()}" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--engine", "local", "--workers", "2"], "--workers and --gpus_per_worker need --engine ray"),
    (["--address", "auto"], "--address auto needs --engine ray"),
    (["--engine", "ray", "--workers", "0"], "--workers must be a whole number of actors from 1 to 256, received 0"),
    (["--model", "nope"], "--model nope: not a built-in model"),
    (["--format", "mp3", "--bit_depth", "24"], "--bit_depth 24: mp3 has no bit depth"),
    (["--stems", "drums"], "--stems: expected vocals and/or instrumental"),
])  # fmt: skip
def test_usage_errors_are_one_line_and_exit_2(run, songs, tmp_path, argv, message):
    code, out = run(["run", str(songs), "--output", str(tmp_path / "dest"), *argv])
    assert code == 2 and message in out and "Traceback" not in out
    assert not (tmp_path / "dest" / ".unmix-catalog" / "plan.json").exists()


def test_a_read_only_destination_is_one_line_before_anything_is_written(run, songs, tmp_path, tiny_models, monkeypatch):
    dest = tmp_path / "dest"
    dest.mkdir()
    real_os_open, real_io_open = os.open, io.open

    def refuse(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    def os_open(path, flags, *args, **kwargs):
        if str(path).startswith(str(dest)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            refuse(path)
        return real_os_open(path, flags, *args, **kwargs)

    def io_open(file, mode="r", *args, **kwargs):
        if str(file).startswith(str(dest)) and any(flag in mode for flag in "wax+"):
            refuse(file)
        return real_io_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(io, "open", io_open)
    monkeypatch.setattr(builtins, "open", io_open)
    code, out = run(["run", str(songs), "--output", str(dest), "--run_folder", str(tiny_models[0])])
    assert code == 1 and f"cannot write to {dest}: Read-only file system; give a writable --output" in out and "Traceback" not in out
    assert not (dest / ".unmix-catalog" / "plan.json").exists()


def test_a_destination_that_fills_up_stops_the_run_with_one_line_and_keeps_what_is_done(run, songs, tmp_path, tiny_models, monkeypatch):
    dest = tmp_path / "dest"
    (songs / "corrupt.wav").unlink()
    real = worker._separate_once
    calls = []

    def fill_up(separator, job, folder, song):
        calls.append(song["name"])
        if len(calls) == 2:  # the second song finds the disk full, and so would every later one
            monkeypatch.setattr(worker, "MIN_FREE_BYTES", 2**62)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(separator, job, folder, song)

    monkeypatch.setattr(worker, "_separate_once", fill_up)
    code, out = run(["run", str(songs), "--output", str(dest), "--run_folder", str(tiny_models[0])])
    assert code == 1 and f"no space left on device while writing {dest}; free space, then run the same command again: every song with a receipt is kept" in out
    assert calls == ["song0", "song1"]  # stopped: song2 was not tried
    assert sorted(receipts(dest)) == ["song0"] and not partials(dest)
    assert ledger(dest)[-1]["event"] == "end" and ledger(dest)[-1]["stopped"].startswith("no space left")
    monkeypatch.setattr(worker, "MIN_FREE_BYTES", 0)
    monkeypatch.setattr(worker, "_separate_once", real)
    code, out = run(["run", str(songs), "--output", str(dest), "--run_folder", str(tiny_models[0])])
    assert code == 0 and "separated 2 songs" in out and sorted(receipts(dest)) == list(GOOD)
