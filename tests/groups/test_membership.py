"""Changing an existing group: its members and their people (the officers) and its officers (the crisis centre)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM, Role
from colsec.errors import Conflict, Forbidden, InvalidInput, NotFound
from colsec.groups import service
from colsec.groups.access import member_kind
from colsec.groups.models import Delegation, Group, Person
from colsec.groups.schemas import DelegationIn, OfficersIn, PersonIn
from colsec.store.models import AuditEntry

from .conftest import Committee


def _audit(db: Session, action: str) -> list[dict[str, Any]]:
    rows = db.execute(select(AuditEntry.details).where(AuditEntry.action == action).order_by(AuditEntry.id))
    return [orjson.loads(d) for d in rows.scalars()]


def test_officers_change_the_people_and_the_members(
    db: Session, committee: Committee, quick_account: Callable[..., Any]
) -> None:
    c = committee
    gid = c.group_id
    t0 = datetime.now(UTC)
    extra = quick_account(Role.ANALYST, "EV")  # accounts first: they commit on their own connection
    successor = quick_account(Role.REPRESENTATIVE, "EV")
    service.delegate(db, actor=c.reps["NM"].actor, group_id=gid, data=DelegationIn(
        deputy=c.deputies["NM"].user.username, starts_at=t0, ends_at=t0 + timedelta(days=3)))  # fmt: skip
    p = service.add_person(db, actor=c.secretary.actor, group_id=gid,
                           data=PersonIn(organisation="EV", username=extra.user.username))  # fmt: skip
    assert p.function == "deputy" and _audit(db, "groups.person.add")[-1]["user"] == extra.user.username
    with pytest.raises(Conflict, match="remove them first"):  # one representative answers for EV
        service.add_person(db, actor=c.chair.actor, group_id=gid,
                           data=PersonIn(organisation="EV", username=extra.user.username, function="representative"))  # fmt: skip
    with pytest.raises(InvalidInput, match="not in WG3"):
        service.add_person(db, actor=c.chair.actor, group_id=gid,
                           data=PersonIn(organisation="OUT", username=c.outsider.user.username))  # fmt: skip
    with pytest.raises(Forbidden):
        service.remove_member(db, actor=c.reps["EV"].actor, group_id=gid, organisation="NM")
    with pytest.raises(NotFound):
        service.remove_member(db, actor=c.outsider.actor, group_id=gid, organisation="NM")

    service.remove_member(db, actor=c.secretary.actor, group_id=gid, organisation="NM")
    nm = c.reps["NM"].org.id
    assert member_kind(db, gid, nm) is None
    assert (
        db.execute(select(Person.id).where(Person.group_id == gid, Person.organisation_id == nm)).first()
        is None
    )
    assert db.execute(select(Delegation.id).where(Delegation.group_id == gid)).first() is None
    assert _audit(db, "groups.member.remove") == [{"org": "NM"}]
    with pytest.raises(InvalidInput, match="NM is not in WG3"):
        service.remove_member(db, actor=c.secretary.actor, group_id=gid, organisation="NM")

    service.remove_person(db, actor=c.chair.actor, group_id=gid, username=c.reps["EV"].user.username)
    # the removal makes room for a new representative
    service.add_person(db, actor=c.chair.actor, group_id=gid,
                       data=PersonIn(organisation="EV", username=successor.user.username, function="representative"))  # fmt: skip
    with pytest.raises(Conflict, match="already in WG3"):
        service.add_person(db, actor=c.chair.actor, group_id=gid,
                           data=PersonIn(organisation="EV", username=successor.user.username))  # fmt: skip
    with pytest.raises(InvalidInput, match="neither"):
        service.remove_person(db, actor=c.chair.actor, group_id=gid, username=c.reps["EV"].user.username)
    assert _audit(db, "groups.person.remove") == [{"user": c.reps["EV"].user.username}]


def test_the_crisis_centre_appoints_the_officers(
    db: Session, committee: Committee, quick_account: Callable[..., Any]
) -> None:
    c = committee
    gid = c.group_id
    new_sec = quick_account(Role.ANALYST, "ACC", kind="crisis_centre")
    for who, error in ((c.secretary, Forbidden), (c.reps["NM"], Forbidden), (c.coordinator, NotFound)):
        with pytest.raises(error):  # the secretary and members do not appoint; a stranger does not see
            service.set_officers(
                db, actor=who.actor, group_id=gid, data=OfficersIn(secretary=new_sec.user.username)
            )
    g = service.set_officers(
        db, actor=c.chair.actor, group_id=gid, data=OfficersIn(secretary=new_sec.user.username)
    )
    assert (
        g.secretary_user_id == new_sec.user.id and g.chair_user_id == c.chair.user.id
    )  # chair not sent: kept
    assert _audit(db, "groups.officers") == [{"secretary": new_sec.user.username}]
    with pytest.raises(InvalidInput, match="unknown user"):
        service.set_officers(db, actor=c.chair.actor, group_id=gid, data=OfficersIn(chair="nobody"))
    service.set_officers(db, actor=SYSTEM, group_id=gid, data=OfficersIn(chair=None))  # the node operator
    assert db.get(Group, gid).chair_user_id is None  # type: ignore[union-attr]
    assert _audit(db, "groups.officers")[-1] == {"chair": None}
