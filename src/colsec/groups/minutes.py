"""Minutes: drafted by the secretary from the agenda, commented by attendees until the deadline,
approved by the chair and then frozen as one PDF in both languages.

Rendering at approval (not on request) freezes what the chair approved: a later change of
template, font or group name cannot alter the record, and its SHA-256 goes into the audit log.
"""

from __future__ import annotations

import hashlib
import warnings
from datetime import datetime, timedelta
from html import escape

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor
from colsec.crisis import notify as notices
from colsec.crisis.errors import InvalidTransition
from colsec.crisis.states import aware
from colsec.crisis.states import now as clock
from colsec.errors import Forbidden, InvalidInput
from colsec.groups.access import require_chair
from colsec.groups.meetings import get_meeting, move_meeting
from colsec.groups.models import AgendaItem, Attendance, Group, Meeting, MinutesComment
from colsec.groups.service import people_of, utc
from colsec.stix.tlp import TLP
from colsec.store import audit

__all__ = [
    "STYLE",
    "approve_minutes",
    "comment_minutes",
    "draft_minutes",
    "minutes_comments",
    "pdf",
    "render_minutes",
]

STYLE = "body{font-family:sans-serif;font-size:9pt}td{border:1px solid #999;padding:2px;vertical-align:top}"


def pdf(html: str) -> bytes:
    """WeasyPrint, with the data already escaped by the caller; no scripts, no network."""
    with warnings.catch_warnings():  # WeasyPrint warns about optional system libraries on import
        warnings.simplefilter("ignore", DeprecationWarning)
        from weasyprint import HTML
    out: bytes = HTML(string=html).write_pdf()
    return out


def render_minutes(m: Meeting, g: Group, comments: list[tuple[str, str]]) -> bytes:
    """English then Russian minutes, with the attendees' comments received before approval."""
    approved = m.minutes_approved_at.date().isoformat() if m.minutes_approved_at else ""

    def part(title: str, text: str, heading: str) -> str:
        lines = "".join(f"<p>{escape(line)}</p>" for line in text.splitlines())
        notes = "".join(f"<li>{escape(who)}: {escape(what)}</li>" for who, what in comments)
        return f"<h1>{escape(title)}</h1>{lines}" + (f"<h2>{heading}</h2><ul>{notes}</ul>" if notes else "")

    html = (f"<html><head><meta charset='utf-8'><style>{STYLE}</style></head><body>"
            f"<p>{escape(TLP(g.default_tlp).display)} · {escape(g.code)} · {escape(approved)}</p>"
            + part(f"Minutes: {m.title}", m.minutes_en, "Comments")
            + "<div style='page-break-before:always'></div>"
            + part(f"Протокол: {m.title}", m.minutes_ru, "Замечания") + "</body></html>")  # fmt: skip
    return pdf(html)


def draft_minutes(
    db: Session, *, actor: Actor, meeting_id: int, minutes_en: str = "", minutes_ru: str = "",
    comments_until: datetime | None = None, now: datetime | None = None,
) -> Meeting:  # fmt: skip
    """The secretary drafts the minutes (from the agenda when no text is given) and circulates them."""
    m, g = get_meeting(db, actor=actor, meeting_id=meeting_id)
    if not (g.secretary_user_id == actor.user_id or actor.is_operator):
        raise Forbidden(
            f"only the secretary of {g.code} drafts minutes",
            kind="minutes_secretary_only",
            params={"group": g.code},
        )
    at = now or clock()
    agenda = list(
        db.execute(
            select(AgendaItem).where(AgendaItem.meeting_id == m.id).order_by(AgendaItem.position)
        ).scalars()
    )
    if not minutes_en:
        minutes_en = "\n".join(
            [f"Minutes of {g.code} meeting '{m.title}'", *[f"{a.position}. {a.title}" for a in agenda]]
        )
    if not minutes_ru:
        minutes_ru = "\n".join(
            [f"Протокол заседания {g.code} «{m.title}»", *[f"{a.position}. {a.title}" for a in agenda]]
        )
    until = utc(comments_until, "comment deadline") if comments_until else at + timedelta(days=7)
    move_meeting(
        db, m, "minutes_draft", at, minutes_en=minutes_en, minutes_ru=minutes_ru, comments_until=until
    )
    attendees = list(
        db.execute(
            select(Attendance.organisation_id).where(Attendance.meeting_id == m.id, Attendance.present)
        ).scalars()
    )
    notices.notify(db, kind="groups.minutes.draft", subject=notices.Text("[%(code)s] Draft minutes of '%(title)s': comments until %(until)s",
                                                                             {"code": g.code, "title": m.title, "until": until.strftime("%Y-%m-%d")}),
                   body=minutes_en, target=f"meeting:{m.id}", user_ids=people_of(db, g.id, attendees))  # fmt: skip
    audit.record(db, actor=actor, action="groups.minutes.draft", target=f"meeting:{m.id}")
    return m


