"""outbox: one webhook register for every domain (``webhook`` with topics; ``crisis_webhook`` folded in)

Alert endpoints keep their ids and take the ``alerts`` topic; each crisis endpoint becomes a
new ``webhook`` row with the ``crisis`` topic, and outbox rows still queued for it are
pointed at the new row, so an upgrade loses no pending delivery.

Revision ID: one_webhook_register
Revises: 2026_12_06_outbox
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "one_webhook_register"
down_revision = "2026_12_06_outbox"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    conn = op.get_bind()
    with op.batch_alter_table("webhook") as batch:
        batch.add_column(sa.Column("topics", sa.JSON(), nullable=True))
    conn.execute(sa.text("""UPDATE webhook SET topics = '["alerts"]'"""))
    old = conn.execute(sa.text("SELECT id FROM crisis_webhook ORDER BY id")).all()
    for row in old:
        # Copied in SQL, column for column: no value passes through Python types on the way.
        new_id = conn.execute(
            sa.text(
                "INSERT INTO webhook (organisation_id, url, secret, topics, active, created_at) "
                "SELECT organisation_id, url, secret, '[\"crisis\"]', active, created_at FROM crisis_webhook "
                "WHERE id = :id RETURNING id"
            ),
            {"id": row.id},
        ).scalar_one()
        conn.execute(
            sa.text("UPDATE outbox_message SET destination = :new WHERE destination = :old"),
            {"new": f"webhook:{new_id}", "old": f"crisis_webhook:{row.id}"},
        )
    with op.batch_alter_table("webhook") as batch:
        batch.alter_column("topics", existing_type=sa.JSON(), nullable=False)
    op.drop_index(op.f("ix_crisis_webhook_organisation_id"), table_name="crisis_webhook")
    op.drop_table("crisis_webhook")


def downgrade() -> None:
    op.create_table(
        "crisis_webhook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_crisis_webhook_organisation_id_organisation"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_webhook")),
    )
    op.create_index(
        op.f("ix_crisis_webhook_organisation_id"), "crisis_webhook", ["organisation_id"], unique=False
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, organisation_id, url, secret, active, created_at, topics FROM webhook")
    ).all()
    for row in rows:
        topics = row.topics if isinstance(row.topics, list) else json.loads(row.topics or "[]")
        if "crisis" in topics:
            conn.execute(
                sa.text(
                    "INSERT INTO crisis_webhook (id, organisation_id, url, secret, active, created_at) "
                    "VALUES (:id, :org, :url, :secret, :active, :created)"
                ),
                {"id": row.id, "org": row.organisation_id, "url": row.url[:500], "secret": row.secret,
                 "active": row.active, "created": row.created_at},
            )  # fmt: skip
            conn.execute(
                sa.text(
                    "UPDATE outbox_message SET destination = :old WHERE destination = :new AND event <> 'alert'"
                ),
                {"new": f"webhook:{row.id}", "old": f"crisis_webhook:{row.id}"},
            )
        if "alerts" not in topics:
            conn.execute(sa.text("DELETE FROM webhook WHERE id = :id"), {"id": row.id})
    with op.batch_alter_table("webhook") as batch:
        batch.drop_column("topics")
