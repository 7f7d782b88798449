"""fulltext: stemmed words of every latest object, indexed by FTS5 (SQLite) or GIN (PostgreSQL)

Revision ID: fulltext
Revises: foundation
Create Date: 2026-12-07

The backfill stems every latest version with ``colsec.fulltext``, the function the write
gate uses for new versions, so an upgraded node searches its old objects like new ones.
"""

import orjson
import sqlalchemy as sa
from alembic import op

from colsec.fulltext import document_terms

revision = "fulltext"
down_revision = "foundation"
branch_labels = None
depends_on = None

BATCH = 2000

# External-content FTS5 table over search_doc; the triggers keep it in step with every write
# (and with deletions cascading from stix_object).
_SQLITE = (
    "CREATE VIRTUAL TABLE search_fts USING fts5(terms, content='search_doc', content_rowid='seq', "
    "tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER search_doc_ai AFTER INSERT ON search_doc BEGIN "
    "INSERT INTO search_fts(rowid, terms) VALUES (new.seq, new.terms); END",
    "CREATE TRIGGER search_doc_ad AFTER DELETE ON search_doc BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.seq, old.terms); END",
    "CREATE TRIGGER search_doc_au AFTER UPDATE ON search_doc BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.seq, old.terms); "
    "INSERT INTO search_fts(rowid, terms) VALUES (new.seq, new.terms); END",
)
_PG = ("CREATE INDEX ix_search_doc_tsv ON search_doc USING gin (to_tsvector('simple'::regconfig, terms))",)


def upgrade() -> None:
    op.create_table(
        "search_doc",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["seq"], ["stix_object.seq"], name=op.f("fk_search_doc_seq_stix_object"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_search_doc")),
    )
    bind = op.get_bind()
    for statement in _SQLITE if bind.dialect.name == "sqlite" else _PG:
        op.execute(statement)
    insert = sa.text("INSERT INTO search_doc (seq, terms) VALUES (:seq, :terms)")
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT seq, body FROM stix_object WHERE is_latest AND seq > :last ORDER BY seq LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            break
        bind.execute(
            insert, [{"seq": seq, "terms": document_terms(orjson.loads(body))} for seq, body in rows]
        )
        last = rows[-1][0]


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("search_doc_ai", "search_doc_ad", "search_doc_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_doc")
