"""The web application: one static page and a small JSON API over the job store and the worker.

API (every error is ``{"error": "<one line>"}``, with a 4xx status for a bad request and 507 or 500
when the server's working folder is full or unwritable):

- ``GET /``: the page; ``GET /static/...``: its script and style.
- ``GET /api/options``: the models (with scores and whether installed), formats, upload limit.
- ``POST /api/jobs``: multipart ``file`` (+ ``model``, ``format``) -> 201 and the queued job;
  400 empty or malformed, 413 too large, 415 not audio, 422 corrupt.
- ``GET /api/jobs``: every job, the newest first; ``GET /api/jobs/{id}``: one job.
- ``GET /api/jobs/{id}/stems/{vocals|instrumental}``: a stem file;
  ``GET /api/jobs/{id}/spectrogram.png``: the picture.

Paths come only from server-made ids and a fixed set of stem names, and each file's resolved
path is checked to lie in its job folder, so no request reaches a file outside the jobs.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect

from unmix.atomic import is_no_space
from unmix.errors import ConfigurationError, DataError, unknown_name
from unmix.pretrained import catalog
from unmix.separation.outputs import FORMATS
from unmix.web.jobs import SPECTROGRAM, Job, JobStore, is_job_id
from unmix.web.uploads import receive_form
from unmix.web.validation import UploadRejected, check_audio, display_name, stored_path
from unmix.web.worker import SeparatorFactory, Worker, load_pretrained

logger = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
MEDIA_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg"}


def installed_models() -> list[str]:
    """The built-in models that can run here (installed), the best first."""
    return [name for name in catalog.names() if catalog.describe(name).installed]


def create_app(
    working_dir: str | Path, *, max_upload_mb: float = 500, default_model: str | None = None, separator_factory: SeparatorFactory | None = None,
    models: Sequence[str] | None = None, allowed_hosts: Sequence[str] | None = None, start_worker: bool = True, holder: str | None = None,
) -> FastAPI:  # fmt: skip
    """Build the application over a working folder; jobs left there by an earlier run are picked up.

    Args:
        working_dir: where the jobs live (created).
        max_upload_mb: the largest upload accepted, in megabytes.
        default_model: the model the page preselects (default: ``catalog.default_name()``).
        separator_factory: model name -> separator (default: load the built-in model).
        models: the model names uploads may ask for (default: the installed built-in ones).
        allowed_hosts: Host headers answered (others get 400), e.g. the loopback names against
            DNS rebinding; None answers any.
        start_worker: start the worker with the application (tests of queueing turn it off).
        holder: who serves, for the message a second server on the working folder gets.

    Raises:
        ConfigurationError: a default model that is not offered, or a limit that is not positive.
        DataError: the working folder cannot be created, or another server has it (it stays
            locked until the application's lifespan ends).
    """
    if not (math.isfinite(max_upload_mb) and max_upload_mb > 0):
        raise ConfigurationError(f"--max_upload_mb must be a positive number of megabytes, received {max_upload_mb}")
    offered = list(models) if models is not None else installed_models()
    default = default_model or catalog.default_name()
    if default not in offered:
        raise unknown_name("--model", "installed model", default, offered)
    store = JobStore(working_dir, holder=holder)
    worker = Worker(store, factory=separator_factory or load_pretrained)
    max_bytes = int(max_upload_mb * 1024 * 1024)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if start_worker:
            worker.start()
        try:
            yield
        finally:
            worker.stop()
            store.close()

    app = FastAPI(title="unmix", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store, app.state.worker = store, worker
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def one_line_errors(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code)

    @app.exception_handler(OSError)
    async def storage_errors(request: Request, error: OSError) -> JSONResponse:
        """The working folder failed (full, unwritable): one JSON line for the page, one log line for the server."""
        logger.error("%s %s: %s", request.method, request.url.path, error)
        return storage_error(error)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/options")
    def options() -> dict[str, Any]:
        return {"models": [_model_entry(name, name in offered) for name in catalog.names()], "default_model": default, "formats": list(FORMATS), "max_upload_mb": max_upload_mb}

    @app.get("/api/jobs")
    def list_jobs() -> dict[str, Any]:
        positions = queue_positions(store)
        return {"jobs": [view(job, positions) for job in store.all()]}

    @app.get("/api/jobs/{job_id}")
    def one_job(job_id: str) -> dict[str, Any]:
        return view(_job(store, job_id), queue_positions(store))

    @app.post("/api/jobs", status_code=201)
    async def upload(request: Request) -> JSONResponse:
        try:
            job_id, folder = store.new_id()
        except OSError as error:
            logger.error("upload: cannot make a job folder in %s: %s", store.jobs_dir, error)
            return storage_error(error)
        try:
            form = await receive_form(request.stream(), content_type=request.headers.get("content-type", ""), content_length=request.headers.get("content-length"), folder=folder, max_bytes=max_bytes)
            model, file_format = _choices(form.fields, offered=offered, default=default)
            if form.path is None:
                raise UploadRejected("no file in the upload; choose a song", status=400)
            with form.path.open("rb") as handle:
                path = stored_path(folder, handle.read(12))
            os.replace(form.path, path)
            details = await run_in_threadpool(check_audio, path)
            job = store.add(Job(id=job_id, name=display_name(form.filename), model=model, file_format=file_format, input_file=path.name, created=time.time(), duration_s=details.duration_s))
        except UploadRejected as error:
            store.discard(job_id)
            return JSONResponse({"error": str(error)}, status_code=error.status)
        except ClientDisconnect:
            store.discard(job_id)
            return JSONResponse({"error": "the upload was interrupted; send it again"}, status_code=400)
        except OSError as error:  # the disk filled while the file arrived, or job.json cannot be written
            store.discard(job_id)
            logger.error("upload refused: %s (job folder %s removed)", error, folder)
            return storage_error(error)
        except BaseException:
            store.discard(job_id)
            raise
        worker.wake()
        return JSONResponse(view(job, queue_positions(store)), status_code=201)

    @app.get("/api/jobs/{job_id}/stems/{stem}")
    def download(job_id: str, stem: str) -> FileResponse:
        job = _job(store, job_id)
        try:
            path = store.stem_file(job, stem)
        except DataError as error:
            raise HTTPException(404, str(error)) from None
        if not path.is_file():
            raise HTTPException(404, f"job {job.id}: the {stem} file is missing from the working folder")
        title = display_name(job.name).rsplit(".", 1)[0] or "song"
        return FileResponse(path, media_type=MEDIA_TYPES.get(job.file_format), filename=f"{title} - {stem}.{job.file_format}", headers={"X-Content-Type-Options": "nosniff"})

    @app.get("/api/jobs/{job_id}/spectrogram.png")
    def spectrogram(job_id: str) -> FileResponse:
        job = _job(store, job_id)
        try:
            path = store.inside(job, SPECTROGRAM)
        except DataError as error:  # a link out of the job folder
            raise HTTPException(404, str(error)) from None
        if not job.spectrogram or not path.is_file():
            raise HTTPException(404, f"job {job.id} has no spectrogram (state: {job.state})")
        return FileResponse(path, media_type="image/png", headers={"X-Content-Type-Options": "nosniff"})

    return app


def storage_error(error: OSError) -> JSONResponse:
    """The answer when the server's working folder fails: 507 for a full disk, 500 otherwise; nothing was kept."""
    if is_no_space(error):
        return JSONResponse({"error": "the server's disk is full: nothing was kept; free space in the server's working folder, then send it again"}, status_code=507)
    reason = error.strerror or type(error).__name__
    return JSONResponse({"error": f"the server cannot write its working folder ({reason}): nothing was kept; the server's log names the file"}, status_code=500)


def _job(store: JobStore, job_id: str) -> Job:
    if not is_job_id(job_id):
        raise HTTPException(400, f"job id {job_id[:40]!r} is not a 32-digit hexadecimal id")
    job = store.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id} in this working folder")
    return job


