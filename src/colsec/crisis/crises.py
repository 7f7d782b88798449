"""Alliance crises: opened from escalated incidents → active → stabilising → closed → reviewed.

The crisis centre leads: it opens the crisis, keeps situation reports coming, closes it
and records lessons learned.  Every step lands in the audit log and in the crisis timeline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from colsec.accounts.models import User
from colsec.accounts.roles import Actor, Role
from colsec.crisis import notify as notices
from colsec.crisis.access import require_centre
from colsec.crisis.errors import InvalidTransition
from colsec.crisis.models import Crisis, CrisisEvent, Incident, Lesson, SituationReport
from colsec.crisis.schemas import CrisisIn, LessonIn, SitrepIn
from colsec.crisis.states import CRISIS, aware, move, now
from colsec.errors import InvalidInput, NotFound
from colsec.store import audit

__all__ = [
    "add_lesson",
    "add_sitrep",
    "advance_crisis",
    "get_crisis",
    "list_crises",
    "list_lessons",
    "list_sitreps",
    "log_event",
    "open_crisis",
    "search_lessons",
    "set_alert_level",
    "timeline",
]

ALL_ROLES = (Role.ADMIN, Role.COORDINATOR, Role.ANALYST, Role.REPRESENTATIVE)


def log_event(
    db: Session,
    *,
    crisis_id: int,
    actor: Actor,
    kind: str,
    summary: str,
    params: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """One timeline line: ``kind`` and ``params`` are what pages render in each language.

    The timeline is also the crisis's replayable record (``replay``): every change of a
    crisis, request, consultation or offer state writes one line, with the data to redo it.
    """
    db.add(
        CrisisEvent(
            crisis_id=crisis_id, at=at or now(), actor=actor.username, organisation=actor.org_short_name, kind=kind,
            summary=summary, params=orjson.dumps(params or {}).decode(),
        )
    )  # fmt: skip
    db.flush()


def _everyone(db: Session) -> list[int]:
    return notices.recipients(db, roles=[Role.COORDINATOR, Role.REPRESENTATIVE])


def open_crisis(db: Session, *, actor: Actor, data: CrisisIn) -> Crisis:
    """Open a crisis from escalated incidents that no crisis has taken yet."""
    require_centre(db, actor, doing="open a crisis")
    lead_name = data.lead_username or actor.username
    lead = db.execute(select(User).where(User.username == lead_name.lower())).scalar_one_or_none()
    if lead is None or lead.role not in (Role.COORDINATOR.value, Role.ADMIN.value):
        raise InvalidInput(
            f"lead coordinator {lead_name!r} is not a coordinator",
            kind="lead_not_coordinator",
            params={"user": lead_name},
        )
    ids = sorted(set(data.incident_ids))
    crisis = Crisis(
        title=data.title, description=data.description, alert_level=data.alert_level, lead_user_id=lead.id,
        lead_username=lead.username, status="opened", opened_at=now(),
    )  # fmt: skip
    db.add(crisis)
    db.flush()
    # Conditional UPDATE: an incident joins at most one crisis even if two are opened at once.
    taken = db.execute(
        update(Incident)
        .where(Incident.id.in_(ids), Incident.status == "escalated", Incident.crisis_id.is_(None))
        .values(crisis_id=crisis.id)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != len(ids):  # type: ignore[attr-defined]
        found = dict(db.execute(select(Incident.id, Incident.status).where(Incident.id.in_(ids))).all())
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(
                f"incident(s) not found: {', '.join(map(str, missing))}",
                kind="incidents_not_found",
                params={"incidents": ", ".join(map(str, missing))},
            )
        raise InvalidTransition(
            "a crisis is opened only from escalated incidents not already in a crisis",
            kind="crisis_needs_escalated_incidents",
            details={"incidents": {str(k): v for k, v in found.items()}},
        )
    log_event(
        db,
        crisis_id=crisis.id,
        actor=actor,
        kind="opened",
        summary=f"opened from incident(s) {ids}, alert level {crisis.alert_level}",
        params={"incidents": ids, "level": crisis.alert_level},
    )
    audit.record(
        db,
        actor=actor,
        action="crisis.open",
        target=f"crisis:{crisis.id}",
        details={"incidents": ids, "alert_level": crisis.alert_level},
    )
    notices.notify(
        db, kind="crisis.opened", subject=notices.Text("Crisis #%(id)s opened: %(title)s (alert level %(level)s)",
                                                 {"id": crisis.id, "title": crisis.title, "level": crisis.alert_level}),
        body=notices.Text("Members: prepare requests for assistance and resource offers."), target=f"crisis:{crisis.id}",
        user_ids=_everyone(db),
    )  # fmt: skip
    return crisis


def get_crisis(db: Session, *, crisis_id: int) -> Crisis:
    crisis = db.get(Crisis, crisis_id)
    if crisis is None:
        raise NotFound(f"crisis {crisis_id} not found", kind="crisis_not_found", params={"crisis": crisis_id})
    return crisis


def list_crises(db: Session, *, status: str | None = None) -> list[Crisis]:
    stmt = select(Crisis).where(Crisis.exercise_run_id.is_(None)).order_by(Crisis.id.desc())
    if status:
        stmt = stmt.where(Crisis.status == status)
    return list(db.execute(stmt).scalars())


def advance_crisis(db: Session, *, actor: Actor, crisis_id: int, to: str, note: str = "") -> Crisis:
    """active, stabilising, closed, reviewed; review needs at least one lesson recorded."""
    require_centre(db, actor, doing=f"move a crisis to '{to}'")
    get_crisis(db, crisis_id=crisis_id)
    if to == "reviewed":
        n = db.execute(
            select(func.count()).select_from(Lesson).where(Lesson.crisis_id == crisis_id)
        ).scalar_one()
        if n == 0:
            raise InvalidInput(
                "record at least one lesson before marking the crisis reviewed", kind="review_needs_lesson"
            )
    crisis = move(db, Crisis, crisis_id, machine=CRISIS, to=to, label=f"crisis {crisis_id}")
    log_event(
        db, crisis_id=crisis_id, actor=actor, kind=to, summary=note or f"crisis {to}", params={"note": note}
    )
    audit.record(db, actor=actor, action=f"crisis.{to}", target=f"crisis:{crisis_id}", details={"note": note})
    notices.notify(
        db, kind=f"crisis.{to}", subject=notices.Text("Crisis #%(id)s is now %(state)s: %(title)s",
                                                  {"id": crisis_id, "state": notices.state_text(to), "title": crisis.title}),
        body=note,
        target=f"crisis:{crisis_id}", user_ids=_everyone(db),
    )  # fmt: skip
    return crisis


def set_alert_level(db: Session, *, actor: Actor, crisis_id: int, level: int, note: str = "") -> Crisis:
    """Raise or lower the alert level of a running crisis (recorded on the timeline)."""
    require_centre(db, actor, doing="change the alert level")
    if not 1 <= level <= 5:
        raise InvalidInput("alert level is 1 to 5", kind="alert_level_range")
    crisis = get_crisis(db, crisis_id=crisis_id)
    _require_running(crisis, "change the alert level")
    before = crisis.alert_level
    db.execute(
        update(Crisis)
        .where(Crisis.id == crisis_id, Crisis.status.in_(("opened", "active", "stabilising")))
        .values(alert_level=level, version=Crisis.version + 1)
        .execution_options(synchronize_session=False)
    )
    db.refresh(crisis)
    log_event(
        db,
        crisis_id=crisis_id,
        actor=actor,
        kind="alert_level",
        summary=f"alert level {before} -> {level} {note}".strip(),
        params={"from": before, "to": level, "note": note},
    )
    audit.record(
        db,
        actor=actor,
        action="crisis.alert_level",
        target=f"crisis:{crisis_id}",
        details={"from": before, "to": level},
    )
    notices.notify(
        db, kind="crisis.alert_level", subject=notices.Text("Crisis #%(id)s: alert level %(a)s -> %(b)s",
                                                           {"id": crisis_id, "a": before, "b": level}),
        body=note,
        target=f"crisis:{crisis_id}", user_ids=_everyone(db),
    )  # fmt: skip
    return crisis


def _require_running(crisis: Crisis, doing: str) -> None:
    if crisis.status not in ("opened", "active", "stabilising"):
        raise InvalidTransition(
            f"crisis {crisis.id} is '{crisis.status}': cannot {doing}", kind="crisis_not_running"
        )


def add_sitrep(db: Session, *, actor: Actor, crisis_id: int, data: SitrepIn) -> SituationReport:
    require_centre(db, actor, doing="write situation reports")
    crisis = get_crisis(db, crisis_id=crisis_id)
    _require_running(crisis, "add a situation report")
    if data.next_report_due is not None and aware(data.next_report_due) <= now():
        raise InvalidInput("next_report_due must be in the future", kind="next_report_not_future")
    number = (
        db.execute(
            select(func.max(SituationReport.number)).where(SituationReport.crisis_id == crisis_id)
        ).scalar()
        or 0
    ) + 1
    rep = SituationReport(
        crisis_id=crisis_id, number=number, author=actor.username, summary=data.summary, needs=data.needs,
        actions=data.actions, next_report_due=data.next_report_due, created_at=now(),
    )  # fmt: skip
    db.add(rep)
    db.execute(update(Crisis).where(Crisis.id == crisis_id).values(next_report_due=data.next_report_due))
    db.flush()  # the unique (crisis_id, number) refuses a concurrent duplicate number
    log_event(
        db,
        crisis_id=crisis_id,
        actor=actor,
        kind="sitrep",
        summary=f"situation report {number}: {data.summary[:200]}",
        params={"number": number, "text": data.summary[:200]},
    )
    audit.record(
        db, actor=actor, action="crisis.sitrep", target=f"crisis:{crisis_id}", details={"number": number}
    )
    notices.notify(
        db, kind="crisis.sitrep", subject=notices.Text("Crisis #%(id)s: situation report %(n)s", {"id": crisis_id, "n": number}),
        body=data.summary,
        target=f"crisis:{crisis_id}", user_ids=_everyone(db),
    )  # fmt: skip
    return rep


def list_sitreps(db: Session, *, crisis_id: int) -> list[SituationReport]:
    get_crisis(db, crisis_id=crisis_id)
    return list(
        db.execute(
            select(SituationReport)
            .where(SituationReport.crisis_id == crisis_id)
            .order_by(SituationReport.number)
        ).scalars()
    )


def add_lesson(db: Session, *, actor: Actor, crisis_id: int, data: LessonIn) -> Lesson:
    """Lessons are recorded once the crisis is closed (and may still be added after review)."""
    require_centre(db, actor, doing="record lessons learned")
    crisis = get_crisis(db, crisis_id=crisis_id)
    if crisis.status not in ("closed", "reviewed"):
        raise InvalidTransition(
            f"crisis {crisis_id} is '{crisis.status}': lessons are recorded after closure",
            kind="lessons_after_closure",
        )
    if data.kind == "recommendation" and not data.owner.strip():
        raise InvalidInput("a recommendation needs an owner", kind="recommendation_needs_owner")
    lesson = Lesson(
        crisis_id=crisis_id,
        kind=data.kind,
        text=data.text,
        owner=data.owner,
        author=actor.username,
        created_at=now(),
    )
    db.add(lesson)
    db.flush()
    log_event(db, crisis_id=crisis_id, actor=actor, kind="lesson", summary=f"{data.kind}: {data.text[:200]}",
              params={"kind": data.kind, "text": data.text[:200]})  # fmt: skip
    audit.record(
        db,
        actor=actor,
        action="crisis.lesson",
        target=f"crisis:{crisis_id}",
        details={"kind": data.kind, "id": lesson.id},
    )
    return lesson


def list_lessons(db: Session, *, crisis_id: int) -> list[Lesson]:
    get_crisis(db, crisis_id=crisis_id)
    return list(db.execute(select(Lesson).where(Lesson.crisis_id == crisis_id).order_by(Lesson.id)).scalars())


def search_lessons(db: Session, *, query: str, limit: int = 100) -> list[Lesson]:
    """Case-insensitive search over every crisis's lessons (text and owner)."""
    words = [w for w in query.lower().split() if w][:8]
    if not words:
        raise InvalidInput("search needs at least one word", kind="search_needs_word")
    stmt = select(Lesson).order_by(Lesson.id.desc()).limit(min(limit, 500))
    for w in words:
        like = "%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                func.lower(Lesson.text).like(like, escape="\\"),
                func.lower(Lesson.owner).like(like, escape="\\"),
            )
        )
    return list(db.execute(stmt).scalars())


def timeline(db: Session, *, crisis_id: int) -> list[CrisisEvent]:
    get_crisis(db, crisis_id=crisis_id)
    return list(
        db.execute(
            select(CrisisEvent).where(CrisisEvent.crisis_id == crisis_id).order_by(CrisisEvent.id)
        ).scalars()
    )


def due_sitreps(db: Session, *, at: datetime | None = None) -> list[Crisis]:
    when = at or now()
    return list(
        db.execute(
            select(Crisis).where(
                Crisis.status.in_(("opened", "active", "stabilising")),
                Crisis.next_report_due.is_not(None),
                Crisis.next_report_due <= when,
            )
        ).scalars()
    )
