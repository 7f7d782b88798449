"""Engines, sessions and the unit-of-work helpers.

SQLite runs in WAL mode; write transactions start with ``BEGIN IMMEDIATE`` so
that two writers queue instead of failing half-way with "database is locked".
On PostgreSQL, writers that assign ``seq``/``date_added`` take one advisory lock
so that TAXII readers paging by ``(date_added, seq)`` never see a later commit
appear behind their cursor.  Services flush; only the entry point commits.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Dialect, Engine, Executable, Row, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = [
    "Database",
    "RawQuery",
    "ReadUnit",
    "compile_raw",
    "dialect_of",
    "fetch_raw",
    "fetch_rows",
    "is_sqlite",
    "lock_for_append",
]

T = TypeVar("T")

SEQ_LOCK_KEY = 7_411_903  # arbitrary constant shared by every writer that assigns seq


def is_sqlite(bind: Engine | Session) -> bool:
    engine = bind if isinstance(bind, Engine) else bind.get_bind()
    return engine.dialect.name == "sqlite"


# Sync routes and ``run_in_threadpool`` run on anyio's default limiter of 40 threads (Starlette
# sets no other), so no more raw reads than that can run at once in one process.  Each holds its
# connection only while its thread reads, so a small pool serves them in turn; the default is
# an eighth of the threads (``Settings.pg_read_pool_size``).
REQUEST_THREADS = 40
DEFAULT_PG_READ_POOL_SIZE = REQUEST_THREADS // 8

# Per-connection SQLite memory (``Settings.sqlite_mmap_bytes`` and ``sqlite_cache_kib``).
DEFAULT_SQLITE_MMAP_BYTES = 0
DEFAULT_SQLITE_CACHE_KIB = 65_536


def _configure_sqlite(engine: Engine, *, mmap_bytes: int, cache_kib: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy drive transactions itself (pysqlite's own BEGIN handling is broken).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute(f"PRAGMA cache_size={-int(cache_kib)}")
        cur.execute(f"PRAGMA mmap_size={int(mmap_bytes)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


# pysqlite releases the GIL around every row step.  Two threads fetching large results at
# once then hand the GIL to each other on every row (a convoy): a 1,000-row page costs twice
# the CPU under concurrent readers.  Large fetches on SQLite therefore take turns; psycopg
# receives a whole result in one call and needs no such lock.
_SQLITE_BULK_READ = threading.Lock()

RAW_IDLE = 8  # connections read units keep between them (``Database._raw_checkout``)


def fetch_rows(db: Session, stmt: Executable) -> Sequence[Row[Any]]:
    """All rows of a Core statement, as plain rows (no ORM loading), fetched without GIL convoy."""
    conn = db.connection()
    if conn.dialect.name != "sqlite":
        return conn.execute(stmt).all()
    with _SQLITE_BULK_READ:
        return conn.execute(stmt).all()


@dataclass(frozen=True, slots=True)
class RawQuery:
    """A Core statement compiled once for one dialect: driver SQL, its parameter order, its fixed values.

    Hot read paths (a TAXII page, an object by id) run the same few statement shapes
    thousands of times a second; building the statement, computing its cache key and
    wrapping every row in a ``Row`` cost as much as the query itself.  A ``RawQuery``
    is built and compiled once per shape (the caller caches it) and runs on the
    session's own connection and transaction as plain driver tuples.
    """

    sql: str
    order: tuple[str, ...] | None  # positional paramstyles: the names in placeholder order
    fixed: Mapping[str, Any]  # values bound at build time (the viewer's organisation, literals)

    def bind(self, params: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        merged = {**self.fixed, **params}
        return merged if self.order is None else [merged[name] for name in self.order]


def compile_raw(stmt: ClauseElement, dialect: Dialect) -> RawQuery:
    """Compile ``stmt`` for ``dialect`` into a :class:`RawQuery` (no post-compile parameters allowed)."""
    compiled = stmt.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler):
        raise TypeError("a raw query must be a SQL statement")
    sql = compiled.string
    if "__[POSTCOMPILE" in sql:
        raise ValueError("a raw query cannot hold expanding or literal-execute parameters")
    order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup is not None else None
    return RawQuery(sql, order, dict(compiled.params))


class ReadUnit:
    """Reads on one pooled driver connection (``Database.raw_read``): no ORM session, for the hottest reads.

    A TAXII object by id is three indexed lookups (token, collection, object); an ORM
    session around them (begin and commit events, connection bookkeeping) costs more than
    the lookups.  Statements run here as :class:`RawQuery` through :func:`fetch_raw`.
    ``small``: the unit runs on the event loop (an object by id, a TAXII objects page on SQLite),
    so its statements take no turn in ``_SQLITE_BULK_READ``: the loop must never wait there.
    """

    __slots__ = ("_conn", "dialect", "small", "sqlite")

    def __init__(self, conn: Any, dialect: Dialect, *, small: bool = False) -> None:
        self._conn = conn  # the driver's own connection (sqlite3 / psycopg)
        self.dialect = dialect
        self.small = small
        self.sqlite = dialect.name == "sqlite"

    def cursor(self) -> Any:
        return self._conn.cursor()


def dialect_of(db: Session | ReadUnit) -> Dialect:
    return db.dialect if isinstance(db, ReadUnit) else db.get_bind().dialect


def fetch_raw(db: Session | ReadUnit, query: RawQuery, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Every row of ``query`` as driver tuples, in the unit's transaction (without GIL convoy on SQLite).

    A small unit's statements (a few rows by key) take no turn in ``_SQLITE_BULK_READ``.
    """
    if isinstance(db, ReadUnit):
        cursor, bulk = db.cursor(), db.sqlite and not db.small
    else:
        conn = db.connection()
        cursor, bulk = conn.connection.cursor(), conn.dialect.name == "sqlite"
    try:
        if not bulk:
            cursor.execute(query.sql, query.bind(params))
            return list(cursor.fetchall())
        with _SQLITE_BULK_READ:
            cursor.execute(query.sql, query.bind(params))
            return list(cursor.fetchall())
    finally:
        cursor.close()


