"""What a catalogue keeps beside its stems, in ``DEST/.unmix-catalog/``: the plan, receipts, the ledger.

- ``plan.json``: the fixed list of songs (``unmix.catalog.plan``).
- ``receipts/<id[:2]>/<id>.json``: one per separated song, written atomically *after* its
  stems. A valid receipt, not the stems' existence, marks a song done: it names the model
  (name and ``RunFolder.identity``), the options that change the output, the song's hash and
  every stem with its size.
- ``ledger.jsonl``: append-only, one JSON line per event (a run's start and end, each song
  done, retried or failed with one error line). Only the driver writes it; a line cut off by a
  killed driver is skipped when read.
- ``running/<id>.json``: the worker separating a song (host, pid, attempt). One left behind
  says the song's last attempt died with its process: the next attempt counts as a retry.
- ``lock``: the driver holds an exclusive ``flock`` on it, so two runs never share a
  destination; the kernel releases it when the driver dies, however it dies.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from unmix.atomic import atomic_write_text
from unmix.data.lock import Busy, exclusive
from unmix.errors import UnmixError

STATE_FOLDER = ".unmix-catalog"
RECEIPT_VERSION = 1


def now() -> str:
    """The time of a record: UTC, ISO 8601, seconds."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def worker_name() -> str:
    """``host:pid`` of this process, as receipts and the ledger name a worker."""
    return f"{socket.gethostname()}:{os.getpid()}"


class CatalogFolder:
    """The destination of a catalogue run and the names of its records."""

    def __init__(self, output: str | Path) -> None:
        self.output = Path(output).absolute()
        self.state = self.output / STATE_FOLDER

    @property
    def plan(self) -> Path:
        return self.state / "plan.json"

    @property
    def ledger(self) -> Path:
        return self.state / "ledger.jsonl"

    @property
    def lock(self) -> Path:
        return self.state / "lock"

    @property
    def local_ray(self) -> Path:
        """The processes of a local Ray instance this destination's driver started (``unmix.catalog.ray_engine``)."""
        return self.state / "ray-local.json"

    def receipt(self, song_id: str) -> Path:
        return self.state / "receipts" / song_id[:2] / f"{song_id}.json"

    def running(self, song_id: str) -> Path:
        return self.state / "running" / f"{song_id}.json"


# === The lock ===
@contextlib.contextmanager
def driver_lock(folder: CatalogFolder) -> Iterator[None]:
    """Hold the destination for one driver; a second gets one line naming the first.

    Raises:
        UnmixError: another process holds it.
        OSError: the state folder cannot be created (read-only or full destination).
    """
    folder.state.mkdir(parents=True, exist_ok=True)
    try:
        with exclusive(folder.lock, holder=f"process {worker_name()} (since {now()})"):
            yield
    except Busy as busy:
        raise UnmixError(f"{folder.output} is being separated by {busy.holder}; wait for that run to end, or give another --output") from None


# === The ledger ===
def append_event(folder: CatalogFolder, event: str, **fields: Any) -> None:
    """Append one line to the ledger and flush it to the disk.

    Raises:
        OSError: it cannot be written.
    """
    line = json.dumps({"time": now(), "event": event, **fields}, sort_keys=False) + "\n"
    folder.state.mkdir(parents=True, exist_ok=True)
    with folder.ledger.open("a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def read_ledger(folder: CatalogFolder) -> list[dict[str, Any]]:
    """Every complete line of the ledger, oldest first (a line cut off by a killed driver is skipped)."""
    if not folder.ledger.is_file():
        return []
    events = []
    for line in folder.ledger.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and "event" in event:
            events.append(event)
    return events


# === Receipts ===
def write_receipt(folder: CatalogFolder, song_id: str, receipt: Mapping[str, Any]) -> Path:
    """Write a song's receipt atomically, after its stems.

    Raises:
        OSError: it cannot be written.
    """
    path = folder.receipt(song_id)
    atomic_write_text(path, json.dumps({"version": RECEIPT_VERSION, **receipt}, indent=1) + "\n")
    return path


def read_receipt(folder: CatalogFolder, song_id: str) -> dict[str, Any] | None:
    """A song's receipt, or None when there is none or it cannot be read."""
    try:
        receipt = json.loads(folder.receipt(song_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return receipt if isinstance(receipt, dict) and receipt.get("version") == RECEIPT_VERSION else None


def receipt_problem(receipt: Mapping[str, Any] | None, *, output: Path, song_sha256: str | None, model: Mapping[str, Any], options: Mapping[str, Any]) -> str | None:
    """Why a receipt does not mark its song done for this model and these options; None when it does.

    It does when it names this song content, this model identity and these options, and every
    stem it lists is there with the size it had.
    """
    if receipt is None:
        return "no receipt"
    if receipt.get("song_sha256") != song_sha256:
        return "the song changed"
    if receipt.get("model", {}).get("identity") != model.get("identity"):
        return "another model"
    if receipt.get("options") != dict(options):
        return "other options"
    for stem, entry in receipt.get("outputs", {}).items():
        path = output / entry.get("path", "")
        try:
            if path.stat().st_size != entry.get("size"):
                return f"its {stem} stem changed"
        except OSError:
            return f"its {stem} stem is missing"
    return None if receipt.get("outputs") else "no stems"


# === Songs in flight ===
def mark_running(folder: CatalogFolder, song_id: str) -> int:
    """Record that this process separates ``song_id``; returns the attempt (1 unless an earlier one died).

    Raises:
        OSError: the marker cannot be written.
    """
    path = folder.running(song_id)
    previous = 0
    with contextlib.suppress(OSError, ValueError, AttributeError):
        previous = int(json.loads(path.read_text()).get("attempt", 1))
    attempt = previous + 1
    atomic_write_text(path, json.dumps({"worker": worker_name(), "pid": os.getpid(), "host": socket.gethostname(), "attempt": attempt, "started": now()}) + "\n")
    return attempt


def clear_running(folder: CatalogFolder, song_id: str) -> None:
    """The song's attempt ended (done or failed): its marker goes."""
    with contextlib.suppress(OSError):
        folder.running(song_id).unlink()


def running_markers(folder: CatalogFolder) -> list[dict[str, Any]]:
    """The markers of songs in flight (or whose worker died), each with its ``id``."""
    markers = []
    for path in sorted((folder.state / "running").glob("*.json")):
        with contextlib.suppress(OSError, ValueError):
            markers.append({"id": path.stem, **json.loads(path.read_text())})
    return markers
