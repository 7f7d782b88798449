"""reports_auto_publish: schedules that publish data-only CLEAR bulletins; the feed's indexes

Revision ID: reports_auto_publish
Revises: reports (needs exercises and web_ui_activity)
"""

import sqlalchemy as sa
from alembic import op

revision = "reports_auto_publish"
down_revision = "reports"
branch_labels = None
# cap_alert.exercise_run_id and stix_object.exercise_run_id; the activity index to widen.
depends_on = ("exercises", "web_ui_activity")

ACTIVITY = ["date_added", "type", "owner_org_id", "tlp", "sharing_group_id", "is_latest"]


def upgrade() -> None:
    with op.batch_alter_table("bulletin_schedule") as batch:
        batch.add_column(sa.Column("commentary", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("auto_publish", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index(
        "ix_bulletin_status_audience_published", "bulletin", ["status", "audience", "published_at"]
    )
    op.create_index("ix_cap_alert_public", "cap_alert", ["scope", "status", "exercise_run_id", "id"])
    # The activity counts exclude exercise rows and probe recipients by seq: with both columns
    # in the index they stay index-only (PostgreSQL too, once vacuumed).
    op.drop_index("ix_stix_object_activity", table_name="stix_object")
    op.create_index("ix_stix_object_activity", "stix_object", [*ACTIVITY, "exercise_run_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_stix_object_activity", table_name="stix_object")
    op.create_index("ix_stix_object_activity", "stix_object", ACTIVITY)
    op.drop_index("ix_cap_alert_public", table_name="cap_alert")
    op.drop_index("ix_bulletin_status_audience_published", table_name="bulletin")
    with op.batch_alter_table("bulletin_schedule") as batch:
        batch.drop_column("auto_publish")
        batch.drop_column("commentary")
