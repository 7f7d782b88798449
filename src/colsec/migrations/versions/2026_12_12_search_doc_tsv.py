"""search_doc_tsv: on PostgreSQL the full-text index reads a stored ``tsvector`` column

Revision ID: search_doc_tsv
Revises: label_index_labelled

The GIN index over ``to_tsvector('simple', terms)`` ran the text search parser over every
object's terms as it was written: a fifth of the server's work in an ATT&CK import.  The terms
are already the words (``colsec.fulltext``: stems split on spaces), so the writer
(``colsec.store.textindex``) sends their ``tsvector`` as text (each word with its position),
which the server reads without parsing words, and the GIN index is over that column.  The
column equals ``to_tsvector('simple', terms)`` for every row (held by
``tests/store/test_search_tsv.py``; terms outside the plain alphabets are given to
``to_tsvector`` itself), so searches answer as before; ``NOT NULL`` keeps a writer from leaving
a row unsearchable.  SQLite keeps FTS5 over ``terms``.
"""

from alembic import op

revision = "search_doc_tsv"
down_revision = "label_index_labelled"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_doc ADD COLUMN tsv tsvector")
    op.execute("UPDATE search_doc SET tsv = to_tsvector('simple'::regconfig, terms)")
    op.execute("ALTER TABLE search_doc ALTER COLUMN tsv SET NOT NULL")
    op.execute("DROP INDEX ix_search_doc_tsv")
    op.execute("CREATE INDEX ix_search_doc_tsv ON search_doc USING gin (tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_search_doc_tsv")
    op.execute("ALTER TABLE search_doc DROP COLUMN tsv")
    op.execute(
        "CREATE INDEX ix_search_doc_tsv ON search_doc USING gin (to_tsvector('simple'::regconfig, terms))"
    )
