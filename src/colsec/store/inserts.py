"""Writing one decided batch of the write gate: object rows, then the rows beside them
(``colsec.store.companions``: index, recipient and member rows).

Only ``colsec.store.service`` calls ``insert_rows``, after the gate's rules (``colsec.store.gate``)
have decided every row, so this module and that one are the only writers of object rows (a test
scans the source for others).  Each engine gets its bulk path, held equal to the portable one by
``tests/store/test_bulk_paths.py``:

- SQLite: the driver, many rows a statement (``colsec.store.sqlbulk``), seqs assigned here
  (no SQLAlchemy statement or row processing per row: a fifth of a 50,000-attribute MISP
  import, profiled);
- PostgreSQL: seqs drawn from the table's sequence in one statement, rows by COPY (the
  executemany with RETURNING was a quarter of an ATT&CK import);
- anything else: SQLAlchemy's portable ``INSERT ... ON CONFLICT DO NOTHING RETURNING``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from colsec.store.companions import (
    observable_rows,
    record_versions,
    settle_versions,
    write_sqlite_observables,
)
from colsec.store.models import StixObject
from colsec.store.patternindex import index_rows
from colsec.store.results import ImportResult
from colsec.store.rows import Clock, copy_raw, copy_rows, driver_cursor, insert_stmt, sqlite_cursor
from colsec.store.sqlbulk import insert_values
from colsec.store.textindex import link_rows, write_pg_search, write_sqlite_index
from colsec.store.writebehind import WriteBehind

__all__ = ["OBJECT_COLUMNS", "Inserted", "Target", "copy_objects", "insert_portable", "insert_rows"]

# The order of the values of a row handed to ``insert_rows``.
OBJECT_COLUMNS = (
    "id", "type", "spec_version", "created", "modified", "created_by_ref", "owner_org_id", "tlp",
    "sharing_group_id", "revoked", "is_latest", "date_added", "origin", "body",
)  # fmt: skip
# The types of ("seq", *OBJECT_COLUMNS) for PostgreSQL's binary COPY (``colsec.store.rows.copy_raw``).
_PG_TYPES = (
    "int8", "text", "text", "text", "text", "text", "text", "int4", "int2", "int4", "bool", "bool", "text", "text",
    "text",
)  # fmt: skip
_SQLITE_OBJECTS = f"INSERT INTO stix_object (seq, {', '.join(OBJECT_COLUMNS)}) VALUES"
_SQLITE_CONFLICT = "ON CONFLICT (id, modified) DO NOTHING"
# n seqs in one step: the next value, and the sequence moved on to the last of the n.
_PG_SEQS = "SELECT setval(s, nextval(s) + :n - 1) FROM CAST(pg_get_serial_sequence('stix_object', 'seq') AS regclass) AS s"

Inserted = list[tuple[int, str, str]]  # (seq, id, modified) of the rows stored


@dataclass(frozen=True)
class Target:
    """Where the caller files the new versions: collections and named recipients."""

    collection_ids: Sequence[str]
    recipients: dict[tuple[str, str], set[int]]  # (id, modified) -> recipient organisations
    held_ids: set[str]  # ids that had a version before this batch
    # (id, modified) -> observables its producer stated (``ObjectFacts.observables``), if any
    observables: dict[tuple[str, str], tuple[tuple[str, str], ...]] = field(default_factory=dict)
    clock: Clock | None = None  # stamps versions stored before that join the collections now


def insert_rows(
    db: Session,
    rows: list[tuple[Any, ...]],
    by_key: dict[tuple[str, str], dict[str, Any]],
    target: Target,
    result: ImportResult,
    behind: WriteBehind | None = None,
) -> None:
    """Store rows (``OBJECT_COLUMNS`` order, bodies in ``by_key``) and everything indexed from them.

    With ``behind`` on SQLite the rows go in on its writer thread and the rest follows at its
    next ``drain`` (``colsec.store.writebehind``): the caller drains before its next use of ``db``.
    """
    raw = sqlite_cursor(db)
    inserted: Inserted
    if raw is not None and behind is not None:
        _insert_sqlite_behind(db, raw, rows, by_key, target, result, behind)
        return
    if behind is not None and db.get_bind().dialect.name == "postgresql":
        _copy_pg_behind(db, rows, by_key, target, result, behind)
        return
    if raw is not None:
        inserted = _insert_sqlite(raw, rows)
    elif db.get_bind().dialect.name == "postgresql":
        inserted = copy_objects(db, rows)
    else:
        inserted = insert_portable(db, rows)
    record_versions(
        db, raw=raw, inserted=inserted, attempted=[(r[0], r[4]) for r in rows], by_key=by_key,
        recipients=target.recipients, held_ids=target.held_ids, collection_ids=target.collection_ids,
        result=result, observables=target.observables, clock=target.clock,
    )  # fmt: skip


def insert_portable(db: Session, rows: list[tuple[Any, ...]]) -> Inserted:
    """SQLAlchemy's statement; a version already stored is skipped by the conflict rule.

    executemany + RETURNING uses SQLAlchemy's cached "insertmanyvalues" path: one compiled
    statement for every batch instead of a fresh 14,000-parameter VALUES clause each time.
    """
    cols = StixObject.__table__.c
    stmt = (
        insert_stmt(db, StixObject.__table__)
        .on_conflict_do_nothing(index_elements=["id", "modified"])
        .returning(cols.seq, cols.id, cols.modified)
    )
    params = [dict(zip(OBJECT_COLUMNS, r, strict=True)) for r in rows]
    return [(seq, oid, modified) for seq, oid, modified in db.execute(stmt, params)]


def copy_objects(db: Session, rows: list[tuple[Any, ...]]) -> Inserted:
    """PostgreSQL: seqs from the table's own sequence, then the rows by COPY.

    The caller holds the append lock (``colsec.db.lock_for_append``) and only this module
    inserts object rows, so the n seqs taken are this batch's alone and in commit order, and the gate has already answered every version it
    found stored.  Should a seq or a version be taken all the same, COPY fails on a unique
    index inside its savepoint and the batch goes through the conflict-skipping statement instead.
    """
    from psycopg.errors import UniqueViolation

    values = _pg_numbered(db, rows)
    try:
        with db.begin_nested():
            copy_rows(db, StixObject.__table__, ("seq", *OBJECT_COLUMNS), values, _PG_TYPES)
    except UniqueViolation:
        return insert_portable(db, rows)
    return [(v[0], v[1], v[5]) for v in values]


def _pg_numbered(db: Session, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    first = int(db.execute(text(_PG_SEQS), {"n": len(rows)}).scalar_one()) - len(rows) + 1
    return [(first + i, *r) for i, r in enumerate(rows)]


def _insert_sqlite(cur: Any, rows: list[tuple[Any, ...]]) -> Inserted:
    """Insert rows with seqs assigned here (max + 1, as SQLite itself would); (seq, id, modified) stored.

    The caller holds the write lock, so no other writer takes these seqs; a version already
    stored is skipped by the conflict rule and found missing by reading the new seqs back.
    """
    return _insert_sqlite_values(cur, _numbered(cur, rows))


def _numbered(cur: Any, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    first = (cur.execute("SELECT max(seq) FROM stix_object").fetchone()[0] or 0) + 1
    return [(first + i, *r) for i, r in enumerate(rows)]


def _insert_sqlite_values(cur: Any, values: list[tuple[Any, ...]]) -> Inserted:
    first = values[0][0]
    # Rows go many to a statement: the activity_count trigger costs a statement journal per statement.
    stored_n = insert_values(cur, _SQLITE_OBJECTS, values, _SQLITE_CONFLICT, size_at=len(OBJECT_COLUMNS))
    wanted = [(v[0], v[1], v[5]) for v in values]
    if stored_n == len(values):
        return wanted
    stored = set(cur.execute("SELECT seq, id, modified FROM stix_object WHERE seq >= ?", (first,)).fetchall())
    return [w for w in wanted if w in stored]


def _insert_sqlite_behind(
    db: Session,
    raw: Any,
    rows: list[tuple[Any, ...]],
    by_key: dict[tuple[str, str], dict[str, Any]],
    target: Target,
    result: ImportResult,
    behind: WriteBehind,
) -> None:
    """SQLite through the writer thread: the object rows go first; their index rows are made here
    meanwhile (words, observables: the Python half of the work) and follow them on the thread.

    Should the conflict rule skip a version (the gate answers stored ones first, so it does not),
    its index rows are left out once the stored rows are known, as ``record_versions`` would.
    """
    values = _numbered(raw, rows)
    wrote = behind.submit(_insert_sqlite_values, raw, values)
    wanted = [(v[0], v[1], v[5]) for v in values]
    docs = [(seq, by_key[(oid, modified)]) for seq, oid, modified in wanted]
    obs_rows, terms = index_rows(wanted, docs, target.observables)
    links = link_rows(docs)
    indexed = behind.submit(_write_index, raw, wrote, docs, obs_rows, terms, links)
    attempted = [(r[0], r[4]) for r in rows]  # not the rows themselves: their bodies go once written

    def settle() -> None:
        inserted, kept = indexed.result()
        settle_versions(
            db, inserted=inserted, attempted=attempted, docs=kept,
            recipients=target.recipients, held_ids=target.held_ids, collection_ids=target.collection_ids,
            result=result, clock=target.clock,
        )  # fmt: skip

    behind.later(settle)


def _write_index(
    cur: Any,
    wrote: Future[Inserted],
    docs: list[tuple[int, dict[str, Any]]],
    obs_rows: list[tuple[str, str, int, str]],
    terms: list[tuple[int, str]],
    links: list[tuple[str, int]],
) -> tuple[Inserted, list[tuple[int, dict[str, Any]]]]:
    """On the writer thread, after the object rows: the rows of the versions stored.  Returns
    those versions and their (seq, body), the one place a version the conflict rule skipped
    is left out (``settle_versions`` takes both as they are)."""
    inserted = wrote.result()
    if len(inserted) < len(docs):
        stored = {seq for seq, _, _ in inserted}
        docs = [d for d in docs if d[0] in stored]
        obs_rows = [r for r in obs_rows if r[2] in stored]
        terms = [r for r in terms if r[0] in stored]
        links = [r for r in links if r[1] in stored]
    if obs_rows:
        write_sqlite_observables(cur, obs_rows)
    write_sqlite_index(cur, terms, links)
    return inserted, docs


def _copy_pg_behind(
    db: Session,
    rows: list[tuple[Any, ...]],
    by_key: dict[tuple[str, str], dict[str, Any]],
    target: Target,
    result: ImportResult,
    behind: WriteBehind,
) -> None:
    """PostgreSQL through the writer thread: COPY of the object rows, then of their index rows
    (made here meanwhile), while the server indexes them and this thread moves on to the next batch.

    Should COPY meet a stored version or seq (see ``copy_objects``), its savepoint is undone on
    the thread and the batch goes through the conflict-skipping statements at the next drain.
    """
    values = _pg_numbered(db, rows)
    cur = driver_cursor(db)
    copied = behind.submit(_copy_objects_raw, cur, values)
    wanted = [(v[0], v[1], v[5]) for v in values]
    docs = [(seq, by_key[(oid, modified)]) for seq, oid, modified in wanted]
    obs_rows = observable_rows(wanted, docs, target.observables)
    links = link_rows(docs)
    behind.submit(_copy_index_raw, cur, copied, obs_rows, docs, links)

    def settle() -> None:
        if not copied.result():
            record_versions(
                db, raw=None, inserted=insert_portable(db, rows), attempted=[(r[0], r[4]) for r in rows],
                by_key=by_key, recipients=target.recipients, held_ids=target.held_ids,
                collection_ids=target.collection_ids, result=result, observables=target.observables, clock=target.clock,
            )  # fmt: skip
            return
        settle_versions(
            db, inserted=wanted, attempted=[(r[0], r[4]) for r in rows], docs=docs,
            recipients=target.recipients, held_ids=target.held_ids, collection_ids=target.collection_ids,
            result=result, clock=target.clock,
        )  # fmt: skip

    behind.later(settle)


def _copy_objects_raw(cur: Any, values: list[tuple[Any, ...]]) -> bool:
    """On the writer thread: COPY the object rows inside a savepoint; False if a unique index refused them."""
    from psycopg.errors import UniqueViolation

    cur.execute("SAVEPOINT colsec_copy")
    try:
        copy_raw(cur, "stix_object", ("seq", *OBJECT_COLUMNS), values, _PG_TYPES)
    except UniqueViolation:
        cur.execute("ROLLBACK TO SAVEPOINT colsec_copy")
        cur.execute("RELEASE SAVEPOINT colsec_copy")
        return False
    cur.execute("RELEASE SAVEPOINT colsec_copy")  # any other failure leaves the unit failed, as raised
    return True


def _copy_index_raw(
    cur: Any,
    copied: Future[bool],
    obs_rows: list[tuple[str, str, int, str]],
    docs: list[tuple[int, dict[str, Any]]],
    links: list[tuple[str, int]],
) -> None:
    """On the writer thread, after the object rows (if COPY took them): their index rows, the
    search rows' words stemmed here as they stream to the server (the main thread meanwhile
    decides the next batch; the server is the slower half on PostgreSQL)."""
    if not copied.result():
        return
    if obs_rows:
        copy_raw(cur, "observable", ("kind", "value", "object_seq", "object_id"), obs_rows)
    write_pg_search(cur, docs, links)
