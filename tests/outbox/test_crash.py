"""kill -9 of a deliverer mid-delivery: the lease runs out, another deliverer resends, the effect is once.

The receiver hangs on the first attempt (after applying it, as a real partner may have
before the answer is lost), the deliverer process is killed while it waits, and a second
deliverer process takes the row over once the lease has expired.  The receiver counts
two attempts and one effect, by idempotency key.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from colsec.accounts.roles import Role
from colsec.crisis.notify import notify
from colsec.db import Database
from colsec.outbox import OutboxMessage, Status
from loopback import LOOPBACK_ENV
from outbox.conftest import add_endpoint, give_email
from outbox.receivers import MailReceiver, WebhookReceiver

SRC = Path(__file__).resolve().parents[2] / "src"
LEASE = 1.0


def _deliverer(database: Database, mail: MailReceiver, tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ, **LOOPBACK_ENV, "PYTHONPATH": str(SRC), "COLSEC_DATABASE_URL": database.url,
        "COLSEC_DATA_DIR": str(tmp_path / "data"), "COLSEC_SMTP_HOST": "127.0.0.1",
        "COLSEC_SMTP_PORT": str(mail.port), "COLSEC_SMTP_FROM": "node@example.org",
        "COLSEC_OUTBOX_LEASE_SECONDS": str(LEASE), "COLSEC_JOBS_POLL_SECONDS": "0.05",
    }  # fmt: skip
    return subprocess.Popen([sys.executable, "-m", "colsec", "worker", "--id", name], env=env)


def _row(database: Database) -> OutboxMessage:
    with database.unit_of_work(write=False) as s:
        return s.execute(select(OutboxMessage)).scalar_one()


def _wait(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("channel", ["webhook", "email"])
def test_kill_9_mid_delivery_still_one_effect(
    channel: str,
    database: Database,
    make_account: Callable[..., Any],
    hooks: WebhookReceiver,
    mail: MailReceiver,
    tmp_path: Path,
) -> None:
    acc = make_account(Role.ANALYST, org="NM")
    receiver: WebhookReceiver | MailReceiver
    if channel == "webhook":
        add_endpoint(database, acc.org.id, hooks.url)
        receiver, kw = hooks, {"webhook_org_ids": [acc.org.id]}
    else:
        give_email(database, acc.user.id, "analyst@nm.example.org")
        receiver, kw = mail, {"user_ids": [acc.user.id]}
    receiver.hang = lambda _key, n: n == 1
    with database.unit_of_work() as s:
        notify(s, kind="incident.reported", subject="DDoS", **kw)

    first = _deliverer(database, mail, tmp_path, "first")
    try:
        assert receiver.arrived.wait(30), "the first deliverer never reached the receiver"
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
    row = _row(database)
    assert (row.status, row.lease_owner, row.attempts) == (Status.SENDING, "first", 1)
    receiver.release.set()  # the hung handler answers a dead connection

    second = _deliverer(database, mail, tmp_path, "second")
    try:
        _wait(lambda: _row(database).status == Status.DELIVERED, "the second deliverer to take over")
        second.send_signal(signal.SIGTERM)
        assert second.wait(10) == 0  # stops cleanly between polls
    finally:
        if second.poll() is None:
            second.kill()
    row = _row(database)
    assert (row.attempts, row.lease_owner) == (2, None)
    assert len(receiver.effects) == 1 and list(receiver.attempts.values()) == [2]
