"""Bulletins and the dashboard's series over JSON: ``/api/v1/reports/...``.

The series endpoint is the one source of numbers (``colsec.reports.series``) read through
the caller's organisation; bulletin documents come as JSON, HTML or PDF in ``en`` or ``ru``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from colsec.errors import InvalidInput
from colsec.reports import service
from colsec.reports.audience import Scope, audience_level
from colsec.reports.models import Bulletin
from colsec.reports.schedule import require_scheduler, set_schedule
from colsec.reports.series import days_of, parse_day, parse_period, series
from colsec.stix.tlp import TLP
from colsec.web.deps import ActorDep, DbDep
from colsec.web.i18n import LANGUAGES
from colsec.web.params import IdPath
from colsec.web.ui.reports import describe, mail_text, render_html, render_pdf

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


def _lang(value: str) -> str:
    if value not in LANGUAGES:
        raise InvalidInput(f"language {value!r}: one of {', '.join(LANGUAGES)}")
    return value


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def bulletin_json(b: Bulletin, lang: str = "en") -> dict[str, Any]:
    title, summary = describe(b, lang)
    return {
        "id": b.id,
        "series": b.series,
        "version": b.version,
        "kind": b.kind,
        "audience": TLP(b.audience).name,
        "title": title,
        "summary": summary,
        "period": {"start": _iso(b.period_start), "end": _iso(b.period_end)},
        "status": b.status,
        "author": b.author,
        "approved_by": b.approved_by,
        "published_at": _iso(b.published_at),
        "sections": service.sections_of(b),
        "commentary": service.commentary_of(b),
    }


@router.get("/series")
def get_series(
    db: DbDep,
    actor: ActorDep,
    metric: Annotated[
        str, Query(description="objects, sightings, alerts, crises, time-to-decision, time-to-deploy")
    ],
    by: Annotated[str, Query(description="type, member, sector, severity, status or total")] = "total",
    period: Annotated[str, Query(description="days ending today, e.g. 7d")] = "14d",
    end: Annotated[str | None, Query(description="last day (YYYY-MM-DD); default today")] = None,
) -> dict[str, Any]:
    """Daily figures as the caller's organisation may see them: the numbers the dashboard draws."""
    n = parse_period(period)
    last = parse_day(end) if end else datetime.now(UTC).date()
    days = days_of(last - timedelta(days=n - 1), last)
    return series(db, scope=Scope.for_org(db, actor.org_id), metric=metric, by=by, days=days).to_dict()


class DraftIn(BaseModel):
    kind: str = Field(description="daily, weekly, monthly, crisis_digest or joint_advisory")
    audience: str = Field(description="clear, green or amber")
    end: str | None = Field(default=None, description="the day after the period (YYYY-MM-DD); default today")


class CommentaryIn(BaseModel):
    language: str
    text: str


class LinksIn(BaseModel):
    links: list[dict[str, str]]


class SubscriptionIn(BaseModel):
    email: str
    language: str = "en"


class ScheduleIn(BaseModel):
    kind: str
    audience: str
    hour: int = 7
    minute: int = 0
    commentary: bool = False  # drafts wait for analysts' commentary sections
    auto_publish: bool = False  # data-only TLP:CLEAR bulletins only


@router.get("/bulletins")
def list_bulletins(
    db: DbDep, actor: ActorDep, status: str | None = None, lang: str = "en"
) -> list[dict[str, Any]]:
    return [bulletin_json(b, _lang(lang)) for b in service.list_bulletins(db, actor=actor, status=status)]


@router.post("/bulletins", status_code=201)
def create_bulletin(body: DraftIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    end = parse_day(body.end) if body.end else None
    b = service.create_draft(db, actor=actor, kind=body.kind, audience=audience_level(body.audience), end=end)
    return bulletin_json(b)


@router.get("/bulletins/{bulletin_id}")
def get_bulletin(bulletin_id: IdPath, db: DbDep, actor: ActorDep, lang: str = "en") -> dict[str, Any]:
    return bulletin_json(service.get(db, actor=actor, bulletin_id=bulletin_id), _lang(lang))


@router.get("/bulletins/{bulletin_id}/html", response_class=HTMLResponse)
def get_bulletin_html(bulletin_id: IdPath, db: DbDep, actor: ActorDep, lang: str = "en") -> HTMLResponse:
    b = service.get(db, actor=actor, bulletin_id=bulletin_id)
    return HTMLResponse(render_html(b, _lang(lang)), headers={"Content-Language": lang})


@router.get("/bulletins/{bulletin_id}/pdf")
def get_bulletin_pdf(bulletin_id: IdPath, db: DbDep, actor: ActorDep, lang: str = "en") -> Response:
    b = service.get(db, actor=actor, bulletin_id=bulletin_id)
    return Response(
        render_pdf(b, _lang(lang)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="bulletin-{b.id}-v{b.version}-{lang}.pdf"'},
    )


@router.get("/bulletins/{bulletin_id}/versions")
def get_versions(bulletin_id: IdPath, db: DbDep, actor: ActorDep) -> list[dict[str, Any]]:
    b = service.get(db, actor=actor, bulletin_id=bulletin_id)
    return [bulletin_json(v) for v in service.versions(db, actor=actor, series=b.series)]


@router.put("/bulletins/{bulletin_id}/commentary")
def put_commentary(bulletin_id: IdPath, body: CommentaryIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    b = service.set_commentary(
        db, actor=actor, bulletin_id=bulletin_id, language=body.language, text=body.text
    )
    return bulletin_json(b)


@router.put("/bulletins/{bulletin_id}/links")
def put_links(bulletin_id: IdPath, body: LinksIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return bulletin_json(service.set_links(db, actor=actor, bulletin_id=bulletin_id, links=body.links))


@router.post("/bulletins/{bulletin_id}/submit")
def submit(bulletin_id: IdPath, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return bulletin_json(service.submit(db, actor=actor, bulletin_id=bulletin_id))


@router.post("/bulletins/{bulletin_id}/approve")
def approve(bulletin_id: IdPath, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return bulletin_json(service.approve(db, actor=actor, bulletin_id=bulletin_id))


@router.post("/bulletins/{bulletin_id}/publish")
def publish(bulletin_id: IdPath, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return bulletin_json(service.publish(db, actor=actor, bulletin_id=bulletin_id, mailer=mail_text))


@router.post("/bulletins/{bulletin_id}/correct", status_code=201)
def correct(bulletin_id: IdPath, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return bulletin_json(service.correct(db, actor=actor, bulletin_id=bulletin_id))


@router.post("/subscriptions", status_code=201)
def subscribe(body: SubscriptionIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    sub = service.subscribe(db, actor=actor, email=body.email, language=body.language)
    return {
        "id": sub.id,
        "email": sub.email,
        "language": sub.language,
        "organisation_id": sub.organisation_id,
    }


@router.put("/schedules")
def put_schedule(body: ScheduleIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    """Set when drafts of one bulletin type are generated (node operator only)."""
    require_scheduler(actor)
    row = set_schedule(
        db, kind=body.kind, audience=audience_level(body.audience), hour=body.hour, minute=body.minute,
        commentary=body.commentary, auto_publish=body.auto_publish, actor=actor,
    )  # fmt: skip
    return {
        "kind": row.kind, "audience": TLP(row.audience).name, "hour": row.hour, "minute": row.minute,
        "commentary": row.commentary, "auto_publish": row.auto_publish,
    }  # fmt: skip
