"""Verbs of the groups domain: groups and members, and the decisions register they share.

Every verb takes ``now`` (defaulting to the clock) so time-based rules are tested with a
controlled clock.  Effects that leave the node (invitations, reminders) are outbox rows and
in-app notifications written in the caller's transaction.  Meetings (``meetings.py``), action
items (``actions.py``), minutes, papers and written procedures build on the lookups here
(``org_named``, ``people_of``, ``utc``) and number their decisions through ``new_decision``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation, User
from colsec.accounts.roles import Actor, Role
from colsec.crisis.access import require_centre
from colsec.crisis.states import aware
from colsec.errors import Conflict, Forbidden, InvalidInput
from colsec.groups.access import get_group, member_kind, require_officer
from colsec.groups.models import (
    Decision,
    Delegation,
    Group,
    Member,
    Paper,
    Person,
)
from colsec.groups.schemas import (
    DelegationIn,
    GroupIn,
    MemberIn,
    OfficersIn,
    PersonIn,
)
from colsec.stix.tlp import TLP, TLP_BY_NAME
from colsec.store import audit

__all__ = [
    "OPEN_ACTION_STATES",
    "active_user",
    "add_member",
    "add_person",
    "check_papers",
    "create_group",
    "delegate",
    "list_groups",
    "member_org_ids",
    "new_decision",
    "not_in_group",
    "org_named",
    "people_of",
    "remove_member",
    "remove_person",
    "require_appointer",
    "set_officers",
    "tlp_of",
    "utc",
]

OPEN_ACTION_STATES = ("open", "in_progress")


def utc(value: datetime, what: str = "time") -> datetime:
    """An aware UTC time (naive means UTC); a time outside the calendar after conversion is refused."""
    try:
        return aware(value).astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidInput(f"the {what} is out of range", kind="time_out_of_range") from None


def tlp_of(name: str) -> TLP:
    level = TLP_BY_NAME.get(name.strip().lower())
    if level is None:
        raise InvalidInput(
            f"unknown TLP {name!r}; one of: clear, green, amber, amber+strict, red",
            kind="unknown_tlp",
            params={"tlp": name},
        )
    return level


def org_named(db: Session, short_name: str) -> Organisation:
    o = db.execute(select(Organisation).where(Organisation.short_name == short_name)).scalar()
    if o is None:
        raise InvalidInput(
            f"unknown organisation {short_name!r}", kind="unknown_organisation", params={"org": short_name}
        )
    return o


def active_user(db: Session, username: str, *, org_id: int | None = None, office: str | None = None) -> User:
    """The active account named; with ``office`` (chair, secretary, representative, deputy) one
    that may act: a viewer's or a peer's account is read-only, and an office acts for the group."""
    u = db.execute(select(User).where(User.username == username.lower())).scalar()
    if u is None or not u.is_active:
        raise InvalidInput(f"unknown user {username!r}", kind="unknown_user", params={"user": username})
    if org_id is not None and u.organisation_id != org_id:
        raise InvalidInput(
            f"user {username!r} does not belong to that organisation",
            kind="user_not_of_organisation",
            params={"user": username},
        )
    if office is not None and u.role in (Role.VIEWER, Role.PEER):
        raise InvalidInput(
            f"user {username!r} has a read-only account ({u.role}) and cannot be {office}",
            kind="user_read_only",
            params={"user": username},
        )
    return u


# --- groups and members ------------------------------------------------------------------------


def create_group(db: Session, *, actor: Actor, data: GroupIn) -> Group:
    """The crisis centre (the alliance secretariat) sets groups up; members are organisations."""
    require_centre(db, actor, doing="create working groups")
    if data.term_start and data.term_end and data.term_end < data.term_start:
        raise InvalidInput("the term ends before it starts", kind="term_ends_before_start")
    if data.parent_id is not None and db.get(Group, data.parent_id) is None:
        raise InvalidInput(
            f"parent group {data.parent_id} does not exist",
            kind="unknown_parent_group",
            params={"group": data.parent_id},
        )
    g = Group(
        code=data.code.upper(), name_en=data.name_en, name_ru=data.name_ru, mandate_en=data.mandate_en,
        mandate_ru=data.mandate_ru, kind=data.kind.value, parent_id=data.parent_id, term_start=data.term_start,
        term_end=data.term_end, default_tlp=int(tlp_of(data.default_tlp)), created_by=actor.username,
        chair_user_id=active_user(db, data.chair, office="chair").id if data.chair else None,
        secretary_user_id=active_user(db, data.secretary, office="secretary").id if data.secretary else None,
    )  # fmt: skip
    try:
        with db.begin_nested():
            db.add(g)
            db.flush()
    except IntegrityError:
        raise Conflict(
            f"a group with code {data.code.upper()!r} exists already",
            kind="group_code_taken",
            params={"code": data.code.upper()},
        ) from None
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
        raise Conflict(
            f"{org.short_name} is already in {g.code}",
            kind="organisation_already_in_group",
            params={"org": org.short_name, "group": g.code},
        ) from None
    people = [(m.representative, "representative")] if m.representative else []
    people += [(d, "deputy") for d in m.deputies]
    for username, function in people:
        u = active_user(db, username, org_id=org.id, office=function)
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


def remove_member(db: Session, *, actor: Actor, group_id: int, organisation: str) -> None:
    """The organisation leaves the group with its people; delegations it gave end with them."""
    g = get_group(db, actor, group_id)
    require_officer(g, actor, doing="change the membership")
    org = org_named(db, organisation)
    res = db.execute(delete(Member).where(Member.group_id == g.id, Member.organisation_id == org.id))
    if getattr(res, "rowcount", 0) != 1:
        raise not_in_group(org.short_name, g)
    db.execute(delete(Person).where(Person.group_id == g.id, Person.organisation_id == org.id))
    db.execute(delete(Delegation).where(Delegation.group_id == g.id, Delegation.organisation_id == org.id))
    audit.record(db, actor=actor, action="groups.member.remove", target=f"group:{g.id}",
                 details={"org": org.short_name})  # fmt: skip


def add_person(db: Session, *, actor: Actor, group_id: int, data: PersonIn) -> Person:
    """A representative or deputy for an organisation already in the group; one representative each,
    since the representative is who answers written procedures for it."""
    g = get_group(db, actor, group_id)
    require_officer(g, actor, doing="change the membership")
    org = org_named(db, data.organisation)
    if member_kind(db, g.id, org.id) is None:
        raise not_in_group(org.short_name, g)
    user = active_user(db, data.username, org_id=org.id, office=data.function)
    if data.function == "representative":
        current = db.execute(
            select(User.username).join(Person, Person.user_id == User.id).where(
                Person.group_id == g.id, Person.organisation_id == org.id, Person.function == "representative"
            )
        ).scalar()  # fmt: skip
        if current is not None:
            raise Conflict(
                f"{current} represents {org.short_name} in {g.code}: remove them first",
                kind="group_has_representative",
                params={"user": current, "org": org.short_name, "group": g.code},
            )
    row = Person(group_id=g.id, organisation_id=org.id, user_id=user.id, function=data.function)
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:  # the same user, or a representative added meanwhile (one per organisation)
        if db.execute(select(Person.id).where(Person.group_id == g.id, Person.user_id == user.id)).first():
            raise Conflict(
                f"{user.username} is already in {g.code}",
                kind="person_already_in_group",
                params={"user": user.username, "group": g.code},
            ) from None
        raise Conflict(
            f"{org.short_name} already has a representative in {g.code}",
            kind="organisation_has_representative",
            params={"org": org.short_name, "group": g.code},
        ) from None
    audit.record(db, actor=actor, action="groups.person.add", target=f"group:{g.id}",
                 details={"org": org.short_name, "user": user.username, "function": data.function})  # fmt: skip
    return row


def remove_person(db: Session, *, actor: Actor, group_id: int, username: str) -> None:
    """A representative or deputy leaves the group (deactivated accounts too); their delegations end."""
    g = get_group(db, actor, group_id)
    require_officer(g, actor, doing="change the membership")
    user_id = db.execute(select(User.id).where(User.username == username.lower())).scalar()
    gone = 0
    if user_id is not None:
        gone = getattr(
            db.execute(delete(Person).where(Person.group_id == g.id, Person.user_id == user_id)),
            "rowcount",
            0,
        )
    if gone != 1:
        raise InvalidInput(
            f"{username!r} is neither a representative nor a deputy in {g.code}",
            kind="person_not_in_group",
            params={"user": username, "group": g.code},
        )
    db.execute(delete(Delegation).where(Delegation.group_id == g.id, Delegation.deputy_user_id == user_id))
    audit.record(db, actor=actor, action="groups.person.remove", target=f"group:{g.id}",
                 details={"user": username.lower()})  # fmt: skip


def require_appointer(db: Session, actor: Actor) -> None:
    """Officers are appointed by whoever sets groups up (the crisis centre), or the node operator."""
    if not actor.is_operator:
        require_centre(db, actor, doing="appoint the officers of working groups")


def set_officers(db: Session, *, actor: Actor, group_id: int, data: OfficersIn) -> Group:
    """A new chair or secretary (only the offices sent; an empty name leaves the office vacant)."""
    g = get_group(db, actor, group_id)
    require_appointer(db, actor)
    changes: dict[str, str | None] = {}
    for office in ("chair", "secretary"):
        if office not in data.model_fields_set:
            continue
        name = getattr(data, office)
        user = active_user(db, name, office=office) if name else None
        if getattr(g, f"{office}_user_id") != (user.id if user else None):
            setattr(g, f"{office}_user_id", user.id if user else None)
            changes[office] = user.username if user else None
    db.flush()
    if changes:
        audit.record(db, actor=actor, action="groups.officers", target=f"group:{g.id}", details=changes)
    return g


def not_in_group(org: str, g: Group) -> InvalidInput:
    """The one refusal for an organisation named that the group does not hold (every verb words it alike)."""
    return InvalidInput(
        f"{org} is not in {g.code}", kind="organisation_not_in_group", params={"org": org, "group": g.code}
    )


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
        raise Forbidden(
            "only the organisation's representative in the group delegates",
            kind="delegation_representative_only",
        )
    deputy = active_user(db, data.deputy, org_id=actor.org_id, office="deputy")
    is_deputy = db.execute(
        select(Person.id).where(
            Person.group_id == g.id, Person.user_id == deputy.id, Person.function == "deputy"
        )
    ).first()
    if is_deputy is None:
        raise InvalidInput(
            f"{data.deputy!r} is not a deputy of your organisation in {g.code}",
            kind="not_a_deputy",
            params={"user": data.deputy, "group": g.code},
        )
    starts, ends = utc(data.starts_at, "start"), utc(data.ends_at, "end")
    if ends <= starts:
        raise InvalidInput("the delegation ends before it starts", kind="delegation_ends_before_start")
    d = Delegation(group_id=g.id, organisation_id=actor.org_id, deputy_user_id=deputy.id, starts_at=starts,
                   ends_at=ends, created_by=actor.username)  # fmt: skip
    db.add(d)
    db.flush()
    audit.record(db, actor=actor, action="groups.delegate", target=f"group:{g.id}",
                 details={"deputy": deputy.username, "from": starts.isoformat(), "until": ends.isoformat()})  # fmt: skip
    return d


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
    raise Conflict("could not allocate a decision number; try again", kind="decision_number_busy")


def check_papers(db: Session, group_id: int, paper_ids: list[int]) -> None:
    if not paper_ids:
        return
    found = set(
        db.execute(select(Paper.id).where(Paper.id.in_(paper_ids), Paper.group_id == group_id)).scalars()
    )
    if found != set(paper_ids):
        raise InvalidInput(
            f"papers not in this group: {sorted(set(paper_ids) - found)}",
            kind="papers_not_in_group",
            params={"papers": ", ".join(map(str, sorted(set(paper_ids) - found)))},
        )
