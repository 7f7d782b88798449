"""``Database.raw_read``: the read units of the hot TAXII reads, on both backends.

PostgreSQL's raw-read pool takes connections without a pre-ping: a pooled connection the
server ended must cost a retry, never an error.  Its units run in autocommit, so a unit leaves
no transaction open and psycopg keeps the statements it prepared.  SQLite's unit is one
read transaction, rolled back when the connection goes back to the pool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, text

from colsec.db import Database, ReadUnit


def _one(unit: ReadUnit, sql: str) -> Any:
    cur = unit.cursor()
    try:
        cur.execute(sql)
        return cur.fetchone()[0]
    finally:
        cur.close()


def test_a_unit_reads_and_leaves_nothing_open(database: Database) -> None:
    assert database.raw_read(lambda unit: _one(unit, "SELECT 41 + 1")) == 42
    if database.sqlite:
        assert database.raw_read(lambda unit: unit._conn.in_transaction) is True
        return
    # Autocommit: no transaction around the statements, none left behind.
    status = database.raw_read(lambda unit: unit._conn.info.transaction_status.name)
    assert status == "IDLE"


def test_postgres_statements_stay_prepared_across_units(database: Database) -> None:
    if database.sqlite:
        pytest.skip("psycopg's prepared statements only")
    for _ in range(8):  # psycopg prepares a statement from its 5th run on a connection
        database.raw_read(lambda unit: _one(unit, "SELECT count(*) FROM pg_class WHERE relkind = 'r'"))
    prepared = database.raw_read(
        lambda unit: _one(
            unit, "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%relkind%'"
        )
    )
    assert prepared >= 1


def test_postgres_a_connection_the_server_ended_is_replaced(database: Database) -> None:
    if database.sqlite:
        pytest.skip("PostgreSQL connections only")
    pid = database.raw_read(lambda unit: _one(unit, "SELECT pg_backend_pid()"))
    with database.engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.commit()
    # The pool hands out the dead connection first (no pre-ping); the unit retries on a new one.
    after = database.raw_read(lambda unit: _one(unit, "SELECT pg_backend_pid()"))
    assert after != pid
    # A failure that is not a lost connection is not retried.
    with pytest.raises(Exception, match="no_such_table"):
        database.raw_read(lambda unit: _one(unit, "SELECT * FROM no_such_table"))


def test_postgres_raw_read_pool_holds_the_configured_connections(database: Database) -> None:
    """``pg_read_pool_size`` bounds the server connections the raw reads of one process open:
    more concurrent reads than that wait their turn instead of opening more."""
    if database.sqlite:
        pytest.skip("SQLite reads on the main pool")
    import threading
    import time

    from sqlalchemy import event

    small = Database(database.url, pg_read_pool_size=2)
    opened: list[int] = []
    event.listen(small._raw_engine, "connect", lambda *_: opened.append(1))
    pids: set[int] = set()
    done: list[int] = []  # a read left waiting in the pool's queue (a parked connection) never ends

    def read(unit: ReadUnit) -> None:
        time.sleep(0.05)  # the reads overlap
        pids.add(_one(unit, "SELECT pg_backend_pid()"))
        done.append(1)

    try:
        threads = [threading.Thread(target=small.raw_read, args=(read,)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert len(done) == 8
        assert len(pids) == len(opened) == 2
    finally:
        small.dispose()


def test_raw_read_pool_size_comes_from_the_settings_and_is_refused_out_of_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pydantic import ValidationError

    from colsec.db import DEFAULT_PG_READ_POOL_SIZE, REQUEST_THREADS
    from colsec.settings import Settings

    assert Settings().pg_read_pool_size == DEFAULT_PG_READ_POOL_SIZE == REQUEST_THREADS // 8
    monkeypatch.setenv("COLSEC_PG_READ_POOL_SIZE", "3")
    assert Settings().pg_read_pool_size == 3
    for bad in ("0", str(REQUEST_THREADS + 1), "many"):
        monkeypatch.setenv("COLSEC_PG_READ_POOL_SIZE", bad)
        with pytest.raises(ValidationError, match="pg_read_pool_size"):
            Settings()
    from typer.testing import CliRunner

    from colsec.cli import app

    refused = CliRunner().invoke(
        app, ["jobs", "list"], env={"COLSEC_PG_READ_POOL_SIZE": "0", "COLUMNS": "200"}
    )
    assert refused.exit_code == 2 and "COLSEC_PG_READ_POOL_SIZE: Input should be greater" in refused.output
    assert "Traceback" not in refused.output
    with pytest.raises(ValueError, match="pg_read_pool_size must be 1 to"):
        Database("postgresql+psycopg://colsec@127.0.0.1/none", pg_read_pool_size=0)


def test_units_keep_their_connection_and_end_their_transaction(
    database: Database, make_account: Callable[..., Any]
) -> None:
    """Consecutive units reuse one connection without a pool checkout, and none reads a stale snapshot."""
    checkouts: list[object] = []

    def counted(*_: object) -> None:
        checkouts.append(1)

    users = "SELECT count(*) FROM user_account"
    first = database.raw_read(lambda unit: id(unit._conn))
    before = database.raw_read(lambda unit: _one(unit, users))
    make_account(org="UNIT-ORG")  # a commit between two units
    pool = database._raw_engine.pool
    event.listen(pool, "checkout", counted)
    try:
        for _ in range(5):
            assert database.raw_read(lambda unit: id(unit._conn)) == first
        assert database.raw_read(lambda unit: _one(unit, users)) == before + 1
    finally:
        event.remove(pool, "checkout", counted)
    assert checkouts == []
    if database.sqlite:  # the unit's read transaction ended with it
        assert all(not conn.driver_connection.in_transaction for conn in database._raw_idle)


def test_a_small_unit_never_waits_for_a_bulk_read(database: Database) -> None:
    """A small unit (an object by id, read on the event loop) takes no turn in the SQLite lock that
    keeps large fetches from convoying; a unit that is not small still does."""
    import threading

    from colsec.db import _SQLITE_BULK_READ, RawQuery, fetch_raw

    if not database.sqlite:
        pytest.skip("the lock is SQLite's")
    query = RawQuery("SELECT 41 + 1", None, {})
    answers: list[Any] = []

    def read(small: bool) -> None:
        answers.append(database.raw_read(lambda unit: fetch_raw(unit, query, {}), small=small))

    with _SQLITE_BULK_READ:  # a bulk read in progress elsewhere
        small = threading.Thread(target=read, args=(True,))
        small.start()
        small.join(10)
        assert answers == [[(42,)]]
        bulk = threading.Thread(target=read, args=(False,))
        bulk.start()
        bulk.join(0.3)
        assert bulk.is_alive()  # waits its turn
    bulk.join(10)
    assert answers == [[(42,)], [(42,)]]