MAX_COMMENT = 4000  # the same cap as the API's schema, for the page's form too


def _present_orgs(db: Session, meeting_id: int) -> list[int]:
    return list(
        db.execute(
            select(Attendance.organisation_id).where(Attendance.meeting_id == meeting_id, Attendance.present)
        ).scalars()
    )


def comment_minutes(
    db: Session, *, actor: Actor, meeting_id: int, text: str, now: datetime | None = None
) -> MinutesComment:
    """An attendee comments on draft minutes until the comment deadline; the secretary is told."""
    m, g = get_meeting(db, actor=actor, meeting_id=meeting_id)
    at = now or clock()
    if m.status != "minutes_draft":
        raise InvalidTransition(
            f"the minutes of meeting {m.id} are not open for comments (they are '{m.status}')",
            kind="minutes_not_open",
        )
    if m.comments_until is not None and at > aware(m.comments_until):
        raise InvalidTransition(
            f"comments on the minutes of meeting {m.id} closed at {aware(m.comments_until):%Y-%m-%d %H:%M} UTC",
            kind="minutes_comments_closed",
            params={"until": aware(m.comments_until)},
        )
    if actor.org_id is None or actor.org_id not in _present_orgs(db, m.id):
        raise Forbidden(
            f"only organisations present at meeting {m.id} comment on its minutes",
            kind="minutes_present_only",
        )
    body = text.strip()
    if not body:
        raise InvalidInput("a comment needs text", kind="comment_empty")
    if len(body) > MAX_COMMENT:
        raise InvalidInput(
            f"a comment holds at most {MAX_COMMENT} characters, this one {len(body)}",
            kind="comment_too_long",
            params={"limit": MAX_COMMENT, "length": len(body)},
        )
    c = MinutesComment(
        meeting_id=m.id, organisation_id=actor.org_id, author=actor.username, text=body, created_at=at
    )
    db.add(c)
    db.flush()
    if g.secretary_user_id is not None:
        notices.notify(db, kind="groups.minutes.comment", subject=notices.Text("[%(code)s] Comment on the minutes of '%(title)s'", {"code": g.code, "title": m.title}),
                       body=body, target=f"meeting:{m.id}", user_ids=[g.secretary_user_id])  # fmt: skip
    audit.record(db, actor=actor, action="groups.minutes.comment", target=f"meeting:{m.id}")
    return c


def minutes_comments(db: Session, *, actor: Actor, meeting_id: int) -> list[MinutesComment]:
    m, _ = get_meeting(db, actor=actor, meeting_id=meeting_id)
    return list(
        db.execute(
            select(MinutesComment).where(MinutesComment.meeting_id == m.id).order_by(MinutesComment.id)
        ).scalars()
    )


def approve_minutes(db: Session, *, actor: Actor, meeting_id: int, now: datetime | None = None) -> Meeting:
    """The chair approves; the minutes are rendered to PDF once and frozen (no verb changes them)."""
    m, g = get_meeting(db, actor=actor, meeting_id=meeting_id)
    require_chair(g, actor, doing="approve minutes")
    move_meeting(db, m, "minutes_approved", now or clock())
    orgs = dict(db.execute(select(Organisation.id, Organisation.short_name)).all())
    comments = [
        (f"{orgs.get(c.organisation_id, '?')} ({c.author})", c.text)
        for c in minutes_comments(db, actor=actor, meeting_id=m.id)
    ]
    frozen = render_minutes(m, g, comments)
    digest = hashlib.sha256(frozen).hexdigest()
    db.execute(update(Meeting).where(Meeting.id == m.id).values(minutes_pdf=frozen, minutes_sha256=digest))
    db.refresh(m)
    audit.record(db, actor=actor, action="groups.minutes.approve", target=f"meeting:{m.id}",
                 details={"sha256": digest, "comments": len(comments)})  # fmt: skip
    return m
