"""E-mail from a run reaches a real SMTP server with the ``[EXERCISE name]`` subject prefix, both the
inject's own e-mail and the e-mail copy of an in-app notice."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from colsec.accounts.roles import Role
from colsec.db import Database
from colsec.exercises import delivery
from colsec.exercises import run as runs
from colsec.exercises.scenario import create_scenario, parse_scenario
from colsec.outbox import deliver_due
from colsec.outbox.senders import make_senders
from colsec.settings import Settings
from loopback import LOOPBACK_ALLOW
from outbox.conftest import give_email
from outbox.receivers import MailReceiver


def test_exercise_mail_carries_the_prefix(
    tmp_path: Path, database: Database, make_account: Callable[..., Any]
) -> None:
    ctl = make_account(Role.COORDINATOR, org="ACC", kind="crisis_centre")
    rep = make_account(Role.REPRESENTATIVE, org="NM")
    give_email(database, rep.user.id, "duty@nm.example")
    receiver = MailReceiver()
    try:
        settings = Settings(
            data_dir=tmp_path / "data", database_url=database.url, secret_key="test-secret-key-not-for-production",
            smtp_host="127.0.0.1", smtp_port=receiver.port, smtp_from="node@example.org", outbound_allow=LOOPBACK_ALLOW,
        )  # fmt: skip
        doc = {
            "name": "mail-drill", "title": {"en": "Mail"}, "participants": [{"org": "NM"}],
            "injects": [
                {"number": 1, "offset": 0, "target": {"org": "NM"}, "channel": "email", "title": "Call the duty officer", "content": "Now."},
                {"number": 2, "offset": 0, "target": {"org": "NM"}, "channel": "message", "title": "Read the briefing"},
            ],
        }  # fmt: skip
        with database.unit_of_work() as s:
            sc = create_scenario(s, actor=ctl.actor, scenario=parse_scenario(doc))
            run = runs.create_run(s, actor=ctl.actor, scenario_id=sc.id, name="Mail drill")
            runs.move(s, actor=ctl.actor, run_id=run.id, to="running", now=datetime.now(UTC))
        assert delivery.deliver_pass(database, node_name="n") == 2
        sent = deliver_due(database, worker_id="w", senders=make_senders(database, settings))
        assert sent == 2
        deadline = time.monotonic() + 10
        while len(receiver.effects) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        subjects = sorted(str(msg["Subject"]) for _, msg in receiver.effects.values())
        assert subjects == [
            "[EXERCISE Mail drill] Call the duty officer",
            "[EXERCISE Mail drill] Read the briefing",
        ]
    finally:
        receiver.close()
