"""Keeping the full-text index (``search_doc``) to the latest versions, and the link index
(``object_link``) of relationships and sightings, inside the write's transaction.

Called by the write gate only (``colsec.store.service``): a version is indexed as it is stored
and its superseded predecessors leave the index in the same statement group, so a search never
finds an object by words it no longer carries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from colsec.fulltext import document_terms
from colsec.store.models import ObjectLink, SearchDoc, StixObject
from colsec.store.rows import copy_rows, sqlite_cursor

__all__ = ["LINK_KEYS", "drop_superseded", "index_versions"]

_SQLITE_INSERT = "INSERT INTO search_doc (seq, terms) VALUES (?, ?)"
# search_fts is an external-content FTS5 table over search_doc; its rows are inserted here rather
# than by a trigger (a trigger's savepoint makes FTS5 write one segment per row: the
# fts_direct_insert migration has the measurements).  Delete and update triggers remain.
_SQLITE_FTS = "INSERT INTO search_fts (rowid, terms) VALUES (?, ?)"
_SQLITE_LINKS = "INSERT INTO object_link (ref_id, seq) VALUES (?, ?)"
LINK_KEYS = ("source_ref", "target_ref", "sighting_of_ref")  # what an object page lists as related


def index_versions(db: Session, versions: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
    """Index new versions given as (seq, body): their words, and the ids a relationship or sighting names."""
    if not versions:
        return
    links = sorted(
        {
            (body[k], seq)
            for seq, body in versions
            if body.get("type") in ("relationship", "sighting")
            for k in LINK_KEYS
            if isinstance(body.get(k), str) and len(body[k]) <= 120
        }
    )
    raw = sqlite_cursor(db)
    if raw is not None:
        rows = [(seq, document_terms(body)) for seq, body in versions]
        raw.executemany(_SQLITE_INSERT, rows)
        raw.executemany(_SQLITE_FTS, rows)
        if links:
            raw.executemany(_SQLITE_LINKS, links)
    else:
        # The terms are made as COPY streams them: the server indexes one buffer's rows (its
        # tsvector and GIN work) while the next buffer's words are stemmed here.
        copy_rows(
            db, SearchDoc.__table__, ("seq", "terms"), ((seq, document_terms(body)) for seq, body in versions)
        )
        if links:
            copy_rows(db, ObjectLink.__table__, ("ref_id", "seq"), links)


def drop_superseded(db: Session, ids: Sequence[str]) -> None:
    """Remove the index rows of versions of ``ids`` that are no longer the latest."""
    for i in range(0, len(ids), 500):
        chunk = list(ids[i : i + 500])
        old = select(StixObject.seq).where(StixObject.id.in_(chunk), StixObject.is_latest.is_(False))
        db.execute(delete(SearchDoc).where(SearchDoc.seq.in_(old)))