class Database:
    """Owns the engine and hands out sessions; one per process.

    ``info`` is copied into every session it opens: the node's wiring (audit anchor,
    post-import steps) reaches every unit of work through it, never through a module global.
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        sqlite_mmap_bytes: int = DEFAULT_SQLITE_MMAP_BYTES,
        sqlite_cache_kib: int = DEFAULT_SQLITE_CACHE_KIB,
        pg_read_pool_size: int = DEFAULT_PG_READ_POOL_SIZE,
    ) -> None:
        if not 1 <= pg_read_pool_size <= REQUEST_THREADS:
            raise ValueError(f"pg_read_pool_size must be 1 to {REQUEST_THREADS}, not {pg_read_pool_size}")
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
                from pathlib import Path

                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            # Pooled connections: the PRAGMAs run once per connection, not once per request.
            kwargs["pool_size"] = 8
            kwargs["max_overflow"] = 16
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
        self.engine: Engine = create_engine(url, **kwargs)
        self.sqlite = self.engine.dialect.name == "sqlite"
        self._write_engine: Engine
        if self.sqlite:
            _configure_sqlite(self.engine, mmap_bytes=sqlite_mmap_bytes, cache_kib=sqlite_cache_kib)
            self._write_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        else:
            self._write_engine = self.engine
        self._raw_engine = self.engine if self.sqlite else _raw_read_engine(url, echo, pg_read_pool_size)
        self._raw_idle: list[Any] = []  # pooled connections between read units (``_raw_checkout``)
        self._read_factory = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._write_factory = sessionmaker(self._write_engine, expire_on_commit=False, autoflush=False)
        self.info: dict[str, Any] = {}

    @property
    def audit_anchor(self) -> Any:
        """The node's audit anchor (``colsec.store.audit_anchor``): audit.record pins the chain head with it."""
        return self.info.get("audit_anchor")

    def wired(self, **info: Any) -> Database:
        """The same engine and pools, with ``info`` attached to every session: how a node wires itself."""
        twin = copy.copy(self)
        twin.info = {**self.info, **info}
        return twin

    def session(self, *, write: bool = True) -> Session:
        session = (self._write_factory if write else self._read_factory)()
        session.info.update(self.info)
        return session

    @contextmanager
    def unit_of_work(self, *, write: bool = True) -> Iterator[Session]:
        """One transaction: commit when the block succeeds, roll back on any error."""
        session = self.session(write=write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def raw_read(self, fn: Callable[[ReadUnit], T], *, small: bool = False) -> T:
        """``fn`` in one :class:`ReadUnit` on a pooled driver connection; nothing it does is kept.

        SQLite: one read transaction (a snapshot across the statements), rolled back when
        the connection is handed back.  PostgreSQL: autocommit on the raw-read pool
        (``_raw_read_engine``), which hands out connections without a pre-ping round trip:
        one the server closed meanwhile (a restart) fails on first use instead, and since a
        read unit writes nothing, ``fn`` is simply run again on a fresh connection.
        ``small``: ``fn`` reads a few rows by key (``ReadUnit.small``).
        """
        for attempt in (1, 2):
            conn = self._raw_checkout()
            driver = conn.driver_connection
            try:
                if self.sqlite:
                    driver.execute("BEGIN DEFERRED")
                result = fn(ReadUnit(driver, self.engine.dialect, small=small))
            except self.engine.dialect.loaded_dbapi.Error as exc:
                if not self.engine.dialect.is_disconnect(exc, driver, None):
                    self._raw_checkin(conn, driver)
                    raise
                conn.invalidate(exc)
                self._raw_drain()  # its idle siblings most likely lost the server too
                if attempt == 2:
                    raise
                continue
            except BaseException:
                self._raw_checkin(conn, driver)
                raise
            self._raw_checkin(conn, driver)
            return result
        raise AssertionError("unreachable")

    # Read units keep up to RAW_IDLE connections checked out of the engine's pool between units:
    # a list pop and append instead of the pool's checkout and reset (queue, events, rollback
    # through the dialect), which cost a GET by id as much as its statements.
    def _raw_checkout(self) -> Any:
        try:
            return self._raw_idle.pop()
        except IndexError:
            return self._raw_engine.raw_connection()

    def _raw_checkin(self, conn: Any, driver: Any) -> None:
        try:
            if self.sqlite:
                driver.rollback()  # ends the unit's read transaction
        except self.engine.dialect.loaded_dbapi.Error as exc:
            conn.invalidate(exc)
            return
        # Parked connections stay checked out of the pool, so park only while the pool is under its
        # base size: a thread waiting in the pool's queue (every connection out) gets this one.
        pool = self._raw_engine.pool
        if len(self._raw_idle) < RAW_IDLE and pool.checkedout() < pool.size():  # type: ignore[attr-defined]
            self._raw_idle.append(conn)
        else:
            conn.close()

    def _raw_drain(self) -> None:
        while self._raw_idle:
            try:
                self._raw_idle.pop().invalidate()
            except IndexError:
                break

    def dispose(self) -> None:
        while self._raw_idle:
            try:
                self._raw_idle.pop().close()
            except IndexError:
                break
        self.engine.dispose()
        if self._raw_engine is not self.engine:
            self._raw_engine.dispose()


def _raw_read_engine(url: str, echo: bool, size: int) -> Engine:
    """PostgreSQL's pool for read units: ``size`` connections at most, autocommit, no pre-ping,
    no reset on return.

    In a transaction each statement of a read unit already sees its own snapshot (READ
    COMMITTED), so autocommit changes no answer; it saves three round trips per unit (the
    pre-ping, BEGIN and ROLLBACK) beside its one or two statements.  Without ROLLBACK
    psycopg also keeps its prepared statements (a rollback deallocates them), so the few
    hot statements are prepared once per connection.  No overflow: a read beyond ``size`` waits
    for a connection (they are held for one read), and the server sees a fixed count per process.
    """
    return create_engine(
        url,
        echo=echo,
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,
        pool_size=size,
        max_overflow=0,
    )


def lock_for_append(db: Session) -> None:
    """Serialise writers that assign seq/date_added so commit order equals seq order.

    SQLite already serialises writers (BEGIN IMMEDIATE); PostgreSQL needs a
    transaction-scoped advisory lock.
    """
    if not is_sqlite(db):
        # Keyed by schema too: separate node databases sharing one server never queue on each other.
        db.execute(text("SELECT pg_advisory_xact_lock(:k, hashtext(current_schema()))"), {"k": SEQ_LOCK_KEY})
