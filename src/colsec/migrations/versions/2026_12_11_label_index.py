"""label_index: on PostgreSQL, a GIN index of the latest versions' STIX labels

Revision ID: label_index
Revises: activity_counts

A search filtered by a label (``colsec.intel.search``) tested the JSON body with ``LIKE`` and
so read every latest row: about a second at 200,000 objects on PostgreSQL.  It now asks
``(body::jsonb -> 'labels') @> '["label"]'``, which this index answers (``jsonb_path_ops``:
containment is the only operator used, and that class is the smaller one).  SQLite has no such
index; there the label's text is a cheap ``LIKE`` prefilter before the exact ``json_each`` test.
"""

from alembic import op

revision = "label_index"
down_revision = "activity_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_stix_object_labels ON stix_object "
            "USING gin (((body::jsonb -> 'labels')) jsonb_path_ops) WHERE is_latest"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_stix_object_labels")
