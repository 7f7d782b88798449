"""Verbs of the groups domain: groups and members, meetings and minutes, papers, decisions, action items.

Every verb takes ``now`` (defaulting to the clock) so time-based rules are tested with a
controlled clock.  Effects that leave the node (invitations, reminders) are outbox rows and
in-app notifications written in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation, User
from colsec.accounts.roles import Actor
from colsec.crisis import notify as notices
from colsec.crisis.access import require_centre
from colsec.crisis.errors import InvalidTransition
from colsec.crisis.models import Crisis, Lesson
from colsec.crisis.states import aware
from colsec.crisis.states import now as clock
from colsec.errors import Conflict, Forbidden, InvalidInput, NotFound
from colsec.groups.access import get_group, is_chair, member_kind, require_chair, require_officer
from colsec.groups.models import (
    ActionItem,
    AgendaItem,
    Attendance,
    Decision,
    Delegation,
    Group,
    Meeting,
    Member,
    Paper,
    Person,
)
from colsec.groups.schemas import (
    ActionIn,
    AgendaIn,
    DecisionIn,
    DelegationIn,
    GroupIn,
    LessonActionIn,
    MeetingIn,
    MemberIn,
)
from colsec.outbox import Channel, Outgoing, put
from colsec.outbox.text import Text, render
from colsec.stix.tlp import TLP, TLP_BY_NAME
from colsec.store import audit

__all__ = [
    "ACTION_FLOW",
    "MEETING_FLOW",
    "action_from_lesson",
    "add_agenda_item",
    "add_member",
    "create_action",
    "create_group",
    "create_meeting",
    "delegate",
    "get_meeting",
    "hold_meeting",
    "list_groups",
    "member_org_ids",
    "move_action",
    "move_meeting",
    "new_decision",
    "org_named",
    "people_of",
    "record_meeting_decision",
    "send_invitations",
    "tlp_of",
]

MEETING_FLOW: dict[str, tuple[str, ...]] = {
    "held": ("planned",),
    "minutes_draft": ("held",),
    "minutes_approved": ("minutes_draft",),
}
# target -> (states it may come from, who moves it: 'owner' organisation or 'chair')
ACTION_FLOW: dict[str, tuple[tuple[str, ...], str]] = {
    "in_progress": (("open",), "owner"),
    "done": (("open", "in_progress"), "owner"),
    "verified": (("done",), "chair"),
    "open": (("done",), "chair"),  # the chair sends unfinished work back
}
OPEN_ACTION_STATES = ("open", "in_progress")


def utc(value: datetime, what: str = "time") -> datetime:
    """An aware UTC time (naive means UTC); a time outside the calendar after conversion is refused."""
    try:
        return aware(value).astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidInput(f"the {what} is out of range") from None


def tlp_of(name: str) -> TLP:
    level = TLP_BY_NAME.get(name.strip().lower())
    if level is None:
        raise InvalidInput(f"unknown TLP {name!r}; one of: clear, green, amber, amber+strict, red")
    return level


def org_named(db: Session, short_name: str) -> Organisation:
    o = db.execute(select(Organisation).where(Organisation.short_name == short_name)).scalar()
    if o is None:
        raise InvalidInput(f"unknown organisation {short_name!r}")
    return o


def _user(db: Session, username: str, *, org_id: int | None = None) -> User:
    u = db.execute(select(User).where(User.username == username.lower())).scalar()
    if u is None or not u.is_active:
        raise InvalidInput(f"unknown user {username!r}")
    if org_id is not None and u.organisation_id != org_id:
        raise InvalidInput(f"user {username!r} does not belong to that organisation")
    return u


# --- groups and members ------------------------------------------------------------------------


def create_group(db: Session, *, actor: Actor, data: GroupIn) -> Group:
    """The crisis centre (the alliance secretariat) sets groups up; members are organisations."""
    require_centre(db, actor, doing="create working groups")
    if data.term_start and data.term_end and data.term_end < data.term_start:
        raise InvalidInput("the term ends before it starts")
    if data.parent_id is not None and db.get(Group, data.parent_id) is None:
        raise InvalidInput(f"parent group {data.parent_id} does not exist")
    g = Group(
        code=data.code.upper(), name_en=data.name_en, name_ru=data.name_ru, mandate_en=data.mandate_en,
        mandate_ru=data.mandate_ru, kind=data.kind.value, parent_id=data.parent_id, term_start=data.term_start,
        term_end=data.term_end, default_tlp=int(tlp_of(data.default_tlp)), created_by=actor.username,
        chair_user_id=_user(db, data.chair).id if data.chair else None,
        secretary_user_id=_user(db, data.secretary).id if data.secretary else None,
    )  # fmt: skip
    try:
        with db.begin_nested():
            db.add(g)
            db.flush()
    except IntegrityError:
        raise Conflict(f"a group with code {data.code.upper()!r} exists already") from None
    for m in data.members:
        _add_member(db, g, m)
    audit.record(db, actor=actor, action="groups.create", target=f"group:{g.id}",
                 details={"code": g.code, "members": [m.organisation for m in data.members]})  # fmt: skip
    return g


def _add_member(db: Session, g: Group, m: MemberIn) -> Member:
    org = org_named(db, m.organisation)
    row = Member(group_id=g.id, organisation_id=org.id, kind=m.kind)
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        raise Conflict(f"{org.short_name} is already in {g.code}") from None
    people = [(m.representative, "representative")] if m.representative else []
    people += [(d, "deputy") for d in m.deputies]
    for username, function in people:
        u = _user(db, username, org_id=org.id)
        db.add(Person(group_id=g.id, organisation_id=org.id, user_id=u.id, function=function))
    db.flush()
    return row


def add_member(db: Session, *, actor: Actor, group_id: int, data: MemberIn) -> Member:
    g = get_group(db, actor, group_id)
    require_officer(g, actor, doing="change the membership")
    row = _add_member(db, g, data)
    audit.record(db, actor=actor, action="groups.member.add", target=f"group:{g.id}",
                 details={"org": data.organisation, "kind": data.kind})  # fmt: skip
    return row


def list_groups(db: Session, *, actor: Actor) -> list[Group]:
    from colsec.groups.access import visible_group_ids

    return list(
        db.execute(select(Group).where(Group.id.in_(visible_group_ids(actor))).order_by(Group.code)).scalars()
    )


def member_org_ids(db: Session, group_id: int, *, kinds: Iterable[str] = ("member",)) -> list[int]:
    return list(
        db.execute(
            select(Member.organisation_id)
            .where(Member.group_id == group_id, Member.kind.in_(list(kinds)))
            .order_by(Member.organisation_id)
        ).scalars()
    )


def people_of(db: Session, group_id: int, org_ids: Iterable[int] | None = None) -> list[int]:
    """User ids of the group's representatives and deputies (of ``org_ids``), plus chair and secretary when no filter."""
    stmt = select(Person.user_id).where(Person.group_id == group_id)
    if org_ids is not None:
        stmt = stmt.where(Person.organisation_id.in_(list(org_ids)))
    ids = set(db.execute(stmt).scalars())
    if org_ids is None:
        g = db.get(Group, group_id)
        if g is not None:
            ids.update(u for u in (g.chair_user_id, g.secretary_user_id) if u is not None)
    return sorted(ids)


