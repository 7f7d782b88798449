"""collection_date_added: a collection's members carry the time they joined that collection

Revision ID: collection_date_added
Revises: object_body_lz4

TAXII 2.1 (§3.2) defines ``date_added`` as the time an object was added to the collection.
The store had one ``date_added`` per version, so a version published into a collection after
it was stored kept its old time and ``added_after`` pollers of that collection never saw it.
Existing members take their version's store ``date_added`` (what TAXII served them with until
now, so no poller sees them again); the index walks a collection in its own order.
"""

import sqlalchemy as sa
from alembic import op

revision = "collection_date_added"
down_revision = "object_body_lz4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable first: SQLite adds a NOT NULL column only with a default, and none is right.
    with op.batch_alter_table("collection_object", schema=None) as batch_op:
        batch_op.add_column(sa.Column("date_added", sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE collection_object SET date_added = "
        "(SELECT date_added FROM stix_object WHERE stix_object.seq = collection_object.object_seq)"
    )
    with op.batch_alter_table("collection_object", schema=None) as batch_op:
        batch_op.alter_column("date_added", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index(
            "ix_collection_object_added", ["collection_id", "date_added", "object_seq"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("collection_object", schema=None) as batch_op:
        batch_op.drop_index("ix_collection_object_added")
        batch_op.drop_column("date_added")