def _choices(fields: dict[str, str], *, offered: Sequence[str], default: str) -> tuple[str, str]:
    """The model and format an upload asks for, checked against what the server offers."""
    model = fields.get("model") or default
    if model not in offered:
        if model in catalog.names():
            raise UploadRejected(f"the model {model} is not installed on this server: run {catalog.install_command(model)} and restart it", status=400)
        raise UploadRejected(str(unknown_name("model", "model", model, offered)), status=400)
    file_format = fields.get("format") or "wav"
    if file_format not in FORMATS:
        raise UploadRejected(f"unknown output format {file_format[:20]!r}; expected one of {', '.join(FORMATS)}", status=400)
    return model, file_format


def _model_entry(name: str, offered: bool) -> dict[str, Any]:
    entry = catalog.describe(name)
    return {
        "name": name, "description": entry.description, "installed": entry.installed, "offered": offered,
        "vocals_sdr": entry.vocals_sdr, "instrumental_sdr": entry.instrumental_sdr, "real_time_factor": entry.real_time_factor,
        "vocals_high_band": entry.vocals_high_band, "install_command": catalog.install_command(name),
    }  # fmt: skip


def queue_positions(store: JobStore) -> dict[str, int]:
    """``{job id: place in the queue}`` of the queued jobs, 1 runs next."""
    return {job.id: index + 1 for index, job in enumerate(store.queued())}


def view(job: Job, positions: dict[str, int]) -> dict[str, Any]:
    """A job as the page sees it: its record, its place in the queue and its links."""
    data = job.to_json()
    del data["input_file"]
    data["format"] = data.pop("file_format")
    data["position"] = positions.get(job.id)
    data["stems"] = {stem: f"/api/jobs/{job.id}/stems/{stem}" for stem in job.stems}
    data["spectrogram"] = f"/api/jobs/{job.id}/spectrogram.png" if job.spectrogram else None
    return data
