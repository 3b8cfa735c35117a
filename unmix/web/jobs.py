"""The job folder: one folder per uploaded song, its state in ``job.json``, and recovery after a restart.

Every job lives under ``<working folder>/jobs/<id>/``, where ``id`` is a server-made uuid4 hex
(the uploader's file name is kept only as display text)::

    jobs/<id>/job.json          the state, rewritten atomically (temporary file + os.replace)
    jobs/<id>/input.<ext>       the upload, as received
    jobs/<id>/stems/<stem>.<fmt> the separated stems
    jobs/<id>/spectrogram.png   mix, vocals and instrumental of an excerpt

``job.json`` is written last when a job is created, so a folder without it is an upload that
never finished; a kill at any moment leaves either the previous ``job.json`` or the next one.
Opening the store therefore repairs whatever a killed server left: unfinished uploads are
removed, and a job that was running goes back to the queue with its partial outputs deleted.
That repair would destroy the running job of a live server, so a store holds the working
folder's ``server.lock`` from opening to ``close()``, and a second one is refused before it
repairs anything.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unmix.atomic import atomic_write_text
from unmix.data.lock import Busy, exclusive
from unmix.errors import DataError
from unmix.separation.outputs import STEMS

logger = logging.getLogger(__name__)

JOB_FILE = "job.json"
LOCK_FILE = "server.lock"
STEMS_FOLDER = "stems"
SPECTROGRAM = "spectrogram.png"
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATES = (QUEUED, RUNNING, DONE, FAILED)
_ID = re.compile(r"^[0-9a-f]{32}$")
# Progress is kept in memory at every block; job.json is rewritten at most this often for it.
PROGRESS_WRITE_SECONDS = 1.0


def is_job_id(text: str) -> bool:
    """Whether ``text`` has the shape of an id this server makes (32 lowercase hex digits)."""
    return isinstance(text, str) and _ID.fullmatch(text) is not None


@dataclass(frozen=True)
class Job:
    """One song's separation request and how far it got.

    Attributes:
        id: the server-made id, also the folder name.
        name: the uploaded file's name, sanitised, for display only.
        model: the built-in model name.
        file_format: output format of the stems ("wav", "flac", "mp3").
        input_file: the upload's file name inside the job folder (``input.<ext>``).
        created: seconds since the epoch.
        state: queued, running, done or failed.
        progress: fraction of the song separated, 0 to 1.
        duration_s: length of the song in seconds.
        error: the one-line reason of a failed job.
        note: one line on what the output format forces (an MP3 of a 6-channel song is stereo), or None.
        stems: ``{stem: file name inside stems/}`` of a finished job.
        spectrogram: whether ``spectrogram.png`` was drawn.
        started, finished: seconds since the epoch, or None.
    """

    id: str
    name: str
    model: str
    file_format: str
    input_file: str
    created: float
    state: str = QUEUED
    progress: float = 0.0
    duration_s: float = 0.0
    error: str | None = None
    note: str | None = None
    stems: dict[str, str] = field(default_factory=dict)
    spectrogram: bool = False
    started: float | None = None
    finished: float | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Job":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


class JobStore:
    """Every job of one working folder, in memory and on disk; safe to use from several threads.

    Args:
        root: the working folder (``jobs/`` is created inside it).
        holder: who opens it, for the message a second opener gets (default: this process id).

    Raises:
        DataError: the working folder cannot be created or read, or another live process has it
            open (the message names the folder and that process).
    """

    def __init__(self, root: str | Path, *, holder: str | None = None) -> None:
        self.root = Path(root)
        self.jobs_dir = self.root / "jobs"
        self._held = contextlib.ExitStack()
        try:
            self.jobs_dir.mkdir(parents=True, exist_ok=True)
            self._held.enter_context(exclusive(self.root / LOCK_FILE, holder=holder or f"process {os.getpid()}"))
        except Busy as busy:
            raise DataError(f"working folder {self.root} is in use by {busy.holder}; stop that server, or pass --workingdir with another folder") from None
        except OSError as error:
            raise DataError(f"working folder {self.root}: cannot create it ({error.strerror}); pass --workingdir with a writable folder") from None
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._written: dict[str, float] = {}
        try:
            self._recover()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the working folder for the next server (the jobs stay as they are on disk)."""
        self._held.close()

    # === Paths ===
    def folder(self, job_id: str) -> Path:
        """The folder of a job id (which must have the server's id shape).

        Raises:
            DataError: not an id this server makes.
        """
        if not is_job_id(job_id):
            raise DataError(f"job id {job_id!r} is not a 32-digit hexadecimal id")
        return self.jobs_dir / job_id

    def stem_file(self, job: Job, stem: str) -> Path:
        """The stem file of a finished job, checked to lie inside its folder.

        Raises:
            DataError: an unknown stem, a stem the job has not written, or a path outside the folder.
        """
        if stem not in STEMS:
            raise DataError(f"stem {stem!r} is unknown; expected one of {', '.join(STEMS)}")
        if stem not in job.stems:
            raise DataError(f"job {job.id} has no {stem} yet (state: {job.state})")
        return self.inside(job, Path(STEMS_FOLDER) / job.stems[stem])

    def inside(self, job: Job, relative: str | Path) -> Path:
        """``relative`` resolved under the job's folder.

        Raises:
            DataError: the resolved path leaves the folder (a link or a ``..`` would).
        """
        base = self.folder(job.id).resolve()
        path = (base / relative).resolve()
        if not path.is_relative_to(base):
            raise DataError(f"job {job.id}: {relative} is outside the job folder")
        return path

    # === Jobs ===
    def new_id(self) -> tuple[str, Path]:
        """A fresh id and its (empty, new) folder, for an upload that is about to be received."""
        job_id = uuid.uuid4().hex
        folder = self.folder(job_id)
        folder.mkdir()
        return job_id, folder

    def add(self, job: Job) -> Job:
        """Record a new job: its ``job.json`` is written, so it survives a restart from now on."""
        with self._lock:
            self._jobs[job.id] = job
            self._write(job)
        return job

    def discard(self, job_id: str) -> None:
        """Remove a job id's folder (an upload that was refused) and forget it."""
        with self._lock:
            self._jobs.pop(job_id, None)
        shutil.rmtree(self.folder(job_id), ignore_errors=True)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        """Every job, the newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda job: job.created, reverse=True)

    def queued(self) -> list[Job]:
        """The jobs waiting, in the order they will run (the oldest first)."""
        with self._lock:
            return sorted((job for job in self._jobs.values() if job.state == QUEUED), key=lambda job: job.created)

    def update(self, job_id: str, *, persist: bool = True, **changes: Any) -> Job:
        """Replace fields of a job and write its ``job.json`` (progress-only updates are throttled).

        A ``job.json`` that cannot be written is one error line in the server's log: the job goes
        on in memory, and only that state is lost at a restart.

        Args:
            job_id: the job.
            persist: False keeps the change in memory unless the last write is older than
                ``PROGRESS_WRITE_SECONDS`` (progress updates come after every block).
            **changes: fields of :class:`Job`.
        """
        with self._lock:
            job = dataclasses.replace(self._jobs[job_id], **changes)
            self._jobs[job_id] = job
            if persist or time.monotonic() - self._written.get(job_id, 0.0) >= PROGRESS_WRITE_SECONDS:
                try:
                    self._write(job)
                except OSError as error:  # the job goes on in memory; stopping the worker would lose every later job
                    logger.error("job %s: cannot write its %s (%s): this state is not kept over a restart", job_id, JOB_FILE, error)
        return job

    def clear_outputs(self, job_id: str) -> None:
        """Delete what a separation wrote into a job's folder (before a retry)."""
        folder = self.folder(job_id)
        shutil.rmtree(folder / STEMS_FOLDER, ignore_errors=True)
        (folder / SPECTROGRAM).unlink(missing_ok=True)

    def _write(self, job: Job) -> None:
        atomic_write_text(self.folder(job.id) / JOB_FILE, json.dumps(job.to_json(), indent=2))
        self._written[job.id] = time.monotonic()

    # === Recovery ===
    def _recover(self) -> None:
        for folder in self._job_folders():
            job = self._read(folder)
            if job is None:
                continue
            if job.state == RUNNING or job.state == QUEUED:
                # Killed mid-job: whatever it wrote is partial; it runs again from the start.
                self.clear_outputs(job.id)
                if job.state == RUNNING:
                    logger.info("job %s (%s) was running when the server stopped: queued again", job.id, job.name)
                    job = dataclasses.replace(job, state=QUEUED, progress=0.0, started=None)
                    self._write(job)
            self._jobs[job.id] = job

    def _job_folders(self) -> Iterator[Path]:
        for folder in sorted(self.jobs_dir.iterdir()):
            if not folder.is_dir() or not is_job_id(folder.name):
                continue
            if not (folder / JOB_FILE).is_file():
                logger.info("removing %s: an upload that never finished", folder)
                shutil.rmtree(folder, ignore_errors=True)
                continue
            yield folder

    def _read(self, folder: Path) -> Job | None:
        try:
            job = Job.from_json(json.loads((folder / JOB_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as error:
            logger.warning("skipping %s: unreadable %s (%s)", folder, JOB_FILE, error)
            return None
        if job.id != folder.name or job.state not in STATES:
            logger.warning("skipping %s: its %s names job %r in state %r", folder, JOB_FILE, job.id, job.state)
            return None
        return job
