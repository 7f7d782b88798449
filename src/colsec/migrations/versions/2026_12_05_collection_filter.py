"""taxii: collections defined by a filter (publishing imported intelligence over TAXII)

Revision ID: taxii_collection_filter
Revises: taxii_0001
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "taxii_collection_filter"
down_revision = "taxii_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collection_filter",
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("types", sa.Text(), nullable=False),
        sa.Column("owner_org_ids", sa.Text(), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("max_tlp", sa.SmallInteger(), nullable=True),
        sa.Column("sharing_group_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collection.id"],
            name=op.f("fk_collection_filter_collection_id_collection"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"],
            ["sharing_group.id"],
            name=op.f("fk_collection_filter_sharing_group_id_sharing_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("collection_id", name=op.f("pk_collection_filter")),
    )


def downgrade() -> None:
    op.drop_table("collection_filter")
