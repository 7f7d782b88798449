"""match: stream workers' committed ranges, alerts and sighting counters

Revision ID: 2026_12_06_match_stream
Revises: store_granular_tlp_rows
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "2026_12_06_match_stream"
down_revision = "store_granular_tlp_rows"
branch_labels = None
depends_on = None

_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "match_stream",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("commits", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_match_stream")),
    )
    op.create_table(
        "match_stream_range",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", "first_seq", name=op.f("pk_match_stream_range")),
    )
    op.create_table(
        "match_sighting_count",
        sa.Column("sighter", sa.String(length=120), nullable=False),
        sa.Column("indicator_id", sa.String(length=120), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_us", sa.BigInteger(), nullable=False),
        sa.Column("last_us", sa.BigInteger(), nullable=False),
        sa.Column("matched_values", sa.Text(), nullable=False),
        sa.Column("modified_us", sa.BigInteger(), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "sighter", "indicator_id", "window_start", name=op.f("pk_match_sighting_count")
        ),
    )
    op.create_index(op.f("ix_match_sighting_count_pending"), "match_sighting_count", ["pending"])
    op.create_table(
        "match_alert",
        sa.Column("id", _BIGID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("stream_key", sa.String(length=300), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("indicator_id", sa.String(length=120), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_alert")),
        sa.UniqueConstraint(
            "stream_key", "seq", "indicator_id", name=op.f("uq_match_alert_stream_key_seq_indicator_id")
        ),
    )
    op.create_index(op.f("ix_match_alert_org_id"), "match_alert", ["org_id"])
    op.create_index(op.f("ix_match_alert_indicator_id"), "match_alert", ["indicator_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_match_alert_indicator_id"), table_name="match_alert")
    op.drop_index(op.f("ix_match_alert_org_id"), table_name="match_alert")
    op.drop_table("match_alert")
    op.drop_index(op.f("ix_match_sighting_count_pending"), table_name="match_sighting_count")
    op.drop_table("match_sighting_count")
    op.drop_table("match_stream_range")
    op.drop_table("match_stream")
