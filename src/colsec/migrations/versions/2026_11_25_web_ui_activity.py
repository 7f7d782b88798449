"""web UI: covering index for the dashboard's activity counts

Revision ID: web_ui_activity
Revises: foundation
Create Date: 2026-11-25
"""

from alembic import op

revision = "web_ui_activity"
down_revision = "foundation"
branch_labels = ("web_ui",)
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_stix_object_activity",
        "stix_object",
        ["date_added", "type", "owner_org_id", "tlp", "sharing_group_id", "is_latest"],
    )


def downgrade() -> None:
    op.drop_index("ix_stix_object_activity", table_name="stix_object")
