"""Shared fixtures: migrated databases (SQLite always, PostgreSQL when configured), app, users.

The ``database`` fixture is parametrised over backends; PostgreSQL runs when
``COLSEC_TEST_DATABASE_URL`` is set (CI sets it).  Each pytest process gets its
own PostgreSQL schema so parallel runs never collide; each test starts from
empty tables.
"""

from __future__ import annotations

import functools
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from colsec.accounts import service as accounts
from colsec.accounts.models import Organisation, User
from colsec.accounts.passwords import hash_password
from colsec.accounts.roles import SYSTEM, Actor, Role
from colsec.db import Database
from colsec.migrations import upgrade
from colsec.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA_CANDIDATES = [REPO.parent / "shared" / "data"]
PG_URL = os.environ.get("COLSEC_TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    for cand in SHARED_DATA_CANDIDATES:
        if cand.is_dir():
            return cand
    pytest.skip("shared data folder (../shared/data) is absent")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database.engine)
    database.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str | None]:
    if not PG_URL:
        yield None
        return
    schema = f"t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    database = Database(url)
    upgrade(database.engine)
    database.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _truncate_pg(database: Database) -> None:
    """Empty every table and restart every sequence, as ``TRUNCATE ... RESTART IDENTITY`` of all tables
    would; but TRUNCATE gives each of the 80 tables and their indexes new files (about a third of a
    second, several under load, per PostgreSQL test), while a test writes to a handful of tables.
    So only the tables that hold rows are emptied (DELETE, foreign-key triggers off: every table
    with rows goes, so no reference is left dangling) and only the sequences that were used restart
    (``setval``), leaving the same state: empty tables, sequences at their start."""
    with database.engine.begin() as conn:
        existing = [
            r[0]
            for r in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
            if r[0] != "alembic_version"
        ]
        if not existing:
            return
        probe = " UNION ALL ".join(f"(SELECT '{n}' FROM \"{n}\" LIMIT 1)" for n in existing)
        filled = [r[0] for r in conn.execute(text(probe))]
        if filled:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for name in filled:
                conn.execute(text(f'DELETE FROM "{name}"'))
        conn.execute(
            text(
                "SELECT setval(format('%I.%I', s.schemaname, s.sequencename), s.start_value, false)"
                " FROM pg_sequences s JOIN pg_class c ON c.relname = s.sequencename"
                " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname"
                " JOIN pg_depend d ON d.objid = c.oid AND d.deptype IN ('a', 'i')"
                " AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass"
                " JOIN pg_class t ON t.oid = d.refobjid AND t.relname <> 'alembic_version'"
                " WHERE s.schemaname = current_schema() AND s.last_value IS NOT NULL"
            )
        )


def _backend_params() -> list[object]:
    return ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=_backend_params())
def database(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    if request.param == "postgres":
        url = request.getfixturevalue("pg_schema_url")
        if url is None:
            pytest.skip("COLSEC_TEST_DATABASE_URL not set: PostgreSQL variant skipped")
        database = Database(url)
        _truncate_pg(database)
    else:
        path = tmp_path / "colsec.db"
        shutil.copy(sqlite_template, path)
        database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture
def sqlite_database(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """SQLite only, for tests that are about the process (CLI, crash) rather than the backend."""
    path = tmp_path / "colsec.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture
def db(database: Database) -> Iterator[Session]:
    session = database.session(write=True)
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def settings(tmp_path: Path, database: Database) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", database_url=database.url, secret_key="test-secret-key-not-for-production"
    )


@pytest.fixture
def app(settings: Settings, database: Database):  # type: ignore[no-untyped-def]
    from colsec.web.app import create_app

    return create_app(settings, database=database)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c


@dataclass
class Account:
    user: User
    org: Organisation
    actor: Actor
    token: str
    password: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


ACCOUNT_PASSWORD = "correct horse battery"


@functools.cache
def _account_password_hash() -> str:
    """One argon2id hash of ACCOUNT_PASSWORD per test process: hashing costs a fifth of a CPU second
    by design, and the suite creates thousands of accounts. Every account still logs in through the
    real verification of a real hash; only the salt is shared between test accounts."""
    return hash_password(ACCOUNT_PASSWORD)


@pytest.fixture
def make_account(database: Database) -> Callable[..., Account]:
    """Create (org if needed) + user + token, committed; returns an Account."""
    counter = {"n": 0}

    def make(
        role: Role | str = Role.ANALYST, org: str = "ORG-A", kind: str = "member", operator: bool = False
    ) -> Account:
        counter["n"] += 1
        with database.unit_of_work() as s:
            o = s.query(Organisation).filter_by(short_name=org).one_or_none()
            if o is None:
                o = accounts.create_organisation(
                    s, actor=SYSTEM, name=f"{org} agency", short_name=org, kind=kind
                )
            password = ACCOUNT_PASSWORD
            u = accounts.create_user(
                s,
                actor=SYSTEM,
                username=f"{org.lower()}-{Role(role).value}-{counter['n']}",
                password=None,
                role=role,
                org=o,
            )
            u.password_hash = _account_password_hash()  # the real argon2id hash, computed once
            if operator:  # the node operator: an admin who manages every organisation
                accounts.set_node_operator(s, actor=SYSTEM, user=u, operator=True)
            token = accounts.create_token(s, actor=SYSTEM, user=u)
            actor = accounts.actor_for(s, u)
        return Account(user=u, org=o, actor=actor, token=token, password=password)

    return make


@pytest.fixture
def run_jobs(app) -> Callable[[], int]:  # type: ignore[no-untyped-def]
    """Drain the job queue now with the app's node (an app around an injected database runs no
    worker of its own)."""
    runner = app.state.node.job_runner(schedules=())
    return runner.run_once  # type: ignore[no-any-return]
