"""UI fixtures: a database holding the demo alliance, an app on it, and a logged-in client helper."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from colsec.db import Database
from colsec.demo import DEMO_PASSWORD, build_demo
from colsec.intel.hooks import IntelConfig
from colsec.node import demo_extensions
from colsec.settings import Settings

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def demo_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    with database.unit_of_work() as db:
        build_demo(db, extensions=demo_extensions(IntelConfig()))
    database.dispose()
    return path


@pytest.fixture
def demo_database(tmp_path: Path, demo_template: Path) -> Iterator[Database]:
    path = tmp_path / "colsec.db"
    shutil.copy(demo_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture
def ui_settings(tmp_path: Path, demo_database: Database) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=demo_database.url,
        secret_key="ui-test-secret-key-not-for-production",
        login_max_failures=3,
        login_backoff_base_seconds=60.0,  # throttled keys stay throttled for the whole test
    )


@pytest.fixture
def ui_app(ui_settings: Settings, demo_database: Database):  # type: ignore[no-untyped-def]
    from colsec.web.app import create_app

    return create_app(ui_settings, database=demo_database)


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "page has no CSRF field"
    return m.group(1)


def login(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> TestClient:
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"csrf_token": csrf_of(page.text), "username": username, "password": password, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    return client


@pytest.fixture
def ui_client(ui_app) -> Iterator[Callable[..., TestClient]]:  # type: ignore[no-untyped-def]
    """A factory of independent clients (separate cookie jars) on one app."""
    clients: list[TestClient] = []

    def make(username: str | None = None, **headers: str) -> TestClient:
        c = TestClient(ui_app, headers=headers or None)
        c.__enter__()
        clients.append(c)
        return login(c, username) if username else c

    yield make
    for c in clients:
        c.__exit__(None, None, None)