def delegate(db: Session, *, actor: Actor, group_id: int, data: DelegationIn) -> Delegation:
    """A representative lets a deputy of the same organisation answer for a window of time."""
    g = get_group(db, actor, group_id)
    fn = db.execute(
        select(Person.function).where(Person.group_id == g.id, Person.user_id == actor.user_id)
    ).scalar()
    if fn != "representative" or actor.org_id is None:
        raise Forbidden("only the organisation's representative in the group delegates")
    deputy = _user(db, data.deputy, org_id=actor.org_id)
    is_deputy = db.execute(
        select(Person.id).where(
            Person.group_id == g.id, Person.user_id == deputy.id, Person.function == "deputy"
        )
    ).first()
    if is_deputy is None:
        raise InvalidInput(f"{data.deputy!r} is not a deputy of your organisation in {g.code}")
    starts, ends = utc(data.starts_at, "start"), utc(data.ends_at, "end")
    if ends <= starts:
        raise InvalidInput("the delegation ends before it starts")
    d = Delegation(group_id=g.id, organisation_id=actor.org_id, deputy_user_id=deputy.id, starts_at=starts,
                   ends_at=ends, created_by=actor.username)  # fmt: skip
    db.add(d)
    db.flush()
    audit.record(db, actor=actor, action="groups.delegate", target=f"group:{g.id}",
                 details={"deputy": deputy.username, "from": starts.isoformat(), "until": ends.isoformat()})  # fmt: skip
    return d


