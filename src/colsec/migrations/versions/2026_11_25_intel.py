"""intel: correlation groups and edges, indicator scores, assets, vulnerabilities, alerts, webhooks

Revision ID: intel_core
Revises: foundation
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "intel_core"
down_revision = "foundation"
branch_labels = ("intel",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "correlation",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("key_hash", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=2048), nullable=False),
        sa.Column("n_objects", sa.Integer(), nullable=False),
        sa.Column("n_owners", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("warninglist", sa.String(length=200), nullable=True),
        sa.Column("contains", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_correlation")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_correlation_key_hash")),
    )
    op.create_index("ix_correlation_kind_value", "correlation", ["kind", "value"], unique=False)
    op.create_index(op.f("ix_correlation_status"), "correlation", ["status"], unique=False)
    op.create_table(
        "correlation_edge",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("key_hash", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=2048), nullable=False),
        sa.Column("parent_kind", sa.String(length=20), nullable=False),
        sa.Column("parent_value", sa.String(length=2048), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_correlation_edge")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_correlation_edge_key_hash")),
    )
    op.create_index("ix_correlation_edge_child", "correlation_edge", ["kind", "value"], unique=False)
    op.create_index(
        "ix_correlation_edge_parent", "correlation_edge", ["parent_kind", "parent_value"], unique=False
    )
    op.create_table(
        "indicator_score",
        sa.Column("object_id", sa.String(length=120), nullable=False),
        sa.Column("object_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("confidence", sa.SmallInteger(), nullable=False),
        sa.Column("sightings", sa.Integer(), nullable=False),
        sa.Column("ref_time", sa.String(length=32), nullable=False),
        sa.Column("base_score", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("object_id", name=op.f("pk_indicator_score")),
    )
    op.create_index(op.f("ix_indicator_score_expires_at"), "indicator_score", ["expires_at"], unique=False)
    op.create_table(
        "vulnerability",
        sa.Column("cve", sa.String(length=30), nullable=False),
        sa.Column("in_kev", sa.Boolean(), nullable=False),
        sa.Column("kev_date_added", sa.String(length=10), nullable=True),
        sa.Column("vendor", sa.String(length=200), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("ransomware", sa.Boolean(), nullable=False),
        sa.Column("cpe_matches", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("cve", name=op.f("pk_vulnerability")),
    )
    op.create_table(
        "asset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sector", sa.String(length=60), nullable=False),
        sa.Column("criticality", sa.SmallInteger(), nullable=False),
        sa.Column("ip_ranges", sa.Text(), nullable=False),
        sa.Column("domains", sa.Text(), nullable=False),
        sa.Column("cpes", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_asset_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset")),
        sa.UniqueConstraint("organisation_id", "name", name=op.f("uq_asset_organisation_id_name")),
    )
    op.create_index(op.f("ix_asset_organisation_id"), "asset", ["organisation_id"], unique=False)
    op.create_table(
        "webhook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_webhook_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook")),
    )
    op.create_index(op.f("ix_webhook_organisation_id"), "webhook", ["organisation_id"], unique=False)
    op.create_table(
        "alert",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("dedupe_key", sa.String(length=300), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("title", sa.String(length=400), nullable=False),
        sa.Column("value_kind", sa.String(length=20), nullable=True),
        sa.Column("value", sa.String(length=2048), nullable=True),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("cve", sa.String(length=30), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["asset.id"], name=op.f("fk_alert_asset_id_asset"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_alert_dedupe_key")),
    )
    op.create_index(op.f("ix_alert_created_at"), "alert", ["created_at"], unique=False)
    op.create_index(op.f("ix_alert_kind"), "alert", ["kind"], unique=False)
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
    op.create_table(
        "alert_object",
        sa.Column("alert_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("object_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_alert_object_alert_id_alert"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["object_seq"],
            ["stix_object.seq"],
            name=op.f("fk_alert_object_object_seq_stix_object"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("alert_id", "object_seq", name=op.f("pk_alert_object")),
    )
    op.create_index(op.f("ix_alert_object_object_seq"), "alert_object", ["object_seq"], unique=False)
    op.create_table(
        "alert_recipient",
        sa.Column("alert_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("read_at", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_alert_recipient_alert_id_alert"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_alert_recipient_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("alert_id", "organisation_id", name=op.f("pk_alert_recipient")),
    )
    op.create_index(
        op.f("ix_alert_recipient_organisation_id"), "alert_recipient", ["organisation_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("alert_recipient")
    op.drop_table("alert_object")
    op.drop_table("alert_delivery")
    op.drop_table("alert")
    op.drop_table("webhook")
    op.drop_table("asset")
    op.drop_table("vulnerability")
    op.drop_table("indicator_score")
    op.drop_table("correlation_edge")
    op.drop_table("correlation")
