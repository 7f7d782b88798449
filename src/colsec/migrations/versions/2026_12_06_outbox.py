"""outbox: one table for every e-mail, webhook and push the node sends

Replaces the intel ``alert_delivery`` and crisis ``crisis_webhook_delivery`` tables and
the e-mail columns of ``crisis_notification``.  Deliveries still waiting are carried
over as pending outbox rows, so an upgrade loses nothing that was queued.

Revision ID: 2026_12_06_outbox
Revises: crisis_delivery_claims, intel_domain
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "2026_12_06_outbox"
down_revision = ("crisis_delivery_claims", "intel_domain")
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    outbox = op.create_table(
        "outbox_message",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("destination", sa.String(length=1000), nullable=False),
        sa.Column("event", sa.String(length=60), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisation.id"],
            name=op.f("fk_outbox_message_org_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_message_idempotency_key")),
    )
    op.create_index("ix_outbox_message_due", "outbox_message", ["status", "next_attempt_at"], unique=False)
    op.create_index(op.f("ix_outbox_message_org_id"), "outbox_message", ["org_id"], unique=False)
    _carry_over(outbox)
    op.drop_table("alert_delivery")
    op.drop_table("crisis_webhook_delivery")
    with op.batch_alter_table("crisis_notification") as batch:
        batch.drop_index("ix_crisis_notification_email_status")
        batch.drop_column("email_status")
        batch.drop_column("email_error")
        batch.drop_column("claimed_at")


def _carry_over(outbox: sa.Table) -> None:
    """Queued deliveries of the old tables become pending outbox rows."""
    conn = op.get_bind()
    now = datetime.now(UTC)
    rows: list[dict[str, object]] = []

    def row(channel: str, dest: str, event: str, payload: object, key: str, org: object) -> dict[str, object]:
        return {
            "channel": channel, "destination": dest, "event": event, "payload": payload,
            "idempotency_key": key, "org_id": org, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "created_at": now,
        }  # fmt: skip

    for did, alert_id, hook_id, org in conn.execute(
        sa.text(
            "SELECT d.id, d.alert_id, d.webhook_id, w.organisation_id FROM alert_delivery d "
            "JOIN webhook w ON w.id = d.webhook_id WHERE d.status IN ('pending', 'sending')"
        )
    ):
        payload = {"event": "alert", "alert": {"id": alert_id}}
        rows.append(row("webhook", f"webhook:{hook_id}", "alert", payload, f"alert-delivery:{did}", org))
    for did, hook_id, event, body, org in conn.execute(
        sa.text(
            "SELECT d.id, d.webhook_id, d.event, d.payload, w.organisation_id FROM crisis_webhook_delivery d "
            "JOIN crisis_webhook w ON w.id = d.webhook_id WHERE d.status IN ('pending', 'sending', 'failed')"
        )
    ):
        dest = f"crisis_webhook:{hook_id}"
        rows.append(row("webhook", dest, event, json.loads(body), f"crisis-delivery:{did}", org))
    for nid, kind, subject, body, email, org in conn.execute(
        sa.text(
            "SELECT n.id, n.kind, n.subject, n.body, u.email, n.organisation_id FROM crisis_notification n "
            "JOIN user_account u ON u.id = n.user_id "
            "WHERE n.email_status IN ('pending', 'sending') AND u.email IS NOT NULL"
        )
    ):
        payload = {"event": kind, "subject": subject, "body": body}
        rows.append(row("email", email, kind, payload, f"notification:{nid}:email", org))
    if rows:
        op.bulk_insert(outbox, rows)


def downgrade() -> None:
    with op.batch_alter_table("crisis_notification") as batch:
        batch.add_column(sa.Column("claimed_at", TS, nullable=True))
        batch.add_column(sa.Column("email_error", sa.Text(), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("email_status", sa.String(length=12), nullable=False, server_default="sent")
        )
        batch.create_index("ix_crisis_notification_email_status", ["email_status"], unique=False)
    op.create_table(
        "crisis_webhook_delivery",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=60), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("claimed_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["crisis_webhook.id"],
            name=op.f("fk_crisis_webhook_delivery_webhook_id_crisis_webhook"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_webhook_delivery")),
    )  # fmt: skip
    op.create_index(op.f("ix_crisis_webhook_delivery_status"), "crisis_webhook_delivery", ["status"])
    op.create_index(op.f("ix_crisis_webhook_delivery_webhook_id"), "crisis_webhook_delivery", ["webhook_id"])
    op.create_table(
        "alert_delivery",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("alert_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("sent_at", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_alert_delivery_alert_id_alert"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhook.id"],
            name=op.f("fk_alert_delivery_webhook_id_webhook"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_delivery")),
        sa.UniqueConstraint("alert_id", "webhook_id", name=op.f("uq_alert_delivery_alert_id_webhook_id")),
    )
    op.create_index(op.f("ix_alert_delivery_status"), "alert_delivery", ["status"], unique=False)
    op.drop_index(op.f("ix_outbox_message_org_id"), table_name="outbox_message")
    op.drop_index("ix_outbox_message_due", table_name="outbox_message")
    op.drop_table("outbox_message")
