"""federation: peers and durable sync cursors

Revision ID: federation
Revises: foundation
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "federation_0001"
down_revision = "foundation"
branch_labels = ("federation",)
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "peer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("username", sa.String(length=120), nullable=True),
        sa.Column("token", sa.String(length=500), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("local_org_id", sa.Integer(), nullable=True),
        sa.Column("collections", sa.Text(), nullable=False),
        sa.Column("push_collection", sa.String(length=100), nullable=True),
        sa.Column("pull_interval_seconds", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_kind", sa.String(length=40), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("objects_received", BIG, nullable=False),
        sa.Column("objects_rejected", BIG, nullable=False),
        sa.Column("objects_pushed", BIG, nullable=False),
        sa.Column("newest_date_added", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_peer_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["local_org_id"],
            ["organisation.id"],
            name=op.f("fk_peer_local_org_id_organisation"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peer")),
        sa.UniqueConstraint("name", name=op.f("uq_peer_name")),
    )
    op.create_index(op.f("ix_peer_organisation_id"), "peer", ["organisation_id"], unique=False)
    op.create_table(
        "peer_cursor",
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.String(length=100), nullable=False),
        sa.Column("added_after", sa.String(length=32), nullable=True),
        sa.Column("pages", BIG, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["peer.id"], name=op.f("fk_peer_cursor_peer_id_peer"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("peer_id", "collection_id", name=op.f("pk_peer_cursor")),
    )


def downgrade() -> None:
    op.drop_table("peer_cursor")
    op.drop_index(op.f("ix_peer_organisation_id"), table_name="peer")
    op.drop_table("peer")