# --- meetings ----------------------------------------------------------------------------------


def get_meeting(db: Session, *, actor: Actor, meeting_id: int) -> tuple[Meeting, Group]:
    m = db.get(Meeting, meeting_id)
    if m is None:
        raise NotFound(f"meeting {meeting_id} not found")
    try:
        g = get_group(db, actor, m.group_id)
    except NotFound:
        raise NotFound(f"meeting {meeting_id} not found") from None
    return m, g


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {tz!r}; use an IANA name such as Europe/Vienna") from None


def create_meeting(
    db: Session, *, actor: Actor, group_id: int, data: MeetingIn, now: datetime | None = None
) -> Meeting:
    """Plan a meeting; the group's open action items join its agenda."""
    g = get_group(db, actor, group_id)
    require_officer(g, actor, doing="plan meetings")
    zone = _zone(data.tz)
    # naive times are the meeting's local time; stored in UTC (SQLite keeps no offset)
    starts = (data.starts_at if data.starts_at.tzinfo else data.starts_at.replace(tzinfo=zone)).astimezone(
        UTC
    )
    if starts <= (now or clock()):
        raise InvalidInput("the meeting must start in the future")
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
        _carry(db, m, a)
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


def _carry(db: Session, m: Meeting, a: ActionItem) -> None:
    """An open action item on the agenda of meeting ``m`` (once)."""
    present = db.execute(
        select(AgendaItem.id).where(AgendaItem.meeting_id == m.id, AgendaItem.action_item_id == a.id)
    ).first()
    if present is None:
        add_agenda_item(db, meeting=m, action_item_id=a.id,
                        data=AgendaIn(title=f"Action item #{a.id}: {a.title}"[:300], presenter="",
                                      decision_sought=f"status: {a.status}, due {a.due_on.isoformat()}"))  # fmt: skip


def _next_meeting(db: Session, group_id: int) -> Meeting | None:
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
        raise InvalidTransition(f"meeting {m.id} is '{m.status}': invitations go out before it is held")
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
                              "code": g.code, "title": m.title, "start": f"{start:%Y-%m-%d %H:%M}", "tz": m.tz}), u.language),
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
            f"meeting {m.id} is '{m.status}': cannot move to '{to}' (needs {', '.join(allowed)})"
        )
    db.refresh(m)


def hold_meeting(
    db: Session, *, actor: Actor, meeting_id: int, present: list[str], now: datetime | None = None
) -> Meeting:
    """Record attendance per organisation; the quorum is a majority of the voting members present."""
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
            raise InvalidInput(f"{short} is not in {g.code}")
        here.add(org.id)
    voting = [o for o, k in members.items() if k == "member"]
    quorum = len(voting) // 2 + 1
    reached = sum(1 for o in voting if o in here) >= quorum
    move_meeting(db, m, "held", now or clock(), quorum_reached=reached)
    db.add_all(Attendance(meeting_id=m.id, organisation_id=o, present=o in here) for o in sorted(members))
    db.flush()
    audit.record(db, actor=actor, action="groups.meeting.held", target=f"meeting:{m.id}",
                 details={"present": sorted(here), "quorum": quorum, "reached": reached})  # fmt: skip
    return m


