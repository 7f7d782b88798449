"""Import: upload a file or paste text; the format is detected; free text goes through review.

Files are imported by a background job (its own unit of work, all-or-nothing per
source) whose progress the page polls, so a large bundle shows live counts.  Jobs
live in memory on this process and are visible only to the user who started them.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from colsec.accounts.roles import Actor, Role
from colsec.errors import ColsecError, InvalidInput, NotFound
from colsec.formats import freetext
from colsec.formats.registry import IMPORTERS, ImportFormat
from colsec.formats.service import detect_format, import_source
from colsec.formats.stix_bundle import gunzip_upload
from colsec.stix.tlp import TLP, TLP_BY_NAME
from colsec.store.gate import WriteLimits
from colsec.web.deps import get_database, get_settings
from colsec.web.ui.render import FormActor, PageActor, WriteDb, form_data, page, require

router = APIRouter(include_in_schema=False)

WRITERS = (Role.ANALYST, Role.COORDINATOR)
MAX_JOBS_KEPT = 200


@dataclass
class ImportJob:
    id: str
    user_id: int | None
    name: str
    fmt: str
    size: int
    processed: int = 0
    expected: int | None = None  # estimated object count (STIX input), for a progress bar
    state: str = "running"  # running | done | failed
    report: dict[str, Any] | None = None
    error: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None


class JobBoard:
    """In-memory registry of this process's import jobs."""

    def __init__(self) -> None:
        self._jobs: dict[str, ImportJob] = {}
        self._lock = threading.Lock()

    def add(self, job: ImportJob) -> None:
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > MAX_JOBS_KEPT:
                oldest = min(self._jobs.values(), key=lambda j: j.started)
                del self._jobs[oldest.id]

    def get(self, job_id: str, actor: Actor) -> ImportJob:
        job = self._jobs.get(job_id)
        if job is None or job.user_id != actor.user_id:
            raise NotFound("import job not found")
        return job


def _board(request: Request) -> JobBoard:
    board: JobBoard | None = getattr(request.app.state, "ui_import_jobs", None)
    if board is None:
        board = request.app.state.ui_import_jobs = JobBoard()
    return board


def _tlp(value: object, default: str) -> TLP:
    level = TLP_BY_NAME.get(str(value or default).lower())
    if level is None:
        raise InvalidInput(f"unknown TLP {value!r}")
    return level


def _estimate(raw: bytes, fmt: ImportFormat) -> int | None:
    """Roughly how many objects a STIX bundle holds (one ``"id"`` key per object), for the progress bar."""
    if fmt not in (ImportFormat.STIX, ImportFormat.ATTACK):
        return None
    return max(1, raw.count(b'"id"') - 1)


def _form_context(request: Request) -> dict[str, Any]:
    chosen_tlp = request.query_params.get("tlp")
    return {
        "formats": list(IMPORTERS),
        "tlps": list(TLP),
        "default_tlp": chosen_tlp if chosen_tlp in TLP_BY_NAME else get_settings(request).default_tlp,
        "chosen_format": request.query_params.get("format", "auto"),
    }


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, actor: PageActor) -> HTMLResponse:
    require(actor, *WRITERS)
    return page(request, "ui/import.html", _form_context(request), actor=actor)


def _run_job(
    request: Request, job: ImportJob, actor: Actor, raw: bytes, fmt: ImportFormat, level: TLP
) -> None:
    database = get_database(request)
    limits = WriteLimits.from_settings(get_settings(request))

    def progress(n: int) -> None:
        job.processed = n

    def work() -> None:
        try:
            with database.unit_of_work() as db:
                report = import_source(
                    db, actor=actor, data=raw, fmt=fmt, default_tlp=level, progress=progress, limits=limits
                )
            job.report = report.to_dict()
            job.processed = max(job.processed, report.received)
            job.state = "done"
        except ColsecError as exc:
            job.error = exc.message
            job.state = "failed"
        except Exception:  # a job must always end in a visible state
            job.error = "internal error while importing"
            job.state = "failed"
        finally:
            job.finished = time.time()

    threading.Thread(target=work, name=f"ui-import-{job.id}", daemon=True).start()


@router.post("/import")
async def start_import(request: Request, actor: FormActor) -> Response:
    require(actor, *WRITERS)
    form = await form_data(request)
    settings = get_settings(request)
    # a refusal leads back to this form with the choices kept (colsec.web.ui's error page)
    request.state.error_back = "/import?" + urlencode(
        {"format": str(form.get("format") or "auto"), "tlp": str(form.get("tlp") or "")}
    )
    level = _tlp(form.get("tlp"), settings.default_tlp)
    upload = form.get("file")
    raw = b""
    name = ""
    if isinstance(upload, UploadFile) and upload.filename:
        name = upload.filename[:200]
        # .json.gz as on the command line, under the same expansion cap
        raw = gunzip_upload(await upload.read(), source=name, limit=settings.max_decompressed_bytes)
    text = form.get("text")
    if not raw and isinstance(text, str) and text.strip():
        raw = text.encode("utf-8")
        name = "text"
    if not raw.strip():
        raise InvalidInput("choose a file or paste some text to import")
    chosen = str(form.get("format") or "auto")
    if chosen == "auto":
        fmt = detect_format(raw)
    else:
        try:
            fmt = ImportFormat(chosen)
        except ValueError:
            raise InvalidInput(f"unknown format {chosen!r}") from None
    if fmt == ImportFormat.TEXT:
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("text must be UTF-8") from None
        candidates = freetext.extract_candidates(content)
        return page(
            request,
            "ui/import_review.html",
            {"candidates": candidates, "tlp": level, "source": name},
            actor=actor,
        )
    job = ImportJob(id=secrets.token_urlsafe(12), user_id=actor.user_id, name=name, fmt=fmt.value, size=len(raw),
                    expected=_estimate(raw, fmt))  # fmt: skip
    _board(request).add(job)
    _run_job(request, job, actor, raw, fmt, level)
    return RedirectResponse(f"/import/jobs/{job.id}", status_code=303)


@router.post("/import/review")
async def import_reviewed(request: Request, db: WriteDb, actor: FormActor) -> Response:
    require(actor, *WRITERS)
    form = await form_data(request)
    level = _tlp(form.get("tlp"), get_settings(request).default_tlp)
    accepted: list[tuple[str, str]] = []
    for item in form.getlist("accept"):
        if not isinstance(item, str):
            continue
        kind, sep, value = item.partition("\t")
        if not sep or not value:
            raise InvalidInput("malformed candidate in the review form")
        accepted.append((kind, value))
    if not accepted:
        raise InvalidInput("no candidate was accepted; nothing to import")
    result = freetext.import_candidates(db, actor=actor, candidates=accepted, default_tlp=level)
    report = {"format": "text", "received": result.received, "inserted": result.inserted,
              "unchanged": result.unchanged, "by_type": dict(result.by_type), "notes": []}  # fmt: skip
    job = ImportJob(id=secrets.token_urlsafe(12), user_id=actor.user_id, name="text", fmt="text", size=0,
                    processed=result.received, state="done", report=report, finished=time.time())  # fmt: skip
    _board(request).add(job)
    return RedirectResponse(f"/import/jobs/{job.id}", status_code=303)


@router.get("/import/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, actor: PageActor, job_id: str) -> HTMLResponse:
    job = _board(request).get(job_id, actor)
    partial = request.headers.get("hx-request") == "true"
    return page(
        request, "ui/_import_job.html" if partial else "ui/import_job.html", {"job": job}, actor=actor
    )
