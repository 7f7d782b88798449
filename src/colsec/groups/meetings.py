"""Meetings of a group: planning, agenda, invitations, attendance and quorum, decisions taken.

A meeting moves planned -> held -> minutes draft -> minutes approved (``MEETING_FLOW``; the
minutes themselves are in ``minutes.py``).  Planning one puts the group's open action items on
its agenda, and a new action item joins the agenda of the next planned meeting (``carry_action``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation, User
from colsec.accounts.roles import Actor
from colsec.crisis import notify as notices
from colsec.crisis.errors import InvalidTransition
from colsec.crisis.states import aware
from colsec.crisis.states import now as clock
from colsec.errors import InvalidInput, NotFound
from colsec.groups.access import get_group, require_officer
from colsec.groups.models import (
    ActionItem,
    AgendaItem,
    Attendance,
    Decision,
    Group,
    Meeting,
    Member,
)
from colsec.groups.schemas import (
    AgendaIn,
    DecisionIn,
    MeetingIn,
)
from colsec.groups.service import (
    OPEN_ACTION_STATES,
    check_papers,
    new_decision,
    not_in_group,
    org_named,
    people_of,
)
from colsec.outbox import Channel, Outgoing, put
from colsec.outbox.text import Text, render
from colsec.store import audit

__all__ = [
    "MEETING_FLOW",
    "add_agenda_item",
    "carry_action",
    "create_meeting",
    "get_meeting",
    "hold_meeting",
    "move_meeting",
    "next_meeting",
    "record_meeting_decision",
    "send_invitations",
]

MEETING_FLOW: dict[str, tuple[str, ...]] = {
    "held": ("planned",),
    "minutes_draft": ("held",),
    "minutes_approved": ("minutes_draft",),
}


def get_meeting(db: Session, *, actor: Actor, meeting_id: int) -> tuple[Meeting, Group]:
    m = db.get(Meeting, meeting_id)
    if m is None:
        raise NotFound(
            f"meeting {meeting_id} not found", kind="meeting_not_found", params={"meeting": meeting_id}
        )
    try:
        g = get_group(db, actor, m.group_id)
    except NotFound:
        raise NotFound(
            f"meeting {meeting_id} not found", kind="meeting_not_found", params={"meeting": meeting_id}
        ) from None
    return m, g


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone {tz!r}; use an IANA name such as Europe/Vienna",
            kind="unknown_time_zone",
            params={"tz": tz, "example": "Europe/Vienna"},
        ) from None


def create_meeting(
    db: Session, *, actor: Actor, group_id: int, data: MeetingIn, now: datetime | None = None
) -> Meeting:
    """Plan a meeting; the group's open action items join its agenda."""
    g = get_group(db, actor, group_id)
    require_officer(g, actor, doing="plan meetings")
    zone = _zone(data.tz)
    # naive times are the meeting's local time; stored in UTC (SQLite keeps no offset)
    try:
        starts = (
            data.starts_at if data.starts_at.tzinfo else data.starts_at.replace(tzinfo=zone)
        ).astimezone(UTC)
    except OverflowError:  # 9999-12-31 23:59 west of Greenwich lies past the last date Python keeps
        raise InvalidInput(
            "the meeting's start is beyond the dates this node keeps", kind="meeting_start_out_of_range"
        ) from None
    if starts <= (now or clock()):
        raise InvalidInput("the meeting must start in the future", kind="meeting_not_future")
    m = Meeting(group_id=g.id, title=data.title, starts_at=starts, tz=data.tz, duration_minutes=data.duration_minutes,
                place=data.place, link=data.link, status="planned")  # fmt: skip
    db.add(m)
    db.flush()
    for item in data.agenda:
        add_agenda_item(db, meeting=m, data=item)
    for a in db.execute(
        select(ActionItem).where(ActionItem.group_id == g.id, ActionItem.status.in_(OPEN_ACTION_STATES))
        .order_by(ActionItem.due_on, ActionItem.id)
    ).scalars():  # fmt: skip
        carry_action(db, m, a)
    audit.record(db, actor=actor, action="groups.meeting.plan", target=f"meeting:{m.id}",
                 details={"group": g.code, "starts_at": starts.isoformat(), "tz": data.tz})  # fmt: skip
    return m


