"""federation: the local collection that objects received from a peer join

Revision ID: federation_local_collection
Revises: federation
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "federation_local_collection"
down_revision = "federation_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("peer") as batch:
        batch.add_column(sa.Column("local_collection", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("peer") as batch:
        batch.drop_column("local_collection")
