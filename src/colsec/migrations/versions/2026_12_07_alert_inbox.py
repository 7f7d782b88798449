"""alert inbox: per-recipient workflow state, and exposure alerts merged by (asset, value)

Each recipient organisation handles its copy of an alert apart: state (new, acknowledged,
in progress, closed with a reason), who acknowledged it and when, who it is assigned to,
and how far an unacknowledged one has been escalated.

Exposure alerts used to be keyed by the object that raised them, so one value stated by
seven indicators made seven alerts.  They are now keyed by (asset, value): existing
copies are merged into the oldest one (objects and recipients carried over).

Revision ID: alert_inbox
Revises: intel_domain
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "alert_inbox"
down_revision = "intel_domain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_recipient") as batch:
        batch.add_column(sa.Column("state", sa.String(length=16), server_default="new", nullable=False))
        batch.add_column(sa.Column("acknowledged_by", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("acknowledged_at", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("assigned_to", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("closed_by", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("close_reason", sa.String(length=400), nullable=True))
        batch.add_column(sa.Column("escalation", sa.SmallInteger(), server_default="0", nullable=False))
        batch.add_column(sa.Column("escalated_at", sa.String(length=32), nullable=True))
    op.create_index("ix_alert_recipient_org_state", "alert_recipient", ["organisation_id", "state"])
    op.create_index("ix_alert_recipient_org_alert", "alert_recipient", ["organisation_id", "alert_id"])
    op.create_index("ix_alert_asset_id", "alert", ["asset_id"])
    _merge_exposure_duplicates()


def value_of(reason: str) -> str | None:
    """The value an old exposure alert was about, from its reason ("V in NET" / "V under DOMAIN")."""
    for sep in (" under ", " in "):
        if sep in reason:
            return reason.rsplit(sep, 1)[0]
    return None


def _merge_exposure_duplicates() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, asset_id, details FROM alert WHERE kind = 'exposure' "
            "AND dedupe_key LIKE 'exposure:obj:%' AND asset_id IS NOT NULL ORDER BY id"
        )
    ).all()
    keep: dict[tuple[int, str], int] = {}
    for alert_id, asset_id, details in rows:
        value = value_of(str(json.loads(details or "{}").get("reason", "")))
        if value is None:
            continue
        key = f"exposure:asset:{asset_id}:value:{value}"[:300]
        survivor = keep.get((asset_id, value))
        if survivor is None:
            keep[(asset_id, value)] = alert_id
            conn.execute(
                sa.text("UPDATE alert SET dedupe_key = :k, value = :v WHERE id = :i"),
                {"k": key, "v": value[:2048], "i": alert_id},
            )
            continue
        params = {"s": survivor, "d": alert_id}
        conn.execute(
            sa.text(
                "INSERT INTO alert_object (alert_id, object_seq) SELECT :s, object_seq FROM alert_object o "
                "WHERE o.alert_id = :d AND NOT EXISTS (SELECT 1 FROM alert_object x "
                "WHERE x.alert_id = :s AND x.object_seq = o.object_seq)"
            ),
            params,
        )
        conn.execute(
            sa.text(
                "INSERT INTO alert_recipient (alert_id, organisation_id, created_at, read_at, state, escalation) "
                "SELECT :s, organisation_id, created_at, read_at, 'new', 0 FROM alert_recipient r "
                "WHERE r.alert_id = :d AND NOT EXISTS (SELECT 1 FROM alert_recipient x "
                "WHERE x.alert_id = :s AND x.organisation_id = r.organisation_id)"
            ),
            params,
        )
        conn.execute(
            sa.text(
                "UPDATE alert SET updated_at = (SELECT MAX(updated_at) FROM alert WHERE id IN (:s, :d)) "
                "WHERE id = :s"
            ),
            params,
        )
        conn.execute(sa.text("DELETE FROM alert_object WHERE alert_id = :d"), params)
        conn.execute(sa.text("DELETE FROM alert_recipient WHERE alert_id = :d"), params)
        conn.execute(sa.text("DELETE FROM alert WHERE id = :d"), params)


def downgrade() -> None:
    op.drop_index("ix_alert_asset_id", table_name="alert")
    op.drop_index("ix_alert_recipient_org_alert", table_name="alert_recipient")
    op.drop_index("ix_alert_recipient_org_state", table_name="alert_recipient")
    with op.batch_alter_table("alert_recipient") as batch:
        for name in (
            "escalated_at", "escalation", "close_reason", "closed_at", "closed_by", "assigned_to",
            "acknowledged_at", "acknowledged_by", "state",
        ):  # fmt: skip
            batch.drop_column(name)
