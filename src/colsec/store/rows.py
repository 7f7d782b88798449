"""Row-level helpers of the write gate: the ``date_added`` clock, latest flags, collection membership.

Only ``colsec.store.service`` calls these; they write no object rows themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from colsec.db import is_sqlite
from colsec.stix.ids import format_timestamp, parse_timestamp
from colsec.store.models import Collection, CollectionObject, StixObject

__all__ = [
    "Clock",
    "copy_raw",
    "copy_rows",
    "driver_cursor",
    "fix_latest",
    "inherit_collections",
    "insert_stmt",
    "iter_batches",
    "join_known_versions",
    "join_new_versions",
    "sqlite_cursor",
]


def insert_stmt(db: Session, table: Any) -> Any:
    return sqlite.insert(table) if is_sqlite(db) else postgresql.insert(table)


def sqlite_cursor(db: Session) -> Any:
    """On SQLite, a driver cursor inside the session's transaction (pending ORM changes flushed
    first); None elsewhere.  The bulk write path uses it to skip SQLAlchemy's per-row work."""
    if not is_sqlite(db):
        return None
    return driver_cursor(db)


def copy_rows(
    db: Session,
    table: Any,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    types: Sequence[str] | None = None,
) -> None:
    """Append plain rows (no conflict rule, nothing returned) to ``table`` in the session's transaction.

    On PostgreSQL with COPY: the index rows of an import (search_doc, object_link, observable)
    stream in one command, where executemany binds and runs a statement per row (ATT&CK's
    25,000 search_doc rows: 0.2 s against 1.2 s); in binary with ``types`` (``copy_raw``).
    Elsewhere a Core executemany (SQLite's own bulk path uses its driver directly; this is the
    portable fallback)."""
    if db.get_bind().dialect.name != "postgresql":
        db.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    copy_raw(driver_cursor(db), table.name, columns, rows, types)


def driver_cursor(db: Session) -> Any:
    """A driver cursor inside the session's transaction, pending ORM changes flushed first."""
    db.flush()
    return db.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]


def copy_raw(
    cur: Any,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    types: Sequence[str] | None = None,
) -> None:
    """PostgreSQL: COPY ``rows`` into ``table`` through the psycopg cursor ``cur``.

    With ``types`` (each column's type as psycopg names it: the binary form of each value must
    be the column's own, ``int2`` for a smallint) the rows go in binary: neither the driver
    escapes each value nor the server parses it (an ATT&CK import's object and link rows: a
    fifth of the server's CPU on them, and of the client's); a tsvector goes as the bytes
    ``colsec.store.tsvector`` made, typed ``bytea`` (passed through as they are)."""
    binary = "" if types is None else " (FORMAT BINARY)"
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN{binary}") as copy:
        if types is not None:
            copy.set_types(types)
        for row in rows:
            copy.write_row(row)


