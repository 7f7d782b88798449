"""Large fetches on SQLite take turns (no per-row GIL convoy between reader threads)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import event, text

from colsec.db import Database, fetch_rows


def test_sqlite_bulk_fetches_do_not_interleave(sqlite_database: Database) -> None:
    calls: dict[int, list[float]] = {}

    @event.listens_for(sqlite_database.engine, "connect")
    def _register(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        def row_work(x: int) -> int:
            calls.setdefault(threading.get_ident(), []).append(time.perf_counter())
            time.sleep(0.001)  # gives other readers every chance to interleave
            return x

        dbapi_conn.create_function("row_work", 1, row_work)

    sqlite_database.engine.dispose()  # new connections get the function
    stmt = text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20) SELECT row_work(i) FROM n"
    )

    def reader() -> None:
        with sqlite_database.unit_of_work(write=False) as s:
            assert [r[0] for r in fetch_rows(s, stmt)] == list(range(1, 21))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    spans = sorted((min(v), max(v)) for v in calls.values())
    assert len(spans) == 4
    # one reader's rows are all produced before the next reader's first row
    assert all(prev_end < start for (_, prev_end), (start, _) in zip(spans, spans[1:], strict=False)), spans
