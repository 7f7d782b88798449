"""``colsec outbox list|retry|deliver`` in a subprocess: the operator's view and exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from colsec.accounts.roles import Role
from colsec.crisis.notify import notify
from colsec.db import Database
from colsec.outbox import OutboxMessage, Status
from loopback import LOOPBACK_ENV
from outbox.conftest import add_endpoint
from outbox.receivers import WebhookReceiver

SRC = Path(__file__).resolve().parents[2] / "src"


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "colsec", "outbox", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_list_retry_and_deliver(
    tmp_path: Path, database: Database, make_account: Callable[..., Any], hooks: WebhookReceiver
) -> None:
    if not database.sqlite:
        pytest.skip("about the command, not the backend: the SQLite run covers it")
    acc = make_account(Role.ADMIN, org="NM")
    add_endpoint(database, acc.org.id, hooks.url)
    with database.unit_of_work() as s:
        notify(s, kind="incident.reported", subject="x", webhook_org_ids=[acc.org.id])
        s.execute(update(OutboxMessage).values(status=Status.DEAD, attempts=8, last_error="HTTP 503"))
        (row_id,) = s.execute(select(OutboxMessage.id)).scalars()
    env = {
        **os.environ, **LOOPBACK_ENV, "PYTHONPATH": str(SRC), "COLSEC_DATA_DIR": str(tmp_path / "data"),
        "COLSEC_DATABASE_URL": database.url, "COLUMNS": "200",
    }  # fmt: skip
    r = _run(["list", "--status", "dead"], env)
    assert r.returncode == 0, r.stderr
    assert "HTTP 503" in r.stdout and "incident.reported" in r.stdout
    r = _run(["retry", str(row_id)], env)
    assert r.returncode == 0 and "queued again" in r.stdout
    assert hooks.attempts == {}
    r = _run(["deliver"], env)
    assert r.returncode == 0 and "1 message(s) delivered" in r.stdout, r.stderr
    assert len(hooks.effects) == 1
    assert _run(["retry", str(row_id)], env).returncode == 5  # delivered: nothing to retry
