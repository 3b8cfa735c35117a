"""The behaviour every engine of the catalogue must show, checked the same way for ``local`` and ``ray``.

``run(argv) -> (exit code, stdout)`` runs ``python3 -m unmix.catalog`` one way or another (in this
process, or as a subprocess against a Ray cluster); the checks read only the destination's files.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

Run = Callable[[list[str]], tuple[int, str]]
GOOD = ("song0", "song1", "song2")


def ledger(dest: Path) -> list[dict]:
    path = dest / ".unmix-catalog" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def receipts(dest: Path) -> dict[str, dict]:
    return {json.loads(p.read_text())["name"]: json.loads(p.read_text()) for p in (dest / ".unmix-catalog" / "receipts").glob("*/*.json")}


def done_counts(dest: Path) -> Counter:
    """How often each (song, model and options) was entered as separated: 1 each, or a song was separated twice."""
    return Counter((event["name"], event["key"]) for event in ledger(dest) if event["event"] in ("done", "recovered"))


def partials(dest: Path) -> list[Path]:
    return [p for p in dest.rglob(".partial-*")]


def check_a_first_run_and_its_reruns(run: Run, source: Path, dest: Path, models: tuple[Path, Path], extra: list[str]) -> None:
    """Good songs done exactly once, the corrupt one failed with its line; a re-run skips; another model re-separates."""
    first, second = models
    code, out = run(["run", str(source), "--output", str(dest), "--run_folder", str(first), *extra])
    assert code == 1, out  # documented: 1 when a song failed
    assert "1 song failed: corrupt (could not read" in out, out
    assert "the file is corrupt, truncated or not audio" in out
    assert sorted(receipts(dest)) == list(GOOD)
    for name in GOOD:
        assert {p.name for p in (dest / name).iterdir()} == {"vocals.wav", "instrumental.wav"}
    assert all(count == 1 for count in done_counts(dest).values()) and len(done_counts(dest)) == 3
    failed = [event for event in ledger(dest) if event["event"] == "failed"]
    assert [event["name"] for event in failed] == ["corrupt"] and failed[0]["tries"] == 2  # --retries 1: two tries
    assert not partials(dest)
    plan = (dest / ".unmix-catalog" / "plan.json").read_bytes()

    code, out = run(["run", str(source), "--output", str(dest), "--run_folder", str(first), *extra])
    assert "separated 0 songs" in out and "3 songs already had receipts for this model and these options: not separated again" in out
    assert len(done_counts(dest)) == 3 and all(count == 1 for count in done_counts(dest).values())

    code, out = run(["run", str(source), "--output", str(dest), "--run_folder", str(second), *extra])
    assert "separated 3 songs" in out, out
    counts = done_counts(dest)
    assert len(counts) == 6 and all(count == 1 for count in counts.values())  # each song once per model
    assert {receipt["model"]["folder"] for receipt in receipts(dest).values()} == {str(second)}
    assert (dest / ".unmix-catalog" / "plan.json").read_bytes() == plan

    (source / "corrupt.wav").unlink()  # the plan keeps it: it fails as missing, the others stay done
    code, out = run(["run", str(source), "--output", str(dest), "--run_folder", str(second), *extra])
    assert code == 1 and "corrupt (" in out and "not found (it was there when the catalogue was planned)" in out
