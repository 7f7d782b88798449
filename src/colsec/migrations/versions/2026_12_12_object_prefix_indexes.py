"""object_prefix_indexes: drop the two stix_object indexes that a wider index already leads with

Revision ID: object_prefix_indexes
Revises: label_index

``ix_stix_object_id (id)`` is the prefix of the unique ``(id, modified)`` index and
``ix_stix_object_owner (owner_org_id)`` the prefix of ``ix_stix_object_owner_tlp (owner_org_id,
tlp, seq)``: every lookup either served is served as well by the wider one (both engines
search an index by its leading columns), while every inserted row paid for two more B-tree
inserts, the id one at a random place.  Without them a 100,000-indicator SQLite import's
object inserts take a quarter less CPU (bench/ingest.py).
"""

from alembic import op

revision = "object_prefix_indexes"
down_revision = "label_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_stix_object_id", table_name="stix_object")
    op.drop_index("ix_stix_object_owner", table_name="stix_object")


def downgrade() -> None:
    op.create_index("ix_stix_object_owner", "stix_object", ["owner_org_id"])
    op.create_index("ix_stix_object_id", "stix_object", ["id"])
