"""Writing one decided batch of the write gate: object rows, then their index, recipient and member rows.

Only ``colsec.store.service`` calls ``insert_rows``, after the gate's rules (``colsec.store.gate``)
have decided every row, so this module and that one are the only writers of object rows (a test
scans the source for others).  Each engine gets its bulk path, held equal to the portable one by
``tests/store/test_bulk_paths.py``:

- SQLite: the driver's executemany, seqs assigned here (no SQLAlchemy statement or row
  processing per row: a fifth of a 50,000-attribute MISP import, profiled);
- PostgreSQL: seqs drawn from the table's sequence in one statement, rows by COPY (the
  executemany with RETURNING was a quarter of an ATT&CK import);
- anything else: SQLAlchemy's portable ``INSERT ... ON CONFLICT DO NOTHING RETURNING``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from colsec.stix.observables import extract as extract_observables
from colsec.store.models import EXERCISE_RUN, CollectionObject, ObjectRecipient, Observable, StixObject
from colsec.store.rows import copy_rows, fix_latest, inherit_collections, insert_stmt, sqlite_cursor
from colsec.store.textindex import drop_superseded, index_versions

__all__ = ["OBJECT_COLUMNS", "Inserted", "Target", "copy_objects", "insert_portable", "insert_rows"]

# The order of the values of a row handed to ``insert_rows``.
OBJECT_COLUMNS = (
    "id", "type", "spec_version", "created", "modified", "created_by_ref", "owner_org_id", "tlp",
    "sharing_group_id", "revoked", "is_latest", "date_added", "origin", "body",
)  # fmt: skip
_SQLITE_OBJECTS = (
    f"INSERT INTO stix_object (seq, {', '.join(OBJECT_COLUMNS)}) VALUES (?{', ?' * len(OBJECT_COLUMNS)}) "
    "ON CONFLICT (id, modified) DO NOTHING"
)
_SQLITE_OBSERVABLES = "INSERT INTO observable (kind, value, object_seq, object_id) VALUES (?, ?, ?, ?)"
# n seqs in one step: the next value, and the sequence moved on to the last of the n.
_PG_SEQS = "SELECT setval(s, nextval(s) + :n - 1) FROM CAST(pg_get_serial_sequence('stix_object', 'seq') AS regclass) AS s"

Inserted = list[tuple[int, str, str]]  # (seq, id, modified) of the rows stored


class Result(Protocol):
    """What the import's report takes from a batch (``colsec.store.service.ImportResult``)."""

    inserted: int
    unchanged: int
    by_type: Counter[str]
    inserted_ids: list[str]
    inserted_seqs: list[int]


@dataclass(frozen=True)
class Target:
    """Where the caller files the new versions: collections and named recipients."""

    collection_ids: Sequence[str]
    recipients: Mapping[tuple[str, str], set[int]]  # (id, modified) -> recipient organisations
    held_ids: set[str]  # ids that had a version before this batch