def add_agenda_item(
    db: Session, *, meeting: Meeting, data: AgendaIn, action_item_id: int | None = None
) -> AgendaItem:
    pos = db.execute(
        select(func.coalesce(func.max(AgendaItem.position), 0)).where(AgendaItem.meeting_id == meeting.id)
    ).scalar_one()
    item = AgendaItem(meeting_id=meeting.id, position=pos + 1, title=data.title, presenter=data.presenter,
                      decision_sought=data.decision_sought, action_item_id=action_item_id)  # fmt: skip
    db.add(item)
    db.flush()
    return item


def carry_action(db: Session, m: Meeting, a: ActionItem) -> None:
    """An open action item on the agenda of meeting ``m`` (once)."""
    present = db.execute(
        select(AgendaItem.id).where(AgendaItem.meeting_id == m.id, AgendaItem.action_item_id == a.id)
    ).first()
    if present is None:
        add_agenda_item(db, meeting=m, action_item_id=a.id,
                        data=AgendaIn(title=f"Action item #{a.id}: {a.title}"[:300], presenter="",
                                      decision_sought=f"status: {a.status}, due {a.due_on.isoformat()}"))  # fmt: skip


def next_meeting(db: Session, group_id: int) -> Meeting | None:
    return db.execute(
        select(Meeting).where(Meeting.group_id == group_id, Meeting.status == "planned")
        .order_by(Meeting.starts_at).limit(1)
    ).scalar()  # fmt: skip


def send_invitations(db: Session, *, actor: Actor, meeting_id: int, now: datetime | None = None) -> int:
    """E-mail the group's mailing list (its people) an iCalendar invitation; returns the number queued."""
    from colsec.groups.ics import invitation

    m, g = get_meeting(db, actor=actor, meeting_id=meeting_id)
    require_officer(g, actor, doing="send invitations")
    if m.status != "planned":
        raise InvalidTransition(
            f"meeting {m.id} is '{m.status}': invitations go out before it is held",
            kind="invitations_after_held",
        )
    agenda = list(
        db.execute(
            select(AgendaItem).where(AgendaItem.meeting_id == m.id).order_by(AgendaItem.position)
        ).scalars()
    )
    users = list(db.execute(select(User).where(User.id.in_(people_of(db, g.id)), User.is_active)).scalars())
    mailed = [u for u in users if u.email]
    ics = invitation(g, m, agenda, attendees=[u.email for u in mailed if u.email], sequence=0)
    stamp = (now or clock()).strftime("%Y%m%dT%H%M%S")
    start = aware(m.starts_at).astimezone(_zone(m.tz))
    body = "\n".join([f"{g.code}: {m.title}", f"{start:%Y-%m-%d %H:%M} ({m.tz})", m.place, m.link, "",
                      *[f"{a.position}. {a.title}" for a in agenda]])  # fmt: skip
    n = put(db, [
        Outgoing(channel=Channel.EMAIL, destination=str(u.email), event="groups.meeting.invitation", org_id=u.organisation_id,
                 idempotency_key=f"groups:meeting:{m.id}:invite:{stamp}:{u.id}",
                 payload={"subject": render(Text("[%(code)s] Invitation: %(title)s %(start)s %(tz)s", {
                              "code": g.code, "title": m.title, "start": start.strftime("%Y-%m-%d %H:%M"), "tz": m.tz}), u.language),
                          "body": body,
                          "attachments": [{"filename": "invite.ics", "content_type": "text/calendar; method=REQUEST",
                                           "content": ics}]})
        for u in mailed
    ])  # fmt: skip
    notices.notify(db, kind="groups.meeting.invitation", subject=f"[{g.code}] {m.title}: {start:%Y-%m-%d %H:%M} {m.tz}",
                   target=f"meeting:{m.id}", user_ids=[u.id for u in users if not u.email])  # fmt: skip
    m.invitations_sent_at = now or clock()
    audit.record(
        db, actor=actor, action="groups.meeting.invite", target=f"meeting:{m.id}", details={"emails": n}
    )
    return n


