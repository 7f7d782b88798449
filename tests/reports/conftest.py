"""A small alliance with intelligence at every marking, for the bulletin and feed tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from colsec.accounts.roles import SYSTEM, Role
from colsec.db import Database
from colsec.stix.tlp import TLP, marking_id
from colsec.store.models import SharingGroup, SharingGroupMember
from colsec.store.service import import_objects

Account = Any


@dataclass
class Alliance:
    analyst: Account  # NM, the owner of most objects
    other: Account  # EV analyst: a second alliance member
    coordinator: Account  # ACC, the crisis centre
    external: Account  # EXT: not an alliance member
    group_id: int  # a sharing group of NM and ACC


@dataclass
class _Account:
    user: Any
    org: Any
    actor: Any
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _account(database: Database, role: Role, org: str, kind: str = "member") -> _Account:
    """A token-only user (no password: no slow password hashing in these tests)."""
    from colsec.accounts import service as accounts
    from colsec.accounts.models import Organisation

    with database.unit_of_work() as s:
        o = s.query(Organisation).filter_by(short_name=org).one_or_none()
        if o is None:
            o = accounts.create_organisation(s, actor=SYSTEM, name=f"{org} agency", short_name=org, kind=kind)
        u = accounts.create_user(
            s, actor=SYSTEM, username=f"{org.lower()}-{role.value}", password=None, role=role, org=o
        )
        token = accounts.create_token(s, actor=SYSTEM, user=u)
        return _Account(user=u, org=o, actor=accounts.actor_for(s, u), token=token)


@pytest.fixture
def alliance(database: Database) -> Alliance:
    a = Alliance(
        analyst=_account(database, Role.ANALYST, "NM"),
        other=_account(database, Role.ANALYST, "EV"),
        coordinator=_account(database, Role.COORDINATOR, "ACC", kind="crisis_centre"),
        external=_account(database, Role.ANALYST, "EXT", kind="external"),
        group_id=0,
    )
    with database.unit_of_work() as s:
        g = SharingGroup(name=f"reports-{uuid.uuid4().hex[:8]}")
        s.add(g)
        s.flush()
        s.add_all(
            [
                SharingGroupMember(group_id=g.id, organisation_id=o)
                for o in (a.analyst.org.id, a.coordinator.org.id)
            ]
        )
        a.group_id = g.id
    return a


def malware(name: str, level: TLP) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "type": "malware", "spec_version": "2.1", "id": f"malware--{uuid.uuid4()}", "created": now,
        "modified": now, "name": name, "is_family": True, "object_marking_refs": [marking_id(level)],
    }  # fmt: skip


def indicator(value: str, level: TLP) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}", "created": now,
        "modified": now, "name": value, "pattern": f"[domain-name:value = '{value}']", "pattern_type": "stix",
        "valid_from": now, "object_marking_refs": [marking_id(level)],
    }  # fmt: skip


def store(
    database: Database,
    owner_org_id: int,
    objects: Sequence[dict[str, Any]],
    *,
    group_id: int | None = None,
    named: Sequence[int] = (),
) -> None:
    with database.unit_of_work() as s:
        import_objects(
            s, actor=SYSTEM, objects=objects, owner_org_id=owner_org_id, sharing_group_id=group_id,
            recipient_org_ids=list(named),
        )  # fmt: skip


def tomorrow() -> date:
    """The day after today: a period ending there includes what was stored just now."""
    return (datetime.now(UTC) + timedelta(days=1)).date()


def group_members(database: Database, group_id: int) -> frozenset[int]:
    with database.unit_of_work(write=False) as s:
        return frozenset(
            s.execute(
                select(SharingGroupMember.organisation_id).where(SharingGroupMember.group_id == group_id)
            ).scalars()
        )


@pytest.fixture(autouse=True)
def _fresh_counts() -> None:
    """Counts cached by an earlier test of the same PostgreSQL database never answer for this one."""
    from colsec.store import views

    views._ACTIVITY_CACHE.clear()
