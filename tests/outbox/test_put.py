"""Outbox rows exist exactly when the change that causes them does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from colsec.accounts.roles import Role
from colsec.crisis.models import Notification
from colsec.crisis.notify import notify
from colsec.db import Database
from colsec.outbox import Channel, OutboxMessage, Outgoing, Status, put
from colsec.outbox.models import Webhook
from outbox.conftest import add_endpoint, give_email


def _count(database: Database, model: Any = OutboxMessage) -> int:
    with database.unit_of_work(write=False) as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


@pytest.fixture
def member(database: Database, make_account: Callable[..., Any]) -> Any:
    acc = make_account(Role.ANALYST, org="NM")
    give_email(database, acc.user.id, "analyst@nm.example.org")
    add_endpoint(database, acc.org.id, "https://hooks.example.org/crisis")
    return acc


def test_a_rolled_back_change_leaves_no_outbox_row(database: Database, member: Any) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), database.unit_of_work() as s:
        notify(
            s,
            kind="incident.reported",
            subject="x",
            user_ids=[member.user.id],
            webhook_org_ids=[member.org.id],
        )
        assert _count_in(s) == 2  # visible inside the change's own transaction...
        raise Boom
    assert _count(database) == 0 and _count(database, Notification) == 0  # ...and gone with it


def _count_in(s: Any) -> int:
    return int(s.execute(select(func.count()).select_from(OutboxMessage)).scalar_one())


def test_a_committed_change_leaves_exactly_its_rows(database: Database, member: Any) -> None:
    with database.unit_of_work() as s:
        notify(
            s, kind="incident.reported", subject="DDoS", body="details", target="incident:1",
            user_ids=[member.user.id], webhook_org_ids=[member.org.id],
        )  # fmt: skip
    with database.unit_of_work(write=False) as s:
        rows = s.execute(select(OutboxMessage).order_by(OutboxMessage.channel)).scalars().all()
        assert [(r.channel, r.destination, r.event, r.org_id, r.status, r.attempts) for r in rows] == [
            ("email", "analyst@nm.example.org", "incident.reported", member.org.id, Status.PENDING, 0),
            ("webhook", rows[1].destination, "incident.reported", member.org.id, Status.PENDING, 0),
        ]
        assert rows[1].destination == f"webhook:{s.execute(select(Webhook.id)).scalar_one()}"
        assert rows[0].payload == {"event": "incident.reported", "subject": "DDoS", "body": "details"}
        assert rows[1].payload["target"] == "incident:1" and "secret" not in str(rows[1].payload)


def test_a_user_without_address_gets_no_email_row(
    database: Database, make_account: Callable[..., Any]
) -> None:
    acc = make_account(Role.ANALYST, org="SD")
    with database.unit_of_work() as s:
        assert notify(s, kind="k", subject="s", user_ids=[acc.user.id]) == 1
    assert _count(database, Notification) == 1 and _count(database) == 0


def test_the_same_idempotency_key_is_queued_once(database: Database) -> None:
    item = Outgoing(Channel.EMAIL, "a@example.org", "k", "same-key", None, {"subject": "s"})
    with database.unit_of_work() as s:
        assert put(s, [item]) == 1
    with database.unit_of_work() as s:
        assert put(s, [item, Outgoing(Channel.EMAIL, "b@example.org", "k", "other-key", None)]) == 1
    assert _count(database) == 2


def test_endpoints_receive_only_their_topics(database: Database, make_account: Callable[..., Any]) -> None:
    """One register for every domain: the topic decides which events an endpoint is sent."""
    acc = make_account(Role.ANALYST, org="TP")
    alerts_only = add_endpoint(database, acc.org.id, "https://hooks.example.org/alerts", register="alerts")
    crisis_only = add_endpoint(database, acc.org.id, "https://hooks.example.org/crisis", register="crisis")
    with database.unit_of_work() as s:
        notify(s, kind="incident.reported", subject="DDoS", webhook_org_ids=[acc.org.id])
    with database.unit_of_work(write=False) as s:
        dests = s.execute(
            select(OutboxMessage.destination).where(OutboxMessage.channel == "webhook")
        ).scalars()
        assert sorted(dests) == [f"webhook:{crisis_only}"]
    assert alerts_only != crisis_only