def move_meeting(db: Session, m: Meeting, to: str, at: datetime, **values: object) -> None:
    allowed = MEETING_FLOW[to]
    res = db.execute(
        update(Meeting).where(Meeting.id == m.id, Meeting.status.in_(allowed))
        .values(status=to, **{f"{to}_at": at}, **values).execution_options(synchronize_session=False)
    )  # fmt: skip
    if getattr(res, "rowcount", 0) != 1:
        raise InvalidTransition(
            f"meeting {m.id} is '{m.status}': cannot move to '{to}' (needs {', '.join(allowed)})",
            kind="meeting_step_not_now",
        )
    db.refresh(m)


def hold_meeting(
    db: Session, *, actor: Actor, meeting_id: int, present: list[str], now: datetime | None = None
) -> Meeting:
    """Record attendance per organisation; the quorum is a majority of the voting members present.
    Only once the meeting has begun: attendance recorded ahead of it would be invented."""
    m, g = get_meeting(db, actor=actor, meeting_id=meeting_id)
    require_officer(g, actor, doing="record attendance")
    members = {
        o: k
        for o, k in db.execute(select(Member.organisation_id, Member.kind).where(Member.group_id == g.id))
    }
    here: set[int] = set()
    for short in present:
        org = org_named(db, short)
        if org.id not in members:
            raise not_in_group(short, g)
        here.add(org.id)
    voting = [o for o, k in members.items() if k == "member"]
    quorum = len(voting) // 2 + 1
    reached = sum(1 for o in voting if o in here) >= quorum
    at = now or clock()
    if at < aware(m.starts_at):
        raise InvalidInput(
            f"meeting {m.id} starts at {aware(m.starts_at):%Y-%m-%d %H:%M} UTC: it cannot be held before",
            kind="meeting_held_before_start",
            params={"starts_at": aware(m.starts_at)},
        )
    move_meeting(db, m, "held", at, quorum_reached=reached)
    db.add_all(Attendance(meeting_id=m.id, organisation_id=o, present=o in here) for o in sorted(members))
    db.flush()
    audit.record(db, actor=actor, action="groups.meeting.held", target=f"meeting:{m.id}",
                 details={"present": sorted(here), "quorum": quorum, "reached": reached})  # fmt: skip
    return m


def record_meeting_decision(
    db: Session, *, actor: Actor, meeting_id: int, data: DecisionIn, now: datetime | None = None
) -> Decision:
    """A decision taken in a meeting that was held with a quorum."""
    m, g = get_meeting(db, actor=actor, meeting_id=meeting_id)
    require_officer(g, actor, doing="record decisions")
    if m.status == "planned":
        raise InvalidTransition(f"meeting {m.id} has not been held", kind="meeting_not_held")
    if not m.quorum_reached:
        raise InvalidInput(f"meeting {m.id} had no quorum: it cannot decide", kind="meeting_no_quorum")
    check_papers(db, g.id, data.paper_ids)
    present = db.execute(
        select(Organisation.short_name).join(Attendance, Attendance.organisation_id == Organisation.id)
        .where(Attendance.meeting_id == m.id, Attendance.present)
    ).scalars()  # fmt: skip
    d = new_decision(db, g, text_en=data.text_en, text_ru=data.text_ru, how="meeting", at=now or clock(),
                     meeting_id=m.id, positions={s: "present" for s in present}, paper_ids=data.paper_ids)  # fmt: skip
    audit.record(
        db, actor=actor, action="groups.decision", target=f"decision:{d.id}", details={"number": d.number}
    )
    return d
