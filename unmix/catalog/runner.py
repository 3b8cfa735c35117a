"""The driver of a catalogue run: plan once, skip what has receipts, separate the rest, keep the ledger.

Every run of one destination follows the same steps under the destination's lock: stop what a
killed run's local Ray instance left, read the plan (or write it on the first run), look at
each song's receipt (a valid one for this model and these options means done; one the ledger
has not seen, from a song finished just before a driver was killed, is entered as
``recovered``), then hand the pending songs to the engine and enter every result in the ledger.
A full or read-only destination stops the run with one line; what has receipts is kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unmix.catalog import engines
from unmix.catalog.plan import Plan, build_plan, read_plan, write_plan
from unmix.catalog.records import CatalogFolder, append_event, driver_lock, read_ledger, read_receipt, receipt_problem
from unmix.catalog.worker import Job, destination_problem
from unmix.errors import ConfigurationError, UnmixError
from unmix.progress import CurrentStderr, count_bar

logger = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """What one run did.

    Attributes:
        planned: songs in the plan.
        skipped: songs that already had a valid receipt.
        done: songs separated by this run.
        failed: ``(song name, last error line)`` of the songs that failed in this run.
        audio_seconds: seconds of audio separated by this run.
        wall_seconds: wall time of the separation (model loads included).
        stopped: the one line that stopped the run early (a full destination), else None.
    """

    planned: int = 0
    skipped: int = 0
    done: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    stopped: str | None = None

    @property
    def left(self) -> int:
        return self.planned - self.skipped - self.done

    def lines(self) -> list[str]:
        """The summary a user reads at the end of ``run``."""
        if not self.done and not self.failed and self.stopped is None and self.skipped == self.planned:
            return [f"nothing to do: all {self.planned} songs of the plan have receipts for this model and these options"]
        lines = []
        if self.failed:
            lines.append(f"{len(self.failed)} song{'s' if len(self.failed) != 1 else ''} failed: " + "; ".join(f"{name} ({error})" for name, error in self.failed))
        hours = self.wall_seconds / 3600
        rate = f"{self.done / hours:.1f} songs per hour, {self.audio_seconds / self.wall_seconds:.1f}x real time" if self.wall_seconds > 0 and self.done else "no song separated"
        lines.append(f"separated {self.done} song{'s' if self.done != 1 else ''} ({self.audio_seconds:.1f} s of audio) in {self.wall_seconds:.1f} s: {rate}")
        if self.skipped:
            lines.append(f"{self.skipped} song{'s' if self.skipped != 1 else ''} already had receipts for this model and these options: not separated again")
        lines.append(f"{self.planned} planned: {self.skipped + self.done} done ({self.skipped} before this run), {len(self.failed)} failed, {self.left - len(self.failed)} not tried")
        return lines


def receipt_key(model: Mapping[str, Any], options: Mapping[str, Any]) -> str:
    """A short hash of what a receipt must match (the model's identity and the options)."""
    return hashlib.sha256(json.dumps([model.get("identity"), dict(options)], sort_keys=True).encode()).hexdigest()[:16]


def run_catalog(
    source: Path, job: Job, *, engine: str = "local", address: str | None = None, workers: int = 1,
    gpus_per_worker: float = 0.0, show_progress: bool = True, worker: Any = None,
) -> RunSummary:  # fmt: skip
    """Separate every song of ``source`` into ``job.output``, resumably.

    Args:
        source: a folder or a list of paths (used on the first run; later runs read the plan).
        job: the model and how stems are written.
        engine, address, workers, gpus_per_worker: see ``unmix.catalog.engines``.
        show_progress: a bar on stderr.
        worker: a loaded ``SongWorker`` for the local engine (tests).

    Raises:
        ConfigurationError: a bad source, or a destination planned from another source.
        UnmixError: the destination is locked, read-only or full, or Ray is unusable.
    """
    engines.check_engine(engine, address=address, workers=workers, gpus_per_worker=gpus_per_worker)
    folder = CatalogFolder(job.output)
    try:
        folder.output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UnmixError(f"cannot create the destination {folder.output}: {error.strerror}; give a writable --output") from None
    problem = destination_problem(folder.output)
    if problem is not None:
        raise UnmixError(problem)
    with driver_lock(folder):
        engines.stop_stale_local_ray(folder)
        plan = _plan(folder, Path(source), show_progress=show_progress)
        key = receipt_key(job.model, job.options)
        pending, summary = _pending(folder, plan, job, key)
        if not pending:
            logger.info("every song of %s has a receipt for this model and these options", folder.output)
            return summary
        return _separate(folder, job, pending, summary, key, engine=engine, address=address, workers=workers, gpus_per_worker=gpus_per_worker, show_progress=show_progress, worker=worker)


def _plan(folder: CatalogFolder, source: Path, *, show_progress: bool) -> Plan:
    if folder.plan.is_file():
        plan = read_plan(folder.plan)
        if plan.source != str(source.absolute()):
            raise ConfigurationError(f"{folder.output} holds the catalogue of {plan.source}, not of {source.absolute()}: give that SOURCE to resume it, or another --output")
        return plan
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if show_progress:
            bar = bar or count_bar("planning", total, unit="songs")
            bar.update(done)

    plan = build_plan(source, progress=progress)
    if bar is not None:
        bar.finish()
    write_plan(folder.plan, plan)
    logger.info("planned %d songs from %s in %s", len(plan.songs), source, folder.plan)
    return plan


def _pending(folder: CatalogFolder, plan: Plan, job: Job, key: str) -> tuple[list[dict[str, Any]], RunSummary]:
    """The songs without a valid receipt; receipts the ledger missed are entered as ``recovered``."""
    entered = {event.get("song") for event in read_ledger(folder) if event["event"] in ("done", "recovered") and event.get("key") == key}
    pending, summary = [], RunSummary(planned=len(plan.songs))
    for song in plan.songs:
        receipt = read_receipt(folder, song.id)
        if receipt_problem(receipt, output=folder.output, song_sha256=song.sha256, model=job.model, options=job.options) is None:
            summary.skipped += 1
            if song.id not in entered:
                append_event(folder, "recovered", song=song.id, name=song.name, key=key, worker=receipt.get("worker"), audio_seconds=receipt.get("audio_seconds"))
            continue
        pending.append({"id": song.id, "path": song.path, "name": song.name, "size": song.size, "sha256": song.sha256})
    return pending, summary


def _separate(
    folder: CatalogFolder, job: Job, pending: list[dict[str, Any]], summary: RunSummary, key: str, *, engine: str,
    address: str | None, workers: int, gpus_per_worker: float, show_progress: bool, worker: Any,
) -> RunSummary:  # fmt: skip
    run = uuid.uuid4().hex[:12]
    append_event(folder, "run", run=run, engine=engine, workers=workers, model=dict(job.model), options=job.options, key=key, pending=len(pending), skipped=summary.skipped)
    bar = _Bar(len(pending), show=show_progress)
    seen: set[str] = set()
    started = time.perf_counter()

    def on_result(result: Mapping[str, Any]) -> bool:
        seen.add(result["id"])
        common = {"run": run, "song": result["id"], "name": result["name"], "worker": result.get("worker")}
        for _ in range(int(result.get("died", 0))):
            append_event(folder, "retried", **common, error="its worker died during an earlier attempt")
        errors = list(result.get("errors", []))
        retried = errors if result["status"] == "done" else errors[:-1]
        for error in retried:
            append_event(folder, "retried", **common, error=error)
        if result["status"] == "done":
            summary.done += 1
            summary.audio_seconds += float(result.get("audio_seconds", 0.0))
            append_event(folder, "done", **common, key=key, seconds=result.get("seconds"), audio_seconds=result.get("audio_seconds"), peak_rss_mb=result.get("peak_rss_mb"))
        else:
            error = errors[-1] if errors else "failed"
            summary.failed.append((result["name"], error))
            append_event(folder, "failed", **common, key=key, error=error, tries=len(errors))
            summary.stopped = result.get("destination")  # the worker probed the destination after the failure
        bar.update(summary, time.perf_counter() - started)
        return summary.stopped is None

    try:
        if engine == "ray":
            engines.run_ray(job, pending, on_result, folder=folder, address=address, workers=workers, gpus_per_worker=gpus_per_worker)
        else:
            engines.run_local(job, pending, on_result, worker=worker)
        if summary.stopped is None:
            for song in pending:
                if song["id"] not in seen:  # its actors kept dying: Ray gave up on its block
                    error = f"its worker died {job.retries + 1} times"
                    summary.failed.append((song["name"], error))
                    append_event(folder, "failed", run=run, song=song["id"], name=song["name"], key=key, error=error, tries=job.retries + 1)
    finally:
        bar.finish()
        summary.wall_seconds = time.perf_counter() - started
        append_event(folder, "end", run=run, done=summary.done, failed=len(summary.failed), audio_seconds=round(summary.audio_seconds, 3), seconds=round(summary.wall_seconds, 3), stopped=summary.stopped)
    if summary.stopped is not None:
        raise UnmixError(summary.stopped)
    return summary


class _Bar:
    """``songs 12/100 [###] 10 done, 1 failed, 89 left, 35.2 songs/h  ETA``: progressbar2 on stderr."""

    def __init__(self, total: int, *, show: bool) -> None:
        self.bar = None
        if show:
            import progressbar

            self.text = progressbar.FormatCustomText("%(done)d done, %(failed)d failed, %(left)d left, %(rate).1f songs/h", {"done": 0, "failed": 0, "left": total, "rate": 0.0})
            widgets = ["songs ", progressbar.Counter(), f"/{total} ", progressbar.Bar(), " ", self.text, " ", progressbar.ETA()]
            self.bar = progressbar.ProgressBar(max_value=max(total, 1), widgets=widgets, fd=CurrentStderr()).start()
        self.total = total

    def update(self, summary: RunSummary, seconds: float) -> None:
        if self.bar is None:
            return
        finished = summary.done + len(summary.failed)
        self.text.update_mapping(done=summary.done, failed=len(summary.failed), left=self.total - finished, rate=summary.done * 3600 / seconds if seconds > 0 else 0.0)
        self.bar.update(min(finished, self.total))

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.finish(dirty=True)
