"""Where a catalogue's songs are separated: in this process (``local``) or on Ray (``ray``).

Both engines feed the same ``SongWorker`` one planned song per call and hand each result to the
driver's ``on_result`` (which returns False to stop: a full destination). ``local`` needs no
Ray. ``ray`` runs Ray Data over the plan's pending songs (one song per block) with an actor
pool: each actor loads the model once and sets TensorFlow's threads to its share of the node;
Ray Data's streaming executor bounds what is in flight (one song per actor). An actor that dies
is restarted and its song tried again, at most ``retries`` times; a song whose actors keep
dying comes back as no result at all (its block is skipped, ``max_errored_blocks``), and the
driver records it as failed.

Without ``--address`` the engine starts a local Ray instance on 127.0.0.1 and stops it at the
end. Its processes are written to ``ray-local.json`` as they appear: when the driver is killed,
Ray's per-node agents outlive it, and the next run stops them (``stop_stale_local_ray``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from unmix.atomic import atomic_write_text
from unmix.catalog.records import CatalogFolder
from unmix.catalog.worker import Job, SongWorker
from unmix.errors import ConfigurationError, UnmixError

logger = logging.getLogger(__name__)

ENGINES = ("local", "ray")
OnResult = Callable[[Mapping[str, Any]], bool]
# Seconds between two records of the local instance's processes.
_RECORD_EVERY = 5.0
# Seconds the local instance's processes get to end after ray.shutdown before they are killed.
_SHUTDOWN_SECONDS = 30.0


def run_local(job: Job, songs: Sequence[Mapping[str, Any]], on_result: OnResult, *, worker: Any = None) -> None:
    """Separate ``songs`` one after another in this process (the model is loaded once)."""
    worker = worker if worker is not None else SongWorker(job)
    for song in songs:
        if not on_result(worker(song)):
            return


class _RayWorker:
    """The actor of the pool: a ``SongWorker`` whose result travels as one JSON string (Arrow-safe).

    The job is a class attribute of a subclass made per run (``_actor_class``), so it travels
    with the class rather than as constructor arguments in the object store, which an actor's
    restart would need to find again (Ray issue 53727).
    """

    job: Job

    def __init__(self) -> None:
        self.worker = SongWorker(self.job)

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        return {"result": json.dumps(self.worker(row))}


def _actor_class(job: Job) -> type:
    return type("CatalogWorker", (_RayWorker,), {"job": job, "__module__": __name__})


def run_ray(
    job: Job, songs: Sequence[Mapping[str, Any]], on_result: OnResult, *, folder: CatalogFolder,
    address: str | None = None, workers: int = 1, gpus_per_worker: float = 0.0,
) -> None:  # fmt: skip
    """Separate ``songs`` with a pool of ``workers`` Ray actors.

    Args:
        job: the run's job; its ``threads`` default to the node's CPUs shared by ``workers``.
        songs: the pending songs (``PlannedSong`` fields).
        on_result: the driver's handler of each result; False stops the run.
        folder: the destination (the local instance's processes are recorded there).
        address: a running cluster (``auto`` or ``HOST:PORT``); None starts a local instance.
        workers: actors in the pool.
        gpus_per_worker: GPUs each actor declares (0: CPU only).

    Raises:
        UnmixError: Ray is not installed, or the cluster cannot be reached.
    """
    try:
        import ray
    except ImportError:
        raise UnmixError("--engine ray needs Ray: pip install 'unmix[ray]' (or use --engine local)") from None
    runtime_env = {"env_vars": {"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"), "PYTHONPATH": _package_root()}}
    try:
        if address is None:
            ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1", runtime_env=runtime_env, logging_level=logging.WARNING)
        else:
            ray.init(address=address, log_to_driver=False, runtime_env=runtime_env, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise UnmixError(f"--address {address}: cannot reach a Ray cluster ({str(error).strip().splitlines()[0]}); start one with 'ray start --head' (a cluster with token authentication also needs RAY_AUTH_MODE=token and its token here), or leave --address out for a local instance") from None
    record = _LocalRecord(folder) if address is None else None
    try:
        if record is not None:
            record.update()
        job = dataclasses.replace(job, threads=job.threads or max(1, _node_cpus(ray) // max(1, workers)))
        import ray.data  # its import configures its loggers: quieted after it

        for name in ("ray", "ray.data"):  # Ray Data logs each dataset's plan, start and end: the driver's bar says it
            logging.getLogger(name).setLevel(logging.ERROR)
        context = ray.data.DataContext.get_current()
        context.max_errored_blocks = -1  # a song whose actors keep dying is one missing result, not a failed run
        context.enable_progress_bars = False  # the driver draws its own
        context.print_on_execution_start = False
        dataset = ray.data.from_items([dict(song) for song in songs], override_num_blocks=len(songs))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Ray 2.60 calls max_restarts/max_task_retries "ray_remote_args" (its documented way)
            mapped = dataset.map(
                _actor_class(job),
                compute=ray.data.ActorPoolStrategy(size=workers, max_tasks_in_flight_per_actor=1),
                num_cpus=job.threads, num_gpus=gpus_per_worker or None, max_restarts=-1, max_task_retries=max(0, job.retries),
            )  # fmt: skip
        for row in mapped.iter_rows():
            if record is not None:
                record.update()
            if not on_result(json.loads(row["result"])):
                return
    finally:
        if record is not None:
            record.update(force=True)
        ray.shutdown()
        if record is not None:
            record.wait_and_forget()


def _node_cpus(ray: Any) -> int:
    """The CPUs of the smallest node that runs actors."""
    cpus = [node["Resources"].get("CPU", 0) for node in ray.nodes() if node.get("Alive")]
    return int(min((c for c in cpus if c > 0), default=1))


def _package_root() -> str:
    """The folder that holds the ``unmix`` package, for actors on this machine that do not have it installed."""
    return str(Path(__file__).resolve().parents[2])


# === The local instance's processes ===
class _LocalRecord:
    """``ray-local.json``: the driver and the processes of the Ray instance it started, with their start times."""

    def __init__(self, folder: CatalogFolder) -> None:
        self.folder = folder
        self.written = 0.0

    def update(self, *, force: bool = False) -> None:
        if not force and self.written and time.monotonic() - self.written < _RECORD_EVERY:
            return
        import psutil

        me = psutil.Process()
        processes = [[child.pid, child.create_time()] for child in me.children(recursive=True)]
        with contextlib.suppress(OSError):
            atomic_write_text(self.folder.local_ray, json.dumps({"driver": [me.pid, me.create_time()], "processes": processes}) + "\n")
        self.written = time.monotonic()

    def wait_and_forget(self) -> None:
        """After ``ray.shutdown``: wait for the instance's processes to end (an actor tears TensorFlow down slowly), then drop the record."""
        record = _read_record(self.folder)
        if record is not None:
            _end(_recorded_alive(record), grace=_SHUTDOWN_SECONDS)
            _forget(self.folder)


def stop_stale_local_ray(folder: CatalogFolder) -> int:
    """Stop what a killed driver's local Ray instance left running; the number of processes stopped.

    Only processes recorded in ``ray-local.json`` with the same start time are touched (a pid
    reused since is left alone), and only when the recorded driver is gone.
    """
    record = _read_record(folder)
    if record is None or _alive(*record.get("driver", [0, 0])):
        return 0
    stopped = _end(_recorded_alive(record), grace=0.0)
    _forget(folder)
    if stopped:
        logger.info("stopped %d leftover process(es) of the local Ray instance of a killed run", stopped)
    return stopped


def _read_record(folder: CatalogFolder) -> dict[str, Any] | None:
    try:
        return json.loads(folder.local_ray.read_text())
    except (OSError, ValueError):
        return None


def _forget(folder: CatalogFolder) -> None:
    with contextlib.suppress(OSError):
        folder.local_ray.unlink()


def _recorded_alive(record: Mapping[str, Any]) -> list[Any]:
    """The recorded processes that still run (same pid, same start time)."""
    return [process for process in (_alive(pid, created) for pid, created in record.get("processes", [])) if process is not None]


def _end(processes: list[Any], *, grace: float) -> int:
    """Give ``processes`` ``grace`` seconds to end, kill the rest, and wait for them; how many were killed."""
    import psutil

    _, left = psutil.wait_procs(processes, timeout=grace) if grace > 0 else ([], processes)
    for process in left:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(left, timeout=10)
    return len(left)


def _alive(pid: int, created: float) -> Any:
    """The process ``pid`` if it runs and started at ``created`` (not a reused pid), else None."""
    import psutil

    with contextlib.suppress(psutil.Error, ValueError):
        process = psutil.Process(int(pid))
        if abs(process.create_time() - float(created)) < 0.01 and process.status() != psutil.STATUS_ZOMBIE:
            return process
    return None


def check_engine(engine: str, *, address: str | None, workers: int, gpus_per_worker: float) -> None:
    """The engine flags, checked before anything loads.

    Raises:
        ConfigurationError: an unknown engine, ``--address`` without Ray, or a bad count.
    """
    if engine not in ENGINES:
        raise ConfigurationError(f"--engine {engine}: expected one of {', '.join(ENGINES)}")
    if address is not None and engine != "ray":
        raise ConfigurationError(f"--address {address} needs --engine ray")
    if workers < 1:
        raise ConfigurationError(f"--workers must be a positive integer, received {workers}")
    if not gpus_per_worker >= 0 or gpus_per_worker == float("inf"):
        raise ConfigurationError(f"--gpus_per_worker must be a number >= 0, received {gpus_per_worker}")
    if engine == "local" and (workers != 1 or gpus_per_worker):
        raise ConfigurationError("--workers and --gpus_per_worker need --engine ray (--engine local separates in this one process)")
