"""Planner statistics for the tables an import writes, refreshed after a large import.

PostgreSQL plans with the statistics ``ANALYZE`` gathers; until autovacuum gets to a freshly
filled table, a TAXII GET by id was measured scanning a whole index (0.33 of 0.48 ms).  The
refresh runs as a background job (``colsec.jobs.statistics``), never in the import's
transaction nor on a request.  SQLite is left alone: ``EXPLAIN QUERY PLAN`` of the TAXII by-id
and page queries is the same with and without ``ANALYZE`` (its planner trusts the indexes).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from colsec.db import is_sqlite

__all__ = ["ANALYZE_AFTER", "WRITTEN_TABLES", "analyze_written", "wants_analyze"]

ANALYZE_AFTER = 10_000  # new versions in one import: below it autovacuum's own pace is enough

# Every table the write gate fills beside the versions (colsec.store.companions, textindex).
WRITTEN_TABLES = (
    "stix_object",
    "observable",
    "search_doc",
    "object_link",
    "object_recipient",
    "collection_object",
)


def wants_analyze(db: Session, new_versions: int) -> bool:
    """Whether an import that created ``new_versions`` versions should refresh the statistics."""
    return new_versions >= ANALYZE_AFTER and not is_sqlite(db)


def analyze_written(db: Session) -> list[str]:
    """Refresh the statistics of the written tables (a no-op on SQLite); the tables analysed."""
    if is_sqlite(db):
        return []
    for table in WRITTEN_TABLES:
        db.execute(text(f"ANALYZE {table}"))  # names from the constant above, never from input
    return list(WRITTEN_TABLES)
