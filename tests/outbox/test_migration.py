"""The outbox migrations carry queued deliveries of the old tables over (sent ones stay sent) and fold
the crisis webhook register into the one ``webhook`` register, re-pointing what is still queued."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import select, text

from colsec.db import Database
from colsec.migrations import alembic_config, upgrade
from colsec.outbox import OutboxMessage
from colsec.outbox.models import Webhook

NOW = "2026-12-01 10:00:00"
ROWS = [
    "INSERT INTO organisation (id, name, short_name, identity_id, kind, created_at) VALUES "
    f"(1, 'Northmark', 'NM', 'identity--7f0b3cde-5b5a-4f0e-9d4e-0c3c6f7b2a11', 'member', '{NOW}')",
    "INSERT INTO user_account (id, username, display_name, role, organisation_id, language, is_active, "
    f"failed_logins, created_at, email) VALUES (1, 'ana', 'Ana', 'analyst', 1, 'en', 1, 0, '{NOW}', "
    "'ana@nm.example.org')",
    f"INSERT INTO crisis_webhook (id, organisation_id, url, secret, created_at, active) VALUES "
    f"(3, 1, 'https://hooks.example.org/c', 's', '{NOW}', 1)",
    "INSERT INTO crisis_webhook_delivery (webhook_id, event, payload, status, attempts, last_error, created_at) "
    f"VALUES (3, 'incident.reported', '{{\"event\": \"incident.reported\"}}', 'failed', 2, 'HTTP 503', '{NOW}'), "
    f"(3, 'incident.reported', '{{}}', 'sent', 1, '', '{NOW}')",
    "INSERT INTO crisis_notification (id, user_id, organisation_id, kind, subject, body, target, created_at, "
    f"email_status, email_error) VALUES (7, 1, 1, 'crisis.opened', 'Crisis #1', 'b', '', '{NOW}', 'pending', ''), "
    f"(8, 1, 1, 'crisis.opened', 'old', 'b', '', '{NOW}', 'sent', '')",
    f"INSERT INTO webhook (id, organisation_id, url, secret, active, created_at) VALUES "
    f"(5, 1, 'https://hooks.example.org/a', 's', 1, '{NOW}')",
    "INSERT INTO alert (id, kind, dedupe_key, severity, title, details, created_at, updated_at) VALUES "
    f"(11, 'cross_member', 'k', 'high', 't', '{{}}', '{NOW}', '{NOW}')",
    "INSERT INTO alert_delivery (alert_id, webhook_id, status, attempts) VALUES (11, 5, 'pending', 0)",
]


def test_queued_deliveries_become_pending_outbox_rows(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config(database.url)
    with database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "crisis_delivery_claims")
        command.upgrade(cfg, "intel_domain")
        for sql in ROWS:
            conn.execute(text(sql))
    upgrade(database.engine)
    with database.unit_of_work(write=False) as s:
        rows = s.execute(select(OutboxMessage).order_by(OutboxMessage.idempotency_key)).scalars().all()
        got = [(r.channel, r.destination, r.event, r.idempotency_key, r.org_id, r.status) for r in rows]
        assert got == [
            ("webhook", "webhook:5", "alert", "alert-delivery:1", 1, "pending"),
            ("webhook", "webhook:6", "incident.reported", "crisis-delivery:1", 1, "pending"),
            ("email", "ana@nm.example.org", "crisis.opened", "notification:7:email", 1, "pending"),
        ]
        assert rows[2].payload == {"event": "crisis.opened", "subject": "Crisis #1", "body": "b"}
        assert rows[1].payload == {"event": "incident.reported"}
        hooks = s.execute(select(Webhook).order_by(Webhook.id)).scalars().all()
        assert [(h.id, h.url, h.topics, h.active) for h in hooks] == [
            (5, "https://hooks.example.org/a", ["alerts"], True),
            (6, "https://hooks.example.org/c", ["crisis"], True),
        ]
    database.dispose()
