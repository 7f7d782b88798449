"""Changing an existing group: its members and their people (the officers) and its officers (the crisis centre)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM, Role
from colsec.db import Database
from colsec.errors import Conflict, Forbidden, InvalidInput, NotFound
from colsec.groups import service
from colsec.groups.access import member_kind
from colsec.groups.models import Delegation, Group, Person
from colsec.groups.schemas import DelegationIn, OfficersIn, PersonIn
from colsec.migrations import alembic_config, upgrade
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


def test_a_read_only_account_holds_no_office_in_a_group(
    db: Session, committee: Committee, quick_account: Callable[..., Any]
) -> None:
    """A viewer made secretary got every officer form and ran the group (browser review)."""
    c = committee
    gid = c.group_id
    viewer = quick_account(Role.VIEWER, "NM").user.username
    with pytest.raises(InvalidInput, match="read-only account"):
        service.set_officers(db, actor=c.chair.actor, group_id=gid, data=OfficersIn(secretary=viewer))
    with pytest.raises(InvalidInput, match="read-only account"):
        service.add_person(db, actor=c.secretary.actor, group_id=gid,
                           data=PersonIn(organisation="NM", username=viewer, function="deputy"))  # fmt: skip
    assert db.get(Group, gid).secretary_user_id == c.secretary.user.id  # type: ignore[union-attr]


def test_the_database_holds_one_representative_per_organisation(
    db: Session, committee: Committee, quick_account: Callable[..., Any]
) -> None:
    """Two officers adding a representative at once both pass the service's check; the index refuses one."""
    c = committee
    gid = c.group_id
    rep = c.reps["NM"]
    second = quick_account(Role.REPRESENTATIVE, "NM")
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(
            Person(
                group_id=gid, organisation_id=rep.org.id, user_id=second.user.id, function="representative"
            )
        )
        db.flush()
    db.add(Person(group_id=gid, organisation_id=rep.org.id, user_id=second.user.id, function="deputy"))
    db.flush()  # a deputy beside the representative is fine


def test_the_migration_keeps_the_first_representative_and_seats_the_others_as_deputies(
    tmp_path: Path,
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config(database.url)
    now = "2026-12-01 10:00:00"
    with database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
        command.downgrade(cfg, "groups")  # the schema just before this migration
        conn.execute(text(
            "INSERT INTO organisation (id, name, short_name, identity_id, kind, created_at) VALUES "
            f"(1, 'Northmark', 'NM', 'identity--7f0b3cde-5b5a-4f0e-9d4e-0c3c6f7b2a11', 'member', '{now}')"
        ))  # fmt: skip
        for uid in (1, 2, 3):
            conn.execute(text(
                "INSERT INTO user_account (id, username, display_name, role, organisation_id, language, "
                f"is_active, failed_logins, created_at, email) VALUES ({uid}, 'u{uid}', 'U', 'representative', "
                f"1, 'en', 1, 0, '{now}', 'u{uid}@nm.example.org')"
            ))  # fmt: skip
        conn.execute(text(
            "INSERT INTO groups_group (id, code, name_en, name_ru, mandate_en, mandate_ru, kind, default_tlp, "
            f"created_by, created_at) VALUES (1, 'WG1', 'One', 'Один', '', '', 'working_group', 2, 'admin', '{now}')"
        ))  # fmt: skip
        for pid, uid in ((1, 2), (2, 1), (3, 3)):
            conn.execute(text(
                "INSERT INTO groups_person (id, group_id, organisation_id, user_id, function) "
                f"VALUES ({pid}, 1, 1, {uid}, 'representative')"
            ))  # fmt: skip
    upgrade(database.engine)
    with database.unit_of_work(write=False) as s:
        got = s.execute(select(Person.id, Person.function).order_by(Person.id)).all()
        assert [tuple(r) for r in got] == [(1, "representative"), (2, "deputy"), (3, "deputy")]
    database.dispose()
