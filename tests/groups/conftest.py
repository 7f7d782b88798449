"""A working group of six member organisations, an observer and an outsider, with their people."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from colsec.accounts import service as accounts
from colsec.accounts.models import Organisation, User
from colsec.accounts.roles import SYSTEM, Actor, Role
from colsec.db import Database
from colsec.groups import service
from colsec.groups.schemas import GroupIn, MemberIn

Account = Any
MEMBERS = ("NM", "EV", "SD", "WH", "KR", "TL")


@dataclass
class Committee:
    group_id: int
    chair: Account
    secretary: Account
    coordinator: Account
    reps: dict[str, Account] = field(default_factory=dict)
    deputies: dict[str, Account] = field(default_factory=dict)
    observer: Account = None
    outsider: Account = None


@dataclass
class Person:
    """A user with an API token and no password (hashing 17 passwords per test would cost seconds)."""

    user: User
    org: Organisation
    actor: Actor
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def quick_account(database: Database) -> Callable[..., Person]:
    n = {"i": 0}

    def make(role: Role, org: str, kind: str = "member") -> Person:
        n["i"] += 1
        with database.unit_of_work() as s:
            o = s.query(Organisation).filter_by(short_name=org).one_or_none()
            if o is None:
                o = accounts.create_organisation(
                    s, actor=SYSTEM, name=f"{org} agency", short_name=org, kind=kind
                )
            u = accounts.create_user(s, actor=SYSTEM, username=f"{org.lower()}-{role.value}-{n['i']}", password=None,
                                     role=role, org=o, email=f"{org.lower()}-{role.value}-{n['i']}@example.org")  # fmt: skip
            token = accounts.create_token(s, actor=SYSTEM, user=u)
            return Person(user=u, org=o, actor=accounts.actor_for(s, u), token=token)

    return make


@pytest.fixture
def committee(database: Database, quick_account: Callable[..., Person]) -> Committee:
    make_account = quick_account
    coordinator = make_account(Role.COORDINATOR, org="ACC", kind="crisis_centre")
    chair = make_account(Role.COORDINATOR, org="ACC", kind="crisis_centre")
    secretary = make_account(Role.ANALYST, org="ACC", kind="crisis_centre")
    reps = {m: make_account(Role.REPRESENTATIVE, org=m) for m in MEMBERS}
    deputies = {m: make_account(Role.ANALYST, org=m) for m in MEMBERS}
    observer = make_account(Role.REPRESENTATIVE, org="OBS")
    outsider = make_account(Role.REPRESENTATIVE, org="OUT")
    with database.unit_of_work() as s:
        g = service.create_group(
            s, actor=coordinator.actor,
            data=GroupIn(
                code="WG3", name_en="Working Group 3: incident exchange", name_ru="Рабочая группа 3: обмен инцидентами",
                mandate_en="Improve incident exchange.", mandate_ru="Улучшить обмен инцидентами.",
                chair=chair.user.username, secretary=secretary.user.username, default_tlp="amber",
                members=[MemberIn(organisation=m, representative=reps[m].user.username,
                                  deputies=[deputies[m].user.username]) for m in MEMBERS]
                + [MemberIn(organisation="OBS", kind="observer", representative=observer.user.username)],
            ),
        )  # fmt: skip
        gid = g.id
    return Committee(group_id=gid, chair=chair, secretary=secretary, coordinator=coordinator, reps=reps,
                     deputies=deputies, observer=observer, outsider=outsider)  # fmt: skip
