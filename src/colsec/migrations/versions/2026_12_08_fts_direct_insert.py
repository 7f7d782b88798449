"""fts_direct_insert: the write gate fills SQLite's FTS5 index itself; the per-row insert trigger goes

Revision ID: fts_direct_insert
Revises: fulltext
Create Date: 2026-12-08

An AFTER INSERT trigger runs each row's FTS5 insert inside a statement savepoint, and FTS5
writes its pending terms out as a new segment at every savepoint: one segment per object,
merged over and over, four times the work of inserting the same rows into ``search_fts``
directly (``colsec.store.textindex`` now does, in the same transaction).  The delete and
update triggers stay: deletions are rare and cascade from ``stix_object``.  PostgreSQL's GIN
index needs no trigger and is untouched.
"""

from alembic import op

revision = "fts_direct_insert"
down_revision = "fulltext"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS search_doc_ai")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER search_doc_ai AFTER INSERT ON search_doc BEGIN "
            "INSERT INTO search_fts(rowid, terms) VALUES (new.seq, new.terms); END"
        )