# --- decisions ---------------------------------------------------------------------------------


def new_decision(
    db: Session, g: Group, *, text_en: str, text_ru: str, how: str, at: datetime,
    meeting_id: int | None = None, procedure_id: int | None = None, positions: dict[str, str] | None = None,
    paper_ids: Iterable[int] = (),
) -> Decision:  # fmt: skip
    """The next number of the group's register for the year: CODE-YYYY-NNN."""
    year = at.year
    for _ in range(5):
        seq = (
            db.execute(
                select(func.coalesce(func.max(Decision.seq), 0)).where(
                    Decision.group_id == g.id, Decision.year == year
                )
            ).scalar_one()
            + 1
        )
        d = Decision(group_id=g.id, number=f"{g.code}-{year}-{seq:03d}", year=year, seq=seq, text_en=text_en,
                     text_ru=text_ru, adopted_on=at.date(), how=how, meeting_id=meeting_id, procedure_id=procedure_id,
                     positions=orjson.dumps(positions or {}).decode(), paper_ids=orjson.dumps(sorted(paper_ids)).decode(),
                     tlp=g.default_tlp)  # fmt: skip
        try:
            with db.begin_nested():
                db.add(d)
                db.flush()
        except IntegrityError:
            continue  # a concurrent writer took the number: take the next one
        return d
    raise Conflict("could not allocate a decision number; try again")


def record_meeting_decision(
    db: Session, *, actor: Actor, meeting_id: int, data: DecisionIn, now: datetime | None = None
) -> Decision:
    """A decision taken in a meeting that was held with a quorum."""
    m, g = get_meeting(db, actor=actor, meeting_id=meeting_id)
    require_officer(g, actor, doing="record decisions")
    if m.status == "planned":
        raise InvalidTransition(f"meeting {m.id} has not been held")
    if not m.quorum_reached:
        raise InvalidInput(f"meeting {m.id} had no quorum: it cannot decide")
    _check_papers(db, g.id, data.paper_ids)
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


def _check_papers(db: Session, group_id: int, paper_ids: list[int]) -> None:
    if not paper_ids:
        return
    found = set(
        db.execute(select(Paper.id).where(Paper.id.in_(paper_ids), Paper.group_id == group_id)).scalars()
    )
    if found != set(paper_ids):
        raise InvalidInput(f"papers not in this group: {sorted(set(paper_ids) - found)}")


# --- action items ------------------------------------------------------------------------------


def _new_action(
    db: Session, g: Group, *, actor: Actor, title: str, source: str, owner_org: str, owner_user: str | None,
    due_on: date, decision_id: int | None = None, meeting_id: int | None = None, lesson_id: int | None = None,
) -> ActionItem:  # fmt: skip
    org = org_named(db, owner_org)
    if member_kind(db, g.id, org.id) is None:
        raise InvalidInput(f"{owner_org} is not in {g.code}: only members own action items")
    user = _user(db, owner_user, org_id=org.id) if owner_user else None
    a = ActionItem(group_id=g.id, title=title, source=source, decision_id=decision_id, meeting_id=meeting_id,
                   lesson_id=lesson_id, owner_org_id=org.id, owner_user_id=user.id if user else None, due_on=due_on,
                   status="open", created_by=actor.username)  # fmt: skip
    db.add(a)
    db.flush()
    nxt = _next_meeting(db, g.id)
    if nxt is not None:
        _carry(db, nxt, a)
    notices.notify(db, kind="groups.action.new", subject=Text("[%(code)s] New action item for %(org)s: %(title)s",
                                                                {"code": g.code, "org": org.short_name, "title": title}),
                   body=Text("due %(due)s", {"due": due_on.isoformat()}), target=f"action:{a.id}",
                   user_ids=[user.id] if user else people_of(db, g.id, [org.id]))  # fmt: skip
    audit.record(db, actor=actor, action="groups.action.create", target=f"action:{a.id}",
                 details={"group": g.code, "owner": org.short_name, "due": due_on.isoformat(), "source": source})  # fmt: skip
    return a


