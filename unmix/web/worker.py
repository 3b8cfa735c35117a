"""The background worker: one thread that separates the queued jobs, one at a time.

Separation is CPU-bound and already spreads one song over the cores (``Separator`` works on
blocks in threads), so two songs at once would only share the same cores and both finish
later; one worker keeps the queue in upload order and memory at one song's worth. Loaded
separators are kept per model name, so only the first job of each model pays the load.

Stopping the server abandons the running job without touching its ``job.json``: it still says
"running", and the next start queues it again (exactly what happens when the server is
killed), so a stop and a kill leave the same state behind.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from unmix import audio
from unmix.errors import UnmixError
from unmix.separation.outputs import STEMS, format_note
from unmix.web.jobs import DONE, FAILED, RUNNING, SPECTROGRAM, STEMS_FOLDER, Job, JobStore
from unmix.web.preview import draw_spectrogram

logger = logging.getLogger(__name__)

#: A built-in model name -> a ``Separator`` (or anything with its ``separate_file``).
SeparatorFactory = Callable[[str], Any]
IDLE_POLL_SECONDS = 1.0


def load_pretrained(name: str) -> Any:
    """The default factory: the built-in model ``name`` (TensorFlow loads at the first job)."""
    from unmix.cli.common import import_tensorflow_quietly
    from unmix.separation.separator import Separator

    import_tensorflow_quietly()  # the server's console gets the log lines that matter, not TF's start-up notes
    return Separator.from_pretrained(name)


class _Stopped(Exception):
    """Raised from the progress callback to abandon a job when the server stops."""


class Worker:
    """Runs the store's queued jobs on one background thread.

    Args:
        store: the jobs.
        factory: loads a separator by model name (tests inject a tiny one).
    """

    def __init__(self, store: JobStore, *, factory: SeparatorFactory = load_pretrained) -> None:
        self.store = store
        self.factory = factory
        self._separators: dict[str, Any] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="unmix-web-worker", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Look at the queue now (a job was added)."""
        self._wake.set()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop after the current block; the running job stays "running" on disk (queued again at the next start)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            queued = self.store.queued()
            if not queued:
                self._wake.wait(IDLE_POLL_SECONDS)
                self._wake.clear()
                continue
            try:
                self.run(queued[0])
            except _Stopped:
                logger.info("stopped during job %s: it runs again at the next start", queued[0].id)
                return

    def run(self, job: Job) -> Job:
        """Separate one job and record the outcome; a failure is recorded, never raised.

        Raises:
            _Stopped: the worker was asked to stop during the job.
        """
        self.store.clear_outputs(job.id)
        job = self.store.update(job.id, state=RUNNING, progress=0.0, error=None, note=None, started=time.time(), finished=None)
        folder = self.store.folder(job.id)
        try:
            details = audio.info(folder / job.input_file)
            note = format_note(job.file_format, sample_rate=details.sample_rate, n_channels=details.n_channels)
            if note is not None:  # on the card while it runs: what the format forces
                job = self.store.update(job.id, note=note)
            separator = self._separator(job.model)
            written = separator.separate_file(
                folder / job.input_file, folder / STEMS_FOLDER, file_format=job.file_format, filename="{stem}.{ext}",
                stems=STEMS, progress=self._progress(job.id),
            )  # fmt: skip
            drawn = self._spectrogram(job, written)
            return self.store.update(job.id, state=DONE, progress=1.0, stems={stem: path.name for stem, path in written.items()}, spectrogram=drawn, finished=time.time())
        except _Stopped:
            raise
        except UnmixError as error:
            logger.error("job %s (%s) failed: %s", job.id, job.name, error)
            return self._fail(job, str(error))
        except Exception as error:  # a bug must fail one job, not stop the worker for every later one
            logger.exception("job %s (%s) failed", job.id, job.name)
            return self._fail(job, f"internal error ({type(error).__name__}: {error}); the server log has the details")

    def _fail(self, job: Job, message: str) -> Job:
        self.store.clear_outputs(job.id)
        return self.store.update(job.id, state=FAILED, error=message.splitlines()[0] if message else "failed", finished=time.time())

    def _separator(self, name: str) -> Any:
        if name not in self._separators:
            self._separators[name] = self.factory(name)
        return self._separators[name]

    def _progress(self, job_id: str) -> Callable[[float, float], None]:
        def report(done_seconds: float, total_seconds: float) -> None:
            if self._stop.is_set():
                raise _Stopped()
            fraction = min(1.0, done_seconds / total_seconds) if total_seconds > 0 else 0.0
            self.store.update(job_id, persist=False, progress=fraction)

        return report

    def _spectrogram(self, job: Job, written: dict) -> bool:
        """Draw the picture; a failure here costs the picture, not the separated stems."""
        folder = self.store.folder(job.id)
        try:
            draw_spectrogram(folder / SPECTROGRAM, folder / job.input_file, written, duration_s=job.duration_s)
        except (UnmixError, OSError, ValueError, MemoryError) as error:
            logger.warning("job %s: no spectrogram (%s)", job.id, error)
            return False
        return True