class Clock:
    """Strictly increasing date_added (µs steps) so ``added_after`` never splits a tie.

    It starts after the newest stamp anywhere: a version's, and a collection member's (a
    version stored earlier joins a collection at a tick of its own).  The caller holds the
    append lock (``colsec.db.lock_for_append``), so no other writer draws from the same range.
    """

    def __init__(self, db: Session) -> None:
        last = max(
            (v for v in (db.execute(select(func.max(StixObject.date_added))).scalar(),
                         db.execute(_NEWEST_MEMBER).scalar()) if v),
            default=None,
        )  # fmt: skip
        now = datetime.now(UTC)
        start = max(now, parse_timestamp(last) + timedelta(microseconds=1)) if last else now
        self._second = start.replace(microsecond=0)
        self._prefix = format_timestamp(self._second)[:19]
        self._micro = start.microsecond

    def next(self) -> str:
        # Formats the seconds part once per second rather than once per row (a hot loop).
        if self._micro >= 1_000_000:
            self._second += timedelta(seconds=self._micro // 1_000_000)
            self._micro %= 1_000_000
            self._prefix = format_timestamp(self._second)[:19]
        value = f"{self._prefix}.{self._micro:06d}Z"
        self._micro += 1
        return value


# The newest member stamp: per collection a seek of the (collection_id, date_added) index, as a
# max over the whole table would read it all.
_NEWEST_MEMBER = select(
    func.max(
        select(CollectionObject.date_added)
        .where(CollectionObject.collection_id == Collection.id)
        .order_by(CollectionObject.date_added.desc())
        .limit(1)
        .correlate(Collection)
        .scalar_subquery()
    )
).select_from(Collection)

_MEMBER_CHUNK = 500


def join_new_versions(db: Session, members: Iterable[tuple[str, int]]) -> None:
    """(collection id, seq) of versions stored in this transaction: each joins at its store ``date_added``.

    The collection's stamp is the version's own, so a TAXII reader of the collection sees the
    same time in the manifest as the store recorded, and the clock's order holds across both.
    """
    by_collection: dict[str, list[int]] = {}
    for cid, seq in members:
        by_collection.setdefault(cid, []).append(seq)
    for cid, seqs in by_collection.items():
        for i in range(0, len(seqs), _MEMBER_CHUNK):
            rows = select(literal(cid, String), StixObject.seq, StixObject.date_added).where(
                StixObject.seq.in_(seqs[i : i + _MEMBER_CHUNK])
            )
            db.execute(
                insert_stmt(db, CollectionObject.__table__)
                .from_select(["collection_id", "object_seq", "date_added"], rows)
                .on_conflict_do_nothing()
            )


def join_known_versions(db: Session, members: Iterable[tuple[str, int]], clock: Clock) -> int:
    """(collection id, seq) of versions stored before: each not yet a member joins now, at a tick of ``clock``.

    A version already in the collection keeps its stamp: publishing it again must not hand it
    to that collection's ``added_after`` pollers a second time.  Returns the members added.
    """
    pairs = list(dict.fromkeys(members))
    added = 0
    for i in range(0, len(pairs), _MEMBER_CHUNK):
        chunk = pairs[i : i + _MEMBER_CHUNK]
        held = {
            (cid, seq)
            for cid, seq in db.execute(
                select(CollectionObject.collection_id, CollectionObject.object_seq).where(
                    CollectionObject.object_seq.in_({seq for _, seq in chunk})
                )
            )
        }
        rows = [
            {"collection_id": cid, "object_seq": seq, "date_added": clock.next()}
            for cid, seq in chunk
            if (cid, seq) not in held
        ]
        if rows:
            db.execute(insert_stmt(db, CollectionObject.__table__).values(rows).on_conflict_do_nothing())
            added += len(rows)
    return added


def inherit_collections(db: Session, new_versions: list[tuple[int, str]]) -> None:
    """A new version added without naming collections (revocation, edit) joins its earlier versions' ones.

    TAXII readers of a collection then see revocations and updates of what they already have.
    """
    if not new_versions:
        return
    ids = list({oid for _, oid in new_versions})
    by_id: dict[str, set[str]] = {}
    for cid, oid in db.execute(
        select(CollectionObject.collection_id, StixObject.id)
        .join(StixObject, StixObject.seq == CollectionObject.object_seq)
        .where(StixObject.id.in_(ids))
    ).all():
        by_id.setdefault(oid, set()).add(cid)
    join_new_versions(db, ((c, seq) for seq, oid in new_versions for c in sorted(by_id.get(oid, ()))))


def fix_latest(db: Session, ids: list[str]) -> None:
    """Recompute the latest-version flag for ids that now have several versions.

    One statement per 500 ids that writes only the rows whose flag changes: each written row fires
    ``activity_count``'s triggers, and on SQLite each statement opens a statement journal, so one
    UPDATE per id cost a journal per id on a re-import of a large event.
    """
    newer = aliased(StixObject)
    newest = select(func.max(newer.modified)).where(newer.id == StixObject.id).scalar_subquery()
    flag = StixObject.modified == newest
    for i in range(0, len(ids), 500):
        chunk = list(set(ids[i : i + 500]))
        db.execute(
            update(StixObject)
            .where(StixObject.id.in_(chunk), StixObject.is_latest.is_distinct_from(flag))
            .values(is_latest=flag)
        )


def iter_batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
