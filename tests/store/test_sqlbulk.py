"""Many rows a statement (``colsec.store.sqlbulk``) store what one statement per row stores."""

from __future__ import annotations

import sqlite3

import pytest

from colsec.store import sqlbulk
from colsec.store.sqlbulk import MAX_ROWS, insert_values

_SCHEMA = (
    "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL, w INTEGER)",
    "CREATE TABLE tally (v TEXT PRIMARY KEY, n INTEGER NOT NULL)",
    "CREATE TRIGGER t_ai AFTER INSERT ON t WHEN new.w IS NOT NULL BEGIN "
    "INSERT INTO tally (v, n) VALUES (new.v, 1) ON CONFLICT (v) DO UPDATE SET n = n + 1; END",
)


def _table() -> sqlite3.Connection:
    con = sqlite3.connect(":memory:")
    for statement in _SCHEMA:
        con.execute(statement)
    con.execute("INSERT INTO t VALUES (5, 'x', 1), (1700, 'y', NULL)")  # conflicts for the rows below
    return con


@pytest.mark.parametrize("n", [0, 1, MAX_ROWS, 2 * MAX_ROWS + 7])
def test_rows_and_trigger_effects_equal_one_statement_a_row(n: int) -> None:
    rows = [(k, f"v{k % 13}", None if k % 4 == 0 else k) for k in range(1, n + 1)]
    bulk, single = _table(), _table()
    cur = bulk.cursor()
    inserted = insert_values(cur, "INSERT INTO t (k, v, w) VALUES", rows, "ON CONFLICT (k) DO NOTHING")
    one = single.cursor()
    one.executemany("INSERT INTO t (k, v, w) VALUES (?, ?, ?) ON CONFLICT (k) DO NOTHING", rows)
    assert inserted == (one.rowcount if n else 0) == n - (n >= 5) - (n >= 1700)
    for query in ("SELECT * FROM t ORDER BY k", "SELECT * FROM tally ORDER BY v"):
        assert bulk.execute(query).fetchall() == single.execute(query).fetchall()


def test_a_refused_row_refuses_its_statement() -> None:
    con = _table()
    with pytest.raises(sqlite3.IntegrityError):
        insert_values(con.cursor(), "INSERT INTO t (k, v, w) VALUES", [(10, "a", 1), (11, None, 1)])


class _Counted:
    """The driver's cursor, counting the statements run through it."""

    def __init__(self, cur: sqlite3.Cursor) -> None:
        self.cur, self.connection, self.statements = cur, cur.connection, 0

    def execute(self, sql: str, params: list[object]) -> None:
        self.statements += 1
        self.cur.execute(sql, params)

    @property
    def rowcount(self) -> int:
        return self.cur.rowcount


def test_chunks_bounded_in_bytes_store_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlbulk, "MAX_BYTES", 100)
    rows = [(k, "v" * (k * 7 % 150), k) for k in range(1, 60)]  # some rows alone pass the bound
    bulk, single = _table(), _table()
    cur = _Counted(bulk.cursor())
    inserted = insert_values(
        cur, "INSERT INTO t (k, v, w) VALUES", rows, "ON CONFLICT (k) DO NOTHING", size_at=1
    )
    single.executemany("INSERT INTO t (k, v, w) VALUES (?, ?, ?) ON CONFLICT (k) DO NOTHING", rows)
    assert inserted == len(rows) - 1  # k = 5 was stored before
    assert 1 < cur.statements < len(rows)
    for query in ("SELECT * FROM t ORDER BY k", "SELECT * FROM tally ORDER BY v"):
        assert bulk.execute(query).fetchall() == single.execute(query).fetchall()
