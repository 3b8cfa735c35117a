"""``status`` and ``report`` of a catalogue: what its records say, read without loading a model.

The state of each song comes from the plan, its receipt and the ledger: done (a receipt that
matches the last run's model and options), failed (its last ledger entry is a failure), in
flight (a ``running/`` marker), or left. ``report`` adds the failures with their error lines
and each run's throughput and workers' peak memory.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from unmix.catalog.plan import read_plan
from unmix.catalog.records import CatalogFolder, read_ledger, read_receipt, receipt_problem, running_markers
from unmix.errors import UnmixError


@dataclass
class CatalogState:
    """Counts of a destination's songs, and what its ledger holds."""

    planned: int = 0
    done: int = 0
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)
    running: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    last_run: dict[str, Any] | None = None

    @property
    def left(self) -> int:
        return self.planned - self.done - len(self.failed)


def read_state(folder: CatalogFolder) -> CatalogState:
    """Everything ``status`` and ``report`` show.

    Raises:
        UnmixError: the folder holds no catalogue (one line naming it).
    """
    if not folder.plan.is_file():
        raise UnmixError(f"{folder.output} holds no catalogue (no {folder.plan.relative_to(folder.output)}): run python3 -m unmix.catalog run SOURCE --output {folder.output} first")
    plan = read_plan(folder.plan)
    events = read_ledger(folder)
    state = CatalogState(planned=len(plan.songs), running=running_markers(folder))
    runs: dict[str, dict[str, Any]] = {}
    last_event: dict[str, dict[str, Any]] = {}
    for event in events:
        if event["event"] == "run":
            runs[event["run"]] = {**event, "done": 0, "failed": 0, "audio_seconds": 0.0, "peak_rss_mb": {}}
            state.last_run = runs[event["run"]]
        elif event["event"] == "end" and event.get("run") in runs:
            runs[event["run"]].update(ended=event["time"], seconds=event.get("seconds"), stopped=event.get("stopped"))
        if event["event"] in ("done", "failed", "recovered"):
            last_event[event["song"]] = event
        run = runs.get(event.get("run", ""))
        if run is not None and event["event"] == "done":
            run["done"] += 1
            run["audio_seconds"] += float(event.get("audio_seconds") or 0.0)
            worker = event.get("worker") or "?"
            run["peak_rss_mb"][worker] = max(run["peak_rss_mb"].get(worker, 0.0), float(event.get("peak_rss_mb") or 0.0))
        elif run is not None and event["event"] == "failed":
            run["failed"] += 1
    state.runs = list(runs.values())
    model = (state.last_run or {}).get("model", {})
    options = (state.last_run or {}).get("options", {})
    tries = Counter(event["song"] for event in events if event["event"] in ("retried", "failed"))
    for song in plan.songs:
        if state.last_run is not None and receipt_problem(read_receipt(folder, song.id), output=folder.output, song_sha256=song.sha256, model=model, options=options) is None:
            state.done += 1
        elif last_event.get(song.id, {}).get("event") == "failed":
            state.failed[song.name] = {"error": last_event[song.id].get("error"), "tries": tries[song.id], "path": song.path}
    return state


def status_lines(folder: CatalogFolder, state: CatalogState | None = None) -> list[str]:
    """A few lines: the counts, the songs in flight and the last run (of ``state``, read when not given)."""
    state = state if state is not None else read_state(folder)
    lines = [f"{folder.output}: {state.planned} songs planned, {state.done} done, {len(state.failed)} failed, {state.left} left"]
    if state.running:
        lines.append(f"in flight (or their worker died): {', '.join(marker['id'] for marker in state.running)}")
    if state.last_run is not None:
        run = state.last_run
        ended = f"ended {run['ended']}" + (f" early: {run['stopped']}" if run.get("stopped") else "") if run.get("ended") else "did not end (killed, or still running)"
        lines.append(f"last run: started {run['time']} on {run['engine']} with {run['model'].get('name')}, {ended}")
    return lines


def report_lines(folder: CatalogFolder) -> list[str]:
    """``status`` plus a table of failures and one of each run's throughput."""
    state = read_state(folder)  # once: it reads the plan, the ledger and every receipt
    lines = status_lines(folder, state)
    if state.failed:
        lines += ["", "failed songs:", "| song | tries | last error |", "|---|---:|---|"]
        lines += [f"| {name} | {entry['tries']} | {entry['error']} |" for name, entry in sorted(state.failed.items())]
    if state.runs:
        lines += ["", "runs:", "| started | engine | workers | done | failed | audio (s) | wall (s) | songs/h | x real time | peak RSS per worker (MB) |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        by_start: dict[str, list[str]] = defaultdict(list)
        for run in state.runs:
            seconds = run.get("seconds") or 0.0
            rate = f"{run['done'] * 3600 / seconds:.1f}" if seconds else "-"
            speed = f"{run['audio_seconds'] / seconds:.1f}" if seconds else "-"
            peak = f"{max(run['peak_rss_mb'].values()):.0f}" if run["peak_rss_mb"] else "-"
            by_start[run["time"]].append(f"| {run['time']} | {run['engine']} | {run.get('workers', 1)} | {run['done']} | {run['failed']} | {run['audio_seconds']:.1f} | {seconds:.1f} | {rate} | {speed} | {peak} |")
        lines += [row for start in sorted(by_start) for row in by_start[start]]
    return lines
