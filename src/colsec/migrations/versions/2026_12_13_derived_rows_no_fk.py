"""derived_rows_no_fk: the index rows beside an object version go with it by a delete trigger, not a foreign key

Revision ID: derived_rows_no_fk
Revises: search_doc_tsv, object_links

``search_doc``, ``object_link`` and ``observable`` are written only by the store's write gate
(``colsec.store.companions``, ``colsec.store.textindex``), in the transaction that inserts the
version they index and after it, so every row they get names a stored version.  Their foreign
keys checked that again row by row: on PostgreSQL each inserted row queued a trigger that looked
the version up and locked it, a fifth of the server's work in an ATT&CK import (65,000 rows).
What the keys also did, removing a version's rows with it, a delete trigger on ``stix_object``
now does on both engines (PostgreSQL: once per statement, over its deleted rows), so every path
that deletes versions (an exercise run's deletion) leaves no row behind.  Both halves are held by
``tests/store/test_derived_rows.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "derived_rows_no_fk"
down_revision = ("search_doc_tsv", "object_links")
branch_labels = None
depends_on = None

# (table, its column naming the version, the foreign key that named it)
_DERIVED = (
    ("search_doc", "seq", "fk_search_doc_seq_stix_object"),
    ("object_link", "seq", "fk_object_link_seq_stix_object"),
    ("observable", "object_seq", "fk_observable_object_seq_stix_object"),
)
_TRIGGER = "stix_object_derived_delete"
# SQLite's FTS5 index of search_doc keeps in step by these triggers (fulltext, fts_direct_insert):
# rebuilding the table without its key drops them, so they are made again.
_SQLITE_FTS_TRIGGERS = (
    "CREATE TRIGGER search_doc_ad AFTER DELETE ON search_doc BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.seq, old.terms); END",
    "CREATE TRIGGER search_doc_au AFTER UPDATE ON search_doc BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.seq, old.terms); "
    "INSERT INTO search_fts(rowid, terms) VALUES (new.seq, new.terms); END",
)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, _, fk in _DERIVED:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(fk, type_="foreignkey")
    if sqlite:
        for statement in _SQLITE_FTS_TRIGGERS:
            op.execute(statement)
        deletes = " ".join(f"DELETE FROM {t} WHERE {c} = old.seq;" for t, c, _ in _DERIVED)
        op.execute(f"CREATE TRIGGER {_TRIGGER} AFTER DELETE ON stix_object BEGIN {deletes} END")
        return
    deletes = " ".join(f"DELETE FROM {t} WHERE {c} IN (SELECT seq FROM old_rows);" for t, c, _ in _DERIVED)
    op.execute(
        f"CREATE FUNCTION {_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {deletes} RETURN NULL; END $$"
    )
    op.execute(
        f"CREATE TRIGGER {_TRIGGER} AFTER DELETE ON stix_object REFERENCING OLD TABLE AS old_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {_TRIGGER}()"
    )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute(f"DROP TRIGGER IF EXISTS {_TRIGGER}")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {_TRIGGER} ON stix_object")
        op.execute(f"DROP FUNCTION IF EXISTS {_TRIGGER}()")
    for table, column, fk in _DERIVED:
        # Rows a key would have refused (none, if only the gate wrote them) go before it is made.
        op.execute(sa.text(f"DELETE FROM {table} WHERE {column} NOT IN (SELECT seq FROM stix_object)"))
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(fk, "stix_object", [column], ["seq"], ondelete="CASCADE")
    if sqlite:
        for name in ("search_doc_ad", "search_doc_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in _SQLITE_FTS_TRIGGERS:
            op.execute(statement)
