"""A small alliance for crisis tests: a crisis centre and member CERTs with their people."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from colsec.accounts.roles import Role

Account = Any


@dataclass
class Alliance:
    coordinator: Account
    viewer: Account
    analysts: dict[str, Account] = field(default_factory=dict)
    reps: dict[str, Account] = field(default_factory=dict)

    @property
    def member_ids(self) -> list[int]:
        return sorted(a.org.id for a in self.reps.values())


MEMBERS = ("NM", "EV", "SD", "WH")


@pytest.fixture
def alliance(make_account: Callable[..., Account]) -> Alliance:
    a = Alliance(
        coordinator=make_account(Role.COORDINATOR, org="ACC", kind="crisis_centre"),
        viewer=make_account(Role.VIEWER, org="ACC", kind="crisis_centre"),
    )
    for m in MEMBERS:
        a.analysts[m] = make_account(Role.ANALYST, org=m)
        a.reps[m] = make_account(Role.REPRESENTATIVE, org=m)
    return a
