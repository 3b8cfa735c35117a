"""One worker of a catalogue: a model loaded once, then one song per call.

The same class serves both engines: ``--engine local`` calls it in the driver's process, and
``--engine ray`` hands it to Ray Data as the callable class of an actor pool, so each actor
loads the model once. A call never raises for a bad song: it returns a result whose
``status`` is ``done`` or ``failed`` (with one error line per try), after at most
``1 + retries`` tries. The stems are written atomically by the separator, then the receipt;
the ``running/`` marker around the call tells the next attempt that an earlier one died.
"""

from __future__ import annotations

import os
import resource
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unmix.atomic import atomic_path, is_no_space, no_space_message, temporaries_of
from unmix.catalog.plan import content_hash
from unmix.catalog.records import CatalogFolder, clear_running, mark_running, now, worker_name, write_receipt
from unmix.errors import AudioError, UnmixError, first_line
from unmix.progress import SecondsBar
from unmix.separation.outputs import stem_paths

#: Below this many free bytes the destination counts as full: a 3-minute float WAV stem is ~64 MB.
MIN_FREE_BYTES = 256 * 2**20
#: What a bad file, a failed decoder or a failed write can raise; anything else is a bug and propagates.
SONG_ERRORS = (UnmixError, OSError, RuntimeError, ValueError, MemoryError)


@dataclass(frozen=True)
class Job:
    """What every worker of a run needs (plain data: Ray sends it to each actor).

    Attributes:
        output: the destination folder.
        model: ``{"name", "folder", "identity"}`` of the model (``RunFolder.identity``).
        file_format, filename, stems, bit_depth: how stems are written, as in ``predict.py``.
        retries: further tries of a song that failed, in the same call.
        threads: TensorFlow's intra-op threads in this worker (None: TensorFlow's default).
    """

    output: str
    model: Mapping[str, str]
    file_format: str = "wav"
    filename: str = "{song}/{stem}.{ext}"
    stems: tuple[str, ...] = ("vocals", "instrumental")
    bit_depth: int | None = None
    retries: int = 1
    threads: int | None = None

    @property
    def options(self) -> dict[str, Any]:
        """The options that change the stems: a receipt made with others does not count."""
        return {"format": self.file_format, "filename": self.filename, "stems": list(self.stems), "bit_depth": self.bit_depth}


class SongWorker:
    """Loads the job's model once; each call separates one planned song (a dict of ``PlannedSong``'s fields)."""

    def __init__(self, job: Job) -> None:
        from unmix.cli.common import import_tensorflow_quietly

        import_tensorflow_quietly()
        if job.threads:
            import tensorflow as tf

            tf.config.threading.set_intra_op_parallelism_threads(int(job.threads))
            tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, int(job.threads))))
        from unmix.separation.separator import Separator

        self.job = job
        self.separator = Separator.from_run_folder(job.model["folder"])

    def __call__(self, song: Mapping[str, Any]) -> dict[str, Any]:
        return separate_song(self.separator, self.job, song)


def separate_song(separator: Any, job: Job, song: Mapping[str, Any]) -> dict[str, Any]:
    """Separate one planned song and write its receipt; never raises for the song's own faults.

    Returns:
        ``{"id", "name", "status": "done" | "failed", "errors": [one line per failed try],
        "died": earlier attempts whose process died, "destination": why nothing can be written
        to the destination (None unless a try failed for it), "seconds", "audio_seconds",
        "worker", "peak_rss_mb"}``.
    """
    folder = CatalogFolder(job.output)
    started = time.perf_counter()
    errors: list[str] = []
    status, audio_seconds, problem = "failed", 0.0, None
    try:
        died = mark_running(folder, song["id"]) - 1
    except OSError as error:
        problem = destination_problem(folder.output)
        return _result(song, "failed", [first_line(error, limit=500)], died=0, started=started, audio_seconds=0.0, destination=problem)
    for _ in range(1 + max(0, job.retries)):
        try:
            audio_seconds = _separate_once(separator, job, folder, song)
        except SONG_ERRORS as error:
            errors.append(first_line(error, limit=500))
            problem = destination_problem(folder.output)
            if problem is not None:
                break  # a full or read-only destination fails every try alike
            continue
        status = "done"
        break
    clear_running(folder, song["id"])
    return _result(song, status, errors, died=died, started=started, audio_seconds=audio_seconds, destination=problem)


def _separate_once(separator: Any, job: Job, folder: CatalogFolder, song: Mapping[str, Any]) -> float:
    """One try: check the song is the planned one, write its stems, then its receipt; the audio's seconds."""
    path = Path(song["path"])
    if song.get("sha256") is None:
        raise AudioError(f"{path}: not found when the catalogue was planned")
    try:
        digest = content_hash(path)
    except FileNotFoundError:
        raise AudioError(f"{path}: not found (it was there when the catalogue was planned)") from None
    if digest != song["sha256"]:
        raise AudioError(f"{path}: changed since the catalogue was planned; put the planned file back, or plan a new catalogue with another --output")
    targets = stem_paths(folder.output, song["name"], template=job.filename, stems=job.stems, file_format=job.file_format)
    for target in targets.values():  # this worker is now the song's only writer: what a dead attempt left goes
        for stale in temporaries_of(target):
            stale.unlink(missing_ok=True)
    seconds = SecondsBar(song["name"], show=False)
    started = time.perf_counter()
    written = separator.separate_file(
        path, folder.output, file_format=job.file_format, filename=job.filename, stems=job.stems,
        song_name=song["name"], progress=seconds, bit_depth=job.bit_depth,
    )  # fmt: skip
    outputs = {stem: {"path": str(target.relative_to(folder.output)), "size": target.stat().st_size} for stem, target in written.items()}
    write_receipt(folder, song["id"], {
        "song": song["id"], "name": song["name"], "path": str(path), "song_sha256": digest,
        "model": dict(job.model), "options": job.options, "outputs": outputs,
        "audio_seconds": round(seconds.done_seconds, 3), "seconds": round(time.perf_counter() - started, 3),
        "worker": worker_name(), "finished": now(),
    })  # fmt: skip
    return seconds.done_seconds


def destination_problem(output: Path) -> str | None:
    """Why no stem can be written to ``output`` now (read-only, unwritable, full), in one line; None when they can."""
    output = Path(output)
    try:
        probe = CatalogFolder(output).state / "probe"
        with atomic_path(probe) as temporary:
            temporary.write_bytes(b"\0" * 4096)
        probe.unlink(missing_ok=True)
        free = shutil.disk_usage(output).free
    except OSError as error:
        if is_no_space(error):
            return no_space_message(output, then="run the same command again: every song with a receipt is kept")
        return f"cannot write to {output}: {error.strerror or first_line(error)}; give a writable --output (every song with a receipt is kept)"
    if free < MIN_FREE_BYTES:
        return no_space_message(output, then="run the same command again: every song with a receipt is kept")
    return None


def _result(song: Mapping[str, Any], status: str, errors: list[str], *, died: int, started: float, audio_seconds: float, destination: str | None) -> dict[str, Any]:
    return {
        "id": song["id"], "name": song["name"], "status": status, "errors": errors, "died": died, "destination": destination,
        "seconds": round(time.perf_counter() - started, 3), "audio_seconds": round(audio_seconds, 3),
        "worker": worker_name(), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "pid": os.getpid(),
    }  # fmt: skip