def insert_rows(
    db: Session,
    rows: list[tuple[Any, ...]],
    by_key: Mapping[tuple[str, str], Mapping[str, Any]],
    target: Target,
    result: Result,
) -> None:
    """Store rows (``OBJECT_COLUMNS`` order, bodies in ``by_key``) and everything indexed from them."""
    raw = sqlite_cursor(db)
    inserted: Inserted
    if raw is not None:
        inserted = _insert_sqlite(raw, rows)
    elif db.get_bind().dialect.name == "postgresql":
        inserted = copy_objects(db, rows)
    else:
        inserted = insert_portable(db, rows)
    result.inserted += len(inserted)
    result.unchanged += len(rows) - len(inserted)
    new_seqs: list[int] = []
    obs_rows: list[tuple[str, str, int, str]] = []
    recipient_rows: list[dict[str, int]] = []
    docs: list[tuple[int, Mapping[str, Any]]] = []
    for seq, oid, modified in inserted:
        new_seqs.append(seq)
        body_obj = by_key[(oid, modified)]
        docs.append((seq, body_obj))
        result.by_type[body_obj["type"]] += 1
        if len(result.inserted_ids) < 100_000:
            result.inserted_ids.append(oid)
        for kind, value in set(extract_observables(body_obj)):
            obs_rows.append((kind, value, seq, oid))
        recipient_rows.extend(
            {"object_seq": seq, "organisation_id": o}
            for o in sorted(target.recipients.get((oid, modified), ()))
        )
    result.inserted_seqs.extend(new_seqs)
    run = db.info.get(EXERCISE_RUN)
    if run and new_seqs:  # written while an exercise inject is delivered: the run's, not real
        db.execute(update(StixObject).where(StixObject.seq.in_(new_seqs)).values(exercise_run_id=run[0]))
    if obs_rows and raw is not None:
        raw.executemany(_SQLITE_OBSERVABLES, obs_rows)
    elif obs_rows:
        copy_rows(db, Observable.__table__, ("kind", "value", "object_seq", "object_id"), obs_rows)
    held_ids = target.held_ids
    multi = [oid for oid in {r[1] for r in inserted} if oid in held_ids] + [
        oid for oid, n in Counter(r[1] for r in inserted).items() if n > 1
    ]
    index_versions(db, docs)
    if multi:
        fix_latest(db, multi)
        drop_superseded(db, multi)
    if not target.collection_ids:
        inherit_collections(db, [(seq, oid) for seq, oid, _ in inserted if oid in held_ids])
    else:
        _join_collections(db, target.collection_ids, rows, inserted, new_seqs)
    if recipient_rows:
        db.execute(insert(ObjectRecipient), recipient_rows)


def _join_collections(
    db: Session,
    collection_ids: Sequence[str],
    rows: list[tuple[Any, ...]],
    inserted: Inserted,
    seqs: list[int],
) -> None:
    if len(inserted) < len(rows):  # already-known versions join the collection too
        wanted = {(r[0], r[4]) for r in rows}  # (id, modified)
        seqs = [
            s
            for s, i, m in db.execute(
                select(StixObject.seq, StixObject.id, StixObject.modified).where(
                    StixObject.id.in_(list({k[0] for k in wanted}))
                )
            ).all()
            if (i, m) in wanted
        ]
    member_rows = [{"collection_id": c, "object_seq": s} for c in collection_ids for s in seqs]
    if member_rows:
        db.execute(insert_stmt(db, CollectionObject.__table__).values(member_rows).on_conflict_do_nothing())


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

    first = int(db.execute(text(_PG_SEQS), {"n": len(rows)}).scalar_one()) - len(rows) + 1
    values = [(first + i, *r) for i, r in enumerate(rows)]
    try:
        with db.begin_nested():
            copy_rows(db, StixObject.__table__, ("seq", *OBJECT_COLUMNS), values)
    except UniqueViolation:
        return insert_portable(db, rows)
    return [(v[0], v[1], v[5]) for v in values]


def _insert_sqlite(cur: Any, rows: list[tuple[Any, ...]]) -> Inserted:
    """Insert rows with seqs assigned here (max + 1, as SQLite itself would); (seq, id, modified) stored.

    The caller holds the write lock, so no other writer takes these seqs; a version already
    stored is skipped by the conflict rule and found missing by reading the new seqs back.
    """
    first = (cur.execute("SELECT max(seq) FROM stix_object").fetchone()[0] or 0) + 1
    values = [(first + i, *r) for i, r in enumerate(rows)]
    cur.executemany(_SQLITE_OBJECTS, values)
    wanted = [(v[0], v[1], v[5]) for v in values]
    if cur.rowcount == len(values):
        return wanted
    stored = set(cur.execute("SELECT seq, id, modified FROM stix_object WHERE seq >= ?", (first,)).fetchall())
    return [w for w in wanted if w in stored]
