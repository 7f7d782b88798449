"""Receivers, organisations with admins and endpoints, and a deliverer for the outbox tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from colsec.db import Database
from colsec.outbox.senders import make_senders
from colsec.settings import Settings
from loopback import LOOPBACK_ALLOW
from outbox.receivers import MailReceiver, WebhookReceiver

SECRET = "outbox-test-secret-0123456789"


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(SECRET)
    yield receiver
    receiver.close()


@pytest.fixture
def mail() -> Iterator[MailReceiver]:
    receiver = MailReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def node_settings(tmp_path: Path, database: Database, mail: MailReceiver) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", database_url=database.url, secret_key="test-secret-key-not-for-production",
        smtp_host="127.0.0.1", smtp_port=mail.port, smtp_from="node@example.org", outbound_allow=LOOPBACK_ALLOW,
    )  # fmt: skip


@pytest.fixture
def senders(database: Database, node_settings: Settings) -> dict[str, Any]:
    return make_senders(database, node_settings)


@pytest.fixture
def deliver(database: Database, senders: dict[str, Any]) -> Callable[..., int]:
    from colsec.outbox import deliver_due

    def run(**kw: Any) -> int:
        return deliver_due(database, worker_id=kw.pop("worker_id", "test-worker"), senders=senders, **kw)

    return run


def add_endpoint(
    database: Database, org_id: int, url: str, *, register: str = "crisis", secret: str = SECRET
) -> int:
    """An active endpoint of ``org_id`` taking one topic (``crisis`` or ``alerts``), committed."""
    from colsec.outbox.models import Webhook

    with database.unit_of_work() as s:
        hook = Webhook(organisation_id=org_id, url=url, secret=secret, topics=[register], active=True)
        s.add(hook)
        s.flush()
        return int(hook.id)


def give_email(database: Database, user_id: int, email: str) -> None:
    from sqlalchemy import update

    from colsec.accounts.models import User

    with database.unit_of_work() as s:
        s.execute(update(User).where(User.id == user_id).values(email=email))
