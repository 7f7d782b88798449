"""crisis: claim time on outbox rows, so deliveries interrupted by a crash are resumed

Revision ID: crisis_delivery_claims
Revises: crisis_response
"""

import sqlalchemy as sa
from alembic import op

revision = "crisis_delivery_claims"
down_revision = "crisis_response"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crisis_notification") as batch:
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("crisis_webhook_delivery") as batch:
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crisis_webhook_delivery") as batch:
        batch.drop_column("claimed_at")
    with op.batch_alter_table("crisis_notification") as batch:
        batch.drop_column("claimed_at")
