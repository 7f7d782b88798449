"""reports: bulletins (versions), their schedules and e-mail subscribers

Revision ID: reports
Revises: foundation
"""

import sqlalchemy as sa
from alembic import op

revision = "reports"
down_revision = "foundation"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bulletin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("audience", sa.SmallInteger(), nullable=False),
        sa.Column("period_start", TS, nullable=False),
        sa.Column("period_end", TS, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("sections", sa.Text(), nullable=False),
        sa.Column("commentary", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=80), nullable=False),
        sa.Column("author_org_id", sa.Integer(), nullable=True),
        sa.Column("approved_by", sa.String(length=80), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("published_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["author_org_id"],
            ["organisation.id"],
            name="fk_bulletin_author_org_id_organisation",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bulletin"),
        sa.UniqueConstraint("series", "version", name="uq_bulletin_series_version"),
    )
    op.create_index("ix_bulletin_series", "bulletin", ["series"])
    op.create_index("ix_bulletin_status", "bulletin", ["status"])
    op.create_index("ix_bulletin_published_at", "bulletin", ["published_at"])
    op.create_table(
        "bulletin_schedule",
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("audience", sa.SmallInteger(), nullable=False),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("minute", sa.SmallInteger(), nullable=False),
        sa.Column("last_slot", TS, nullable=True),
        sa.PrimaryKeyConstraint("kind", name="pk_bulletin_schedule"),
    )
    op.create_table(
        "bulletin_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name="fk_bulletin_subscription_organisation_id_organisation",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bulletin_subscription"),
        sa.UniqueConstraint(
            "organisation_id", "email", name="uq_bulletin_subscription_organisation_id_email"
        ),
    )
    op.create_index("ix_bulletin_subscription_organisation_id", "bulletin_subscription", ["organisation_id"])


def downgrade() -> None:
    op.drop_table("bulletin_subscription")
    op.drop_table("bulletin_schedule")
    op.drop_table("bulletin")
