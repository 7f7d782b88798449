"""formats: MISP warninglists

Revision ID: formats_warninglists
Revises: foundation
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "formats_warninglists"
down_revision = "foundation"
branch_labels = ("formats",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "warninglist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("list_type", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("matching_attributes", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warninglist")),
        sa.UniqueConstraint("slug", name=op.f("uq_warninglist_slug")),
    )
    op.create_table(
        "warninglist_entry",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("warninglist_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=2048), nullable=False),
        sa.ForeignKeyConstraint(
            ["warninglist_id"],
            ["warninglist.id"],
            name=op.f("fk_warninglist_entry_warninglist_id_warninglist"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warninglist_entry")),
    )
    op.create_index(
        op.f("ix_warninglist_entry_warninglist_id"), "warninglist_entry", ["warninglist_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_warninglist_entry_warninglist_id"), table_name="warninglist_entry")
    op.drop_table("warninglist_entry")
    op.drop_table("warninglist")
