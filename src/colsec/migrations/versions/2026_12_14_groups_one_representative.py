"""groups_one_representative: at most one representative per organisation in a working group

Revision ID: groups_one_representative
Revises: groups

The representative is who answers a written procedure for the organisation; the service checked
the rule before inserting, so two officers adding one at the same moment could both succeed.  A
partial unique index now holds it.  Should a group already have two, the later ones become
deputies (they keep their seat; only the one answering voice is kept).
"""

import sqlalchemy as sa
from alembic import op

revision = "groups_one_representative"
down_revision = "groups"
branch_labels = None
depends_on = None

_WHERE = sa.text("function = 'representative'")


def upgrade() -> None:
    op.execute(
        "UPDATE groups_person SET function = 'deputy' WHERE function = 'representative' AND id > "
        "(SELECT min(p.id) FROM groups_person p WHERE p.group_id = groups_person.group_id "
        "AND p.organisation_id = groups_person.organisation_id AND p.function = 'representative')"
    )
    op.create_index(
        "uq_groups_person_representative", "groups_person", ["group_id", "organisation_id"], unique=True,
        sqlite_where=_WHERE, postgresql_where=_WHERE,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("uq_groups_person_representative", table_name="groups_person")
