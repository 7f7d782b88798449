"""Keeping the full-text index (``search_doc``) to the latest versions, inside the write's transaction.

Called by the write gate only (``colsec.store.service``): a version is indexed as it is stored
and its superseded predecessors leave the index in the same statement group, so a search never
finds an object by words it no longer carries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from colsec.fulltext import document_terms
from colsec.store.models import SearchDoc, StixObject
from colsec.store.rows import sqlite_cursor

__all__ = ["drop_superseded", "index_versions"]

_SQLITE_INSERT = "INSERT INTO search_doc (seq, terms) VALUES (?, ?)"


def index_versions(db: Session, versions: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
    """Index new versions given as (seq, body)."""
    rows = [(seq, document_terms(body)) for seq, body in versions]
    if not rows:
        return
    raw = sqlite_cursor(db)
    if raw is not None:
        raw.executemany(_SQLITE_INSERT, rows)
    else:
        db.execute(insert(SearchDoc), [{"seq": s, "terms": t} for s, t in rows])


def drop_superseded(db: Session, ids: Sequence[str]) -> None:
    """Remove the index rows of versions of ``ids`` that are no longer the latest."""
    for i in range(0, len(ids), 500):
        chunk = list(ids[i : i + 500])
        old = select(StixObject.seq).where(StixObject.id.in_(chunk), StixObject.is_latest.is_(False))
        db.execute(delete(SearchDoc).where(SearchDoc.seq.in_(old)))
