"""search_restricted: an index of each owner's objects by TLP, for searches at TLP:AMBER+STRICT or RED

Revision ID: search_restricted
Revises: fts_direct_insert

At TLP:AMBER+STRICT and RED a reader sees only what its organisation owns or is named on.  A
search filtered to such a level starts from those rows (``colsec.intel.search``): this index
lists an owner's rows at one level in seq order without reading the table, where walking every
text match and reading each row took seconds at a million objects for a reader owning none.
"""

from alembic import op

revision = "search_restricted"
down_revision = "fts_direct_insert"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_stix_object_owner_tlp", "stix_object", ["owner_org_id", "tlp", "seq"])


def downgrade() -> None:
    op.drop_index("ix_stix_object_owner_tlp", table_name="stix_object")
