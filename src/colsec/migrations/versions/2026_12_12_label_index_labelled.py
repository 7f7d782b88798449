"""label_index_labelled: the PostgreSQL labels index holds only rows whose body names ``labels``

Revision ID: label_index_labelled
Revises: object_prefix_indexes

The ``label_index`` GIN index parsed every latest body into ``jsonb`` as it was written, to find
the labels of the few objects that have any (ATT&CK: a handful of its 24,771): a tenth of the
server's work in an ATT&CK import.  Its predicate now also asks that the body's text contain
``"labels"`` (a substring test, no parse), so only bodies that can hold labels are parsed.  A
label search (``colsec.intel.search``) states the same condition, which every holder of a label
meets, so its answers are unchanged and the planner still proves the index usable.
"""

from alembic import op

revision = "label_index_labelled"
down_revision = "object_prefix_indexes"
branch_labels = None
depends_on = None

_EXPRESSION = "USING gin (((body::jsonb -> 'labels')) jsonb_path_ops)"


def _replace(predicate: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_stix_object_labels")
        op.execute(f"CREATE INDEX ix_stix_object_labels ON stix_object {_EXPRESSION} WHERE {predicate}")


def upgrade() -> None:
    _replace("is_latest AND strpos(body, '\"labels\"') > 0")


def downgrade() -> None:
    _replace("is_latest")
