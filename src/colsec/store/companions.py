"""The rows written beside each new version, in the same transaction: its observables, its
recipients, its search terms, the latest flags of its object, its collections.

Called by the write gate only (``colsec.store.service``), once per batch of inserted versions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from colsec.stix.observables import extract as extract_observables
from colsec.store.models import EXERCISE_RUN, ObjectRecipient, Observable, StixObject
from colsec.store.results import ImportResult
from colsec.store.rows import (
    Clock,
    copy_rows,
    fix_latest,
    inherit_collections,
    join_known_versions,
    join_new_versions,
)
from colsec.store.sqlbulk import insert_values
from colsec.store.textindex import drop_superseded, index_versions

__all__ = [
    "indexed_body",
    "observable_rows",
    "record_versions",
    "settle_versions",
    "write_sqlite_observables",
]

_SQLITE_OBSERVABLES = "INSERT INTO observable (kind, value, object_seq, object_id) VALUES"


def record_versions(
    db: Session,
    *,
    raw: Any,
    inserted: list[tuple[int, str, str]],
    attempted: list[tuple[str, str]],
    by_key: dict[tuple[str, str], dict[str, Any]],
    recipients: dict[tuple[str, str], set[int]],
    held_ids: set[str],
    collection_ids: Sequence[str],
    result: ImportResult,
    observables: Mapping[tuple[str, str], Sequence[tuple[str, str]]] | None = None,
    clock: Clock | None = None,
) -> None:
    """Rows for the versions ``inserted`` (seq, id, modified) of those ``attempted`` (id, modified);
    ``raw`` is the SQLite driver cursor (None on PostgreSQL); ``observables`` as for ``observable_rows``;
    ``clock`` stamps versions stored before that join ``collection_ids`` now."""
    docs = [(seq, by_key[(oid, modified)]) for seq, oid, modified in inserted]
    obs_rows = observable_rows(inserted, docs, observables)
    if obs_rows and raw is not None:
        write_sqlite_observables(raw, obs_rows)
    elif obs_rows:
        copy_rows(db, Observable.__table__, ("kind", "value", "object_seq", "object_id"), obs_rows)
    index_versions(db, docs)
    settle_versions(
        db, inserted=inserted, attempted=attempted, docs=docs, recipients=recipients, held_ids=held_ids,
        collection_ids=collection_ids, result=result, clock=clock,
    )  # fmt: skip


def observable_rows(
    inserted: Sequence[tuple[int, str, str]],
    docs: Sequence[tuple[int, dict[str, Any]]],
    given: Mapping[tuple[str, str], Sequence[tuple[str, str]]] | None = None,
) -> list[tuple[str, str, int, str]]:
    """The observable index rows (kind, value, seq, id) of the versions ``inserted``; ``given``
    holds, by (id, modified), those their producer stated (``ObjectFacts.observables``: the
    atoms a converter wrote into a pattern, not parsed back here), the same pairs in the same order."""
    if not given:
        return [
            (kind, value, seq, oid)
            for (seq, oid, _), (_, body) in zip(inserted, docs, strict=True)
            for kind, value in set(extract_observables(body))
        ]
    rows: list[tuple[str, str, int, str]] = []
    for (seq, oid, modified), (_, body) in zip(inserted, docs, strict=True):
        stated = given.get((oid, modified))
        pairs = stated if stated is not None else extract_observables(body)
        rows.extend((kind, value, seq, oid) for kind, value in set(pairs))
    return rows


def write_sqlite_observables(raw: Any, rows: Sequence[tuple[str, str, int, str]]) -> None:
    """SQLite: observable rows through the driver cursor ``raw``, many a statement
    (``colsec.store.sqlbulk``: a statement per row hands the GIL back and forth per row while
    the import's main thread runs).  The value column bounds a statement's bytes."""
    insert_values(raw, _SQLITE_OBSERVABLES, rows, size_at=1)


def settle_versions(
    db: Session,
    *,
    inserted: list[tuple[int, str, str]],
    attempted: list[tuple[str, str]],
    docs: Sequence[tuple[int, dict[str, Any]]],
    recipients: dict[tuple[str, str], set[int]],
    held_ids: set[str],
    collection_ids: Sequence[str],
    result: ImportResult,
    clock: Clock | None = None,
) -> None:
    """What follows the rows of the versions ``inserted`` (their index rows already written): the
    counts, latest flags, superseded index rows, collections and recipients (``docs`` are the
    inserted versions' (seq, body))."""
    result.inserted += len(inserted)
    result.unchanged += len(attempted) - len(inserted)
    new_seqs = [seq for seq, _, _ in inserted]
    result.pending_seqs.extend(new_seqs)
    if len(result.inserted_ids) < 100_000:
        result.inserted_ids.extend(oid for _, oid, _ in inserted[: 100_000 - len(result.inserted_ids)])
    result.by_type.update(body["type"] for _, body in docs)
    recipient_rows = [
        {"object_seq": seq, "organisation_id": o}
        for seq, oid, modified in inserted
        for o in sorted(recipients.get((oid, modified)) or ())
    ]
    run = db.info.get(EXERCISE_RUN)
    if run and new_seqs:  # written while an exercise inject is delivered: the run's, not real
        db.execute(update(StixObject).where(StixObject.seq.in_(new_seqs)).values(exercise_run_id=run[0]))
    multi = [oid for oid in {r[1] for r in inserted} if oid in held_ids] + [
        oid for oid, n in Counter(r[1] for r in inserted).items() if n > 1
    ]
    if multi:
        fix_latest(db, multi)
        drop_superseded(db, multi)
    # A new version joins every collection its earlier versions are in, whether or not the caller
    # named collections: readers of each then see its revocations and updates (a version posted
    # over TAXII into one collection reaches the others that hold the object too).
    inherit_collections(db, [(seq, oid) for seq, oid, _ in inserted if oid in held_ids])
    if collection_ids:
        join_new_versions(db, ((c, s) for c in collection_ids for s in new_seqs))
        if len(inserted) < len(attempted):  # already-known versions join the collection too, as of now
            stored = {(oid, modified) for _, oid, modified in inserted}
            wanted = {k for k in attempted if k not in stored}
            known = [
                s
                for s, i, m in db.execute(
                    select(StixObject.seq, StixObject.id, StixObject.modified).where(
                        StixObject.id.in_(list({k[0] for k in wanted}))
                    )
                ).all()
                if (i, m) in wanted
            ]
            if known:
                if clock is None:
                    raise ValueError("versions stored before join a collection only with the unit's clock")
                join_known_versions(db, ((c, s) for c in collection_ids for s in known), clock)
    if recipient_rows:
        db.execute(insert(ObjectRecipient), recipient_rows)


def indexed_body(body_obj: dict[str, Any]) -> dict[str, Any]:
    """What the rows beside a version read of it (this module's): not the
    object_refs of a report or grouping, which are neither observables nor searchable words."""
    if body_obj.get("type") in ("report", "grouping") and "object_refs" in body_obj:
        return {k: v for k, v in body_obj.items() if k != "object_refs"}
    return body_obj
