"""intel: reversed-domain index for incremental parent-domain correlation

Revision ID: intel_domain
Revises: intel_core
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "intel_domain"
down_revision = "intel_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "correlation_domain",
        sa.Column("rev", sa.String(length=260), nullable=False),
        sa.PrimaryKeyConstraint("rev", name=op.f("pk_correlation_domain")),
    )


def downgrade() -> None:
    op.drop_table("correlation_domain")