def create_action(db: Session, *, actor: Actor, group_id: int, data: ActionIn) -> ActionItem:
    g = get_group(db, actor, group_id)
    require_officer(g, actor, doing="create action items")
    if data.decision_id is not None:
        d = db.get(Decision, data.decision_id)
        if d is None or d.group_id != g.id:
            raise InvalidInput(f"decision {data.decision_id} is not in {g.code}")
    if data.meeting_id is not None:
        mt = db.get(Meeting, data.meeting_id)
        if mt is None or mt.group_id != g.id:
            raise InvalidInput(f"meeting {data.meeting_id} is not in {g.code}")
    source = "decision" if data.decision_id is not None and data.source == "minutes" else data.source
    return _new_action(db, g, actor=actor, title=data.title, source=source, owner_org=data.owner_organisation,
                       owner_user=data.owner_user, due_on=data.due_on, decision_id=data.decision_id,
                       meeting_id=data.meeting_id)  # fmt: skip


def action_from_lesson(db: Session, *, actor: Actor, group_id: int, data: LessonActionIn) -> ActionItem:
    """A lesson of a closed crisis becomes the group's action item; verifying it implements the lesson."""
    g = get_group(db, actor, group_id)
    require_officer(g, actor, doing="take on lessons")
    lesson = db.get(Lesson, data.lesson_id)
    if lesson is None:
        raise NotFound(f"lesson {data.lesson_id} not found")
    crisis = db.get(Crisis, lesson.crisis_id)
    if crisis is None or crisis.status not in ("closed", "reviewed"):
        raise InvalidInput("only lessons of closed crises become action items")
    taken = db.execute(select(ActionItem.id).where(ActionItem.lesson_id == lesson.id)).first()
    if taken is not None:
        raise Conflict(f"lesson {lesson.id} is already action item #{taken[0]}")
    return _new_action(db, g, actor=actor, title=f"Lesson {lesson.id} ({crisis.title}): {lesson.text}"[:500],
                       source="lesson", owner_org=data.owner_organisation, owner_user=data.owner_user,
                       due_on=data.due_on, lesson_id=lesson.id)  # fmt: skip


def move_action(
    db: Session, *, actor: Actor, action_id: int, to: str, now: datetime | None = None
) -> ActionItem:
    """open -> in progress -> done by the owner organisation; done -> verified (or back to open) by the chair."""
    a = db.get(ActionItem, action_id)
    if a is None:
        raise NotFound(f"action item {action_id} not found")
    try:
        g = get_group(db, actor, a.group_id)
    except NotFound:
        raise NotFound(f"action item {action_id} not found") from None
    if to not in ACTION_FLOW:
        raise InvalidInput(f"unknown state {to!r}; one of: {', '.join(ACTION_FLOW)}")
    allowed, who = ACTION_FLOW[to]
    if who == "chair":
        require_chair(g, actor, doing=f"mark action items {to}")
    elif not (actor.org_id == a.owner_org_id or is_chair(g, actor) or actor.is_operator):
        raise Forbidden("only the owner organisation moves its action item")
    at = now or clock()
    values: dict[str, object] = {"status": to}
    if to == "done":
        values["done_at"] = at
    if to == "verified":
        values.update(verified_at=at, verified_by=actor.username)
    res = db.execute(
        update(ActionItem).where(ActionItem.id == a.id, ActionItem.status.in_(allowed)).values(**values)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if getattr(res, "rowcount", 0) != 1:
        raise InvalidTransition(f"action item {a.id} is '{a.status}': cannot move to '{to}'")
    db.refresh(a)
    if to == "verified" and a.lesson_id is not None:
        db.execute(
            update(Lesson).where(Lesson.id == a.lesson_id).values(status="implemented", implemented_at=at)
        )
    audit.record(db, actor=actor, action=f"groups.action.{to}", target=f"action:{a.id}")
    return a
