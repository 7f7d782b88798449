"""Import: upload a file or paste text; the format is detected; free text goes through review.

Files are imported by a durable job (its own unit of work, all-or-nothing per source)
whose progress the page polls from the job table, so a large bundle shows live counts
and a restart loses no accepted upload.  The page shows a job only to its user, with, after a
large import, where the correlation, scores and exposure it left to a job of the node's stand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from colsec.accounts.roles import Actor, Role
from colsec.errors import InvalidInput, NotFound
from colsec.formats import freetext
from colsec.formats.jobs import IMPORT_KIND, FollowUp, enqueue_import, follow_up
from colsec.formats.registry import IMPORTERS, ImportFormat
from colsec.formats.service import detect_format
from colsec.formats.stix_bundle import gunzip_upload
from colsec.jobs import queue
from colsec.jobs.models import Job
from colsec.stix.tlp import TLP, TLP_BY_NAME
from colsec.web.api.jobs import live_progress
from colsec.web.deps import DbDep, get_settings
from colsec.web.ui.forms import back_on_error, see_other
from colsec.web.ui.render import FormActor, PageActor, WriteDb, form_data, page, require

router = APIRouter(include_in_schema=False)

WRITERS = (Role.ANALYST, Role.COORDINATOR)
TEXT_KIND = "import.text"  # reviewed free text: imported in the request, recorded as a finished job


@dataclass
class ImportJob:
    """What the job page shows of an import job (read from the job table)."""

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
    follow_up: FollowUp | None = None  # a large import's correlation, scores and exposure, left to a job

    @property
    def polled(self) -> bool:
        """The page refreshes itself while the import, or the work it left to a job, is not finished."""
        return self.state == "running" or (self.follow_up is not None and self.follow_up.pending)

    @classmethod
    def from_job(cls, job: Job, live: tuple[int, int | None] | None = None) -> ImportJob:
        payload = job.payload or {}
        error = job.error or {}
        progress = queue.to_dict(job, live)
        return cls(
            id=job.id,
            user_id=(payload.get("actor") or {}).get("user_id"),
            name=str(payload.get("name") or ""),
            fmt=str((job.result or {}).get("format") or payload.get("format") or ""),
            size=int(payload.get("bytes") or 0),
            processed=progress["processed"],
            expected=progress["total"] if progress["total"] is not None else payload.get("expected"),
            state={"succeeded": "done", "failed": "failed"}.get(job.status, "running"),
            report=job.result,
            error=str(error.get("detail") or error.get("reason") or "") or None,
        )


def _own_job(request: Request, db: Any, job_id: str, actor: Actor) -> ImportJob:
    """An import job of this user (the page is personal; the API shows the organisation's)."""
    job = queue.get(db, job_id, actor)
    view = ImportJob.from_job(job, live_progress(request, job))
    if view.user_id != actor.user_id or job.kind not in (IMPORT_KIND, TEXT_KIND):
        raise NotFound("import job not found")
    view.follow_up = follow_up(db, job)
    return view


def _tlp(value: object, default: str) -> TLP:
    level = TLP_BY_NAME.get(str(value or default).lower())
    if level is None:
        raise InvalidInput(f"unknown TLP {value!r}", kind="unknown_tlp", params={"tlp": str(value)})
    return level


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


@router.post("/import")
async def start_import(request: Request, db: WriteDb, actor: FormActor) -> Response:
    require(actor, *WRITERS)
    form = await form_data(request)
    settings = get_settings(request)
    # a refusal leads back to this form with the choices kept (colsec.web.ui's error page)
    back_on_error(
        request,
        "/import?"
        + urlencode({"format": str(form.get("format") or "auto"), "tlp": str(form.get("tlp") or "")}),
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
        raise InvalidInput("choose a file or paste some text to import", kind="import_nothing_chosen")
    chosen = str(form.get("format") or "auto")
    if chosen == "auto":
        fmt = detect_format(raw)
    else:
        try:
            fmt = ImportFormat(chosen)
        except ValueError:
            raise InvalidInput(
                f"unknown format {chosen!r}", kind="unknown_format", params={"format": chosen}
            ) from None
    if fmt == ImportFormat.TEXT:
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("text must be UTF-8", kind="text_not_utf8") from None
        candidates = freetext.extract_candidates(content)
        return page(
            request,
            "ui/import_review.html",
            {"candidates": candidates, "tlp": level, "source": name},
            actor=actor,
        )
    job = await run_in_threadpool(
        partial(enqueue_import, db, actor=actor, data=raw, fmt=fmt, default_tlp=level, name=name)
    )
    return see_other(f"/import/jobs/{job.id}")


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
            raise InvalidInput("malformed candidate in the review form", kind="review_candidate_malformed")
        accepted.append((kind, value))
    if not accepted:
        raise InvalidInput("no candidate was accepted; nothing to import", kind="review_nothing_accepted")
    result = freetext.import_candidates(db, actor=actor, candidates=accepted, default_tlp=level)
    report = {"format": "text", "received": result.received, "inserted": result.inserted,
              "unchanged": result.unchanged, "by_type": dict(result.by_type), "notes": [],
              "follow_up_jobs": result.follow_up_jobs}  # fmt: skip
    job = queue.record_done(
        db, kind=TEXT_KIND, payload={"name": "text", "format": "text"}, actor=actor, result=report
    )
    job.processed = result.received
    return see_other(f"/import/jobs/{job.id}")


@router.get("/import/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, db: DbDep, actor: PageActor, job_id: str) -> HTMLResponse:
    job = _own_job(request, db, job_id, actor)
    partial = request.headers.get("hx-request") == "true"
    return page(
        request, "ui/_import_job.html" if partial else "ui/import_job.html", {"job": job}, actor=actor
    )
