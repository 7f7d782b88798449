"""Planner statistics for the benches' bulk-loaded stores, made to persist and checked.

A bench that writes its rows by executemany must leave the planner the statistics a live node
would have (autovacuum's ANALYZE), else its queries are measured on guessed plans.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def analyze(database: Any, tables: Sequence[str]) -> dict[str, int]:
    """Planner statistics that persist; on PostgreSQL also the visibility map index-only scans
    need (what autovacuum does on a live node after a bulk load).

    On the driver's own connection, not a SQLAlchemy ``Connection``: on SQLite the node's begin
    hook (``colsec.db``) opens a transaction even under ``AUTOCOMMIT``, and closing the
    connection rolled ``ANALYZE`` back, so the measured queries ran without statistics.
    Refuses to go on unless the statistics are then on record.
    """
    raw = database.engine.raw_connection()
    try:
        driver = raw.driver_connection
        if database.sqlite:
            driver.execute("ANALYZE")  # isolation_level None (colsec.db): the statement commits itself
        else:
            driver.rollback()  # autocommit can only be switched outside a transaction
            driver.autocommit = True
            try:
                driver.execute("VACUUM ANALYZE")
            finally:
                driver.autocommit = False
    finally:
        raw.close()
    found = statistics_on_record(database, tables)
    missing = [table for table, n in found.items() if not n]
    if missing:
        raise SystemExit(f"planner statistics missing after ANALYZE for {', '.join(missing)}")
    return found


def statistics_on_record(database: Any, tables: Sequence[str]) -> dict[str, int]:
    """Rows of planner statistics per table (``sqlite_stat1`` indexes, ``pg_stats`` columns)."""
    with database.engine.connect() as conn:
        if database.sqlite:
            if (
                conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first()
                is None
            ):
                return dict.fromkeys(tables, 0)
            rows = conn.exec_driver_sql("SELECT tbl, count(*) FROM sqlite_stat1 GROUP BY tbl").all()
        else:
            rows = conn.exec_driver_sql(
                "SELECT tablename, count(*) FROM pg_stats WHERE schemaname = current_schema() GROUP BY tablename"
            ).all()
    counts = {str(table): int(n) for table, n in rows}
    return {table: counts.get(table, 0) for table in tables}
