"""deliver_due against real receivers: signed, once per key, backoff, dead letters, expired leases."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from colsec.accounts.roles import Role
from colsec.crisis.notify import notify
from colsec.db import Database
from colsec.outbox import OutboxMessage, RetryPolicy, Status, deliver_due
from outbox.conftest import add_endpoint, give_email
from outbox.receivers import MailReceiver, WebhookReceiver


@pytest.fixture
def member(database: Database, make_account: Callable[..., Any]) -> Any:
    acc = make_account(Role.ANALYST, org="NM")
    give_email(database, acc.user.id, "analyst@nm.example.org")
    return acc


def _event(database: Database, member: Any, *, email: bool = True, n: int = 1) -> None:
    with database.unit_of_work() as s:
        for i in range(n):
            notify(
                s, kind="incident.reported", subject=f"DDoS {i}", body="on payment systems",
                user_ids=[member.user.id] if email else [], webhook_org_ids=[member.org.id],
            )  # fmt: skip


def _rows(database: Database) -> list[OutboxMessage]:
    with database.unit_of_work(write=False) as s:
        return list(s.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def _at(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_webhook_and_email_are_delivered_once_signed(
    database: Database, member: Any, hooks: WebhookReceiver, mail: MailReceiver, deliver: Callable[..., int]
) -> None:
    add_endpoint(database, member.org.id, hooks.url)
    _event(database, member)
    assert hooks.attempts == {} and mail.attempts == {}  # queued, not sent, by the change itself
    assert deliver() == 2
    assert deliver() == 0  # nothing left due
    assert (
        hooks.refused == [] and list(hooks.attempts.values()) == [1] and list(mail.attempts.values()) == [1]
    )
    ((event, body),) = hooks.effects.values()
    assert event == "incident.reported" and b"DDoS 0" in body
    ((rcpt, msg),) = mail.effects.values()
    assert (
        rcpt == ["analyst@nm.example.org"]
        and msg["Subject"] == "DDoS 0"
        and msg["From"] == "node@example.org"
    )
    assert msg["X-Colsec-Idempotency-Key"].startswith("notification:")
    assert all(r.status == Status.DELIVERED and r.delivered_at and r.attempts == 1 for r in _rows(database))


def test_failures_back_off_exponentially_then_succeed(
    database: Database, member: Any, hooks: WebhookReceiver, deliver: Callable[..., int]
) -> None:
    add_endpoint(database, member.org.id, hooks.url)
    _event(database, member, email=False)
    policy = RetryPolicy(max_attempts=5, base=timedelta(seconds=10))
    hooks.status = 503
    t0 = datetime.now(UTC)
    assert deliver(now=t0, policy=policy) == 0
    (row,) = _rows(database)
    assert (row.status, row.attempts, row.last_error) == (Status.PENDING, 1, f"{hooks.url} answered HTTP 503")
    assert _at(row.next_attempt_at) == t0 + timedelta(seconds=10)
    assert deliver(now=t0 + timedelta(seconds=9), policy=policy) == 0 and sum(hooks.attempts.values()) == 1
    assert deliver(now=t0 + timedelta(seconds=10), policy=policy) == 0 and sum(hooks.attempts.values()) == 2
    (row,) = _rows(database)
    assert _at(row.next_attempt_at) == t0 + timedelta(seconds=30)  # 10 s, then 20 s
    hooks.status = 204
    assert deliver(now=t0 + timedelta(seconds=30), policy=policy) == 1
    (row,) = _rows(database)
    assert (row.status, row.attempts, row.last_error) == (Status.DELIVERED, 3, None)
    assert len(hooks.effects) == 1 and sum(hooks.attempts.values()) == 3


def test_dead_after_max_attempts_with_the_last_error(
    database: Database, member: Any, hooks: WebhookReceiver, deliver: Callable[..., int]
) -> None:
    add_endpoint(database, member.org.id, hooks.url, secret="not-the-receivers-secret")
    _event(database, member, email=False)
    policy = RetryPolicy(max_attempts=3, base=timedelta(seconds=1))
    t = datetime.now(UTC)
    for _ in range(5):
        deliver(now=t, policy=policy)
        t += timedelta(hours=1)
    (row,) = _rows(database)
    assert (row.status, row.attempts) == (Status.DEAD, 3)
    assert row.last_error == f"{hooks.url} answered HTTP 401"
    assert len(hooks.refused) == 3 and hooks.effects == {}  # a wrong signature never takes effect


def test_a_removed_endpoint_is_dead_at_once(
    database: Database, member: Any, hooks: WebhookReceiver, deliver: Callable[..., int]
) -> None:
    from colsec.outbox.models import Webhook

    add_endpoint(database, member.org.id, hooks.url)
    _event(database, member, email=False)
    with database.unit_of_work() as s:
        s.execute(update(Webhook).values(active=False))
    assert deliver() == 0
    (row,) = _rows(database)
    assert row.status == Status.DEAD and "removed or disabled" in (row.last_error or "")
    assert hooks.attempts == {}


def test_an_expired_lease_is_taken_over_a_live_one_is_not(
    database: Database, member: Any, hooks: WebhookReceiver, deliver: Callable[..., int]
) -> None:
    add_endpoint(database, member.org.id, hooks.url)
    _event(database, member, email=False)
    now = datetime.now(UTC)
    with database.unit_of_work() as s:  # as a deliverer that died during its first attempt leaves it
        s.execute(
            update(OutboxMessage).values(
                status=Status.SENDING, attempts=1, lease_owner="gone", lease_until=now + timedelta(seconds=30)
            )
        )
    assert deliver(now=now) == 0 and hooks.attempts == {}
    assert deliver(now=now + timedelta(seconds=31)) == 1
    (row,) = _rows(database)
    assert (row.status, row.attempts, row.lease_owner) == (Status.DELIVERED, 2, None)


def test_a_row_whose_deliverers_keep_dying_goes_dead(
    database: Database, member: Any, hooks: WebhookReceiver, deliver: Callable[..., int]
) -> None:
    add_endpoint(database, member.org.id, hooks.url)
    _event(database, member, email=False)
    now = datetime.now(UTC)
    policy = RetryPolicy(max_attempts=2)
    with database.unit_of_work() as s:
        s.execute(
            update(OutboxMessage).values(
                status=Status.SENDING, attempts=2, lease_owner="gone", lease_until=now
            )
        )
    assert deliver(now=now + timedelta(seconds=1), policy=policy) == 0
    (row,) = _rows(database)
    assert row.status == Status.DEAD and "lease expired" in (row.last_error or "") and hooks.attempts == {}


def test_concurrent_deliverers_never_send_a_row_twice(
    database: Database, member: Any, hooks: WebhookReceiver, senders: dict[str, Any]
) -> None:
    add_endpoint(database, member.org.id, hooks.url)
    _event(database, member, email=False, n=30)
    counts: list[int] = []

    def worker(name: str) -> None:
        while n := deliver_due(database, worker_id=name, senders=senders, limit=5):
            counts.append(n)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(counts) == 30 and len(hooks.effects) == 30
    assert set(hooks.attempts.values()) == {1}  # no row claimed by two deliverers


def test_a_batch_longer_than_its_lease_keeps_its_rows(
    database: Database, member: Any, hooks: WebhookReceiver, senders: dict[str, Any]
) -> None:
    """Leases are extended as the batch goes on, so a second deliverer never takes a live row."""
    add_endpoint(database, member.org.id, hooks.url)
    _event(database, member, email=False, n=4)
    hooks.delay = 0.3
    policy = RetryPolicy(lease=timedelta(seconds=0.5))
    done = threading.Event()
    taken: list[int] = []

    def rival() -> None:
        time.sleep(0.1)  # the first deliverer has claimed the batch by now (one short transaction)
        while not done.is_set():
            taken.append(deliver_due(database, worker_id="rival", senders=senders, policy=policy))
            time.sleep(0.05)

    thread = threading.Thread(target=rival)
    thread.start()
    try:
        first = deliver_due(database, worker_id="first", senders=senders, policy=policy, limit=4)
    finally:
        done.set()
        thread.join(10)
    assert first == 4 and sum(taken) == 0  # 4 × 0.3 s outlasts the 0.5 s lease, yet nothing was taken
    assert len(hooks.effects) == 4 and set(hooks.attempts.values()) == {1}
