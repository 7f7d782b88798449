"""Imports over HTTP: POST the bytes, get a job id, poll its progress; formats from the registry."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from colsec.accounts.roles import Actor, Role
from colsec.errors import InvalidInput, NotFound
from colsec.formats.freetext import extract_candidates, import_candidates
from colsec.formats.jobs import FEED_KIND, IMPORT_KIND, enqueue_feed, enqueue_import, follow_up, import_view
from colsec.formats.registry import EXPORTERS, IMPORTERS, ImportFormat
from colsec.formats.stix_bundle import gunzip_upload
from colsec.jobs import queue
from colsec.stix.tlp import TLP, TLP_BY_NAME
from colsec.web.api.jobs import live_progress
from colsec.web.deps import ActorDep, DbDep, get_settings, require_role

router = APIRouter(prefix="/api/v1/imports", tags=["imports"])
Writer = Annotated[Actor, Depends(require_role(Role.ANALYST, Role.COORDINATOR))]
Operator = Annotated[Actor, Depends(require_role(Role.ADMIN, Role.COORDINATOR))]


def _format(value: str | None) -> ImportFormat | None:
    if not value:
        return None
    try:
        return ImportFormat(value)
    except ValueError:
        raise InvalidInput(
            f"unknown format {value!r}; choose from {', '.join(f.value for f in ImportFormat)}"
        ) from None


def _tlp(value: str | None) -> TLP | None:
    if not value:
        return None
    level = TLP_BY_NAME.get(value.lower())
    if level is None:
        raise InvalidInput(f"unknown TLP {value!r}")
    return level


@router.get("/formats")
def formats(actor: ActorDep) -> dict[str, Any]:
    return {
        "import": [{"format": f.value, "description": i.description} for f, i in IMPORTERS.items()],
        "export": [
            {"format": f.value, "description": e.description, "media_type": e.media_type}
            for f, e in EXPORTERS.items()
        ],
    }


@router.post("", status_code=202)
async def start_import(
    request: Request,
    db: DbDep,
    actor: Writer,
    format: str | None = None,
    tlp: str | None = None,
    declassify: bool = False,
) -> dict[str, Any]:
    """Queue an import of the request body (format detected from content when not given).

    ``declassify`` lets the owner publish versions with a wider marking (audited).
    """
    fmt = _format(format)
    settings = get_settings(request)
    level = _tlp(tlp) or TLP_BY_NAME[settings.default_tlp]
    # A .json.gz body is taken as the CLI and the web form take it, under the same caps.
    data = gunzip_upload(await request.body(), source="request body", limit=settings.max_decompressed_bytes)
    if not data.strip():
        raise InvalidInput("request body is empty")
    # Off the event loop: the upload is written with the job (the request's transaction).
    job = await run_in_threadpool(
        partial(enqueue_import, db, actor=actor, data=data, fmt=fmt, default_tlp=level, declassify=declassify)
    )
    return import_view(job)


@router.post("/feed", status_code=202)
def start_feed(request: Request, db: DbDep, actor: Operator, body: dict[str, Any]) -> dict[str, Any]:
    """Queue a pull of a MISP feed by URL (http(s), public hosts only; never a server path)."""
    url = body.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidInput("'url' must be an http(s) URL of a MISP feed")
    settings = get_settings(request)
    level = _tlp(body.get("tlp")) or TLP_BY_NAME[settings.default_tlp]
    return import_view(enqueue_feed(db, actor=actor, url=url, default_tlp=level))


@router.get("/{job_id}")
def job_status(request: Request, db: DbDep, actor: ActorDep, job_id: str) -> dict[str, Any]:
    """Status and progress of an import, read from the job table (any worker, any process)."""
    job = queue.get(db, job_id, actor)
    if job.kind not in (IMPORT_KIND, FEED_KIND):
        raise NotFound(f"import job {job_id} not found")
    return import_view(job, live_progress(request, job), follow_up(db, job))


@router.post("/candidates")
async def candidates(request: Request, actor: Writer) -> dict[str, Any]:
    """Indicator candidates in a text (refanged), for the analyst to review before import."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("text must be UTF-8") from None
    return {
        "candidates": [
            {"kind": c.kind, "value": c.value, "context": c.context} for c in extract_candidates(text)
        ]
    }


@router.post("/candidates/accept", status_code=201)
def accept_candidates(db: DbDep, actor: Writer, body: dict[str, Any]) -> dict[str, Any]:
    """Import the candidates the analyst kept: ``{"candidates": [{"kind", "value"}], "source", "tlp"}``."""
    items = body.get("candidates")
    if not isinstance(items, list) or not items:
        raise InvalidInput("'candidates' must be a non-empty list")
    pairs = []
    for item in items:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("kind"), str)
            or not isinstance(item.get("value"), str)
        ):
            raise InvalidInput("each candidate needs 'kind' and 'value' strings")
        pairs.append((item["kind"], item["value"]))
    result = import_candidates(
        db,
        actor=actor,
        candidates=pairs,
        source=str(body.get("source") or "free text")[:200],
        default_tlp=_tlp(body.get("tlp")),
    )
    return dict(result.to_dict())
