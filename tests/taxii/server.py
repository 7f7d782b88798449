"""A real colsec node for interoperability tests: a uvicorn process on 127.0.0.1 over a temp SQLite db.

Plain functions (no pytest) so other suites and benchmarks can reuse them:

    node = run_node(tmp_path)                      # migrated db, ORG-A analyst, one open collection
    node.accounts["analyst"].token                 # Basic (username, token) or Bearer
    node.add_account("peer", org="ORG-B")          # more accounts while the server runs
    node.add_collection("private", can_read=["ORG-A"], can_write=["ORG-A"])
    node.stop()
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from colsec.accounts import service as accounts
from colsec.accounts.models import Organisation
from colsec.accounts.roles import SYSTEM, Role
from colsec.db import Database
from colsec.migrations import upgrade
from colsec.taxii import service as taxii
from loopback import LOOPBACK_ENV

__all__ = [
    "Credentials",
    "Node",
    "create_account",
    "free_port",
    "prepare_database",
    "prepare_postgres_schema",
    "run_node",
    "start_uvicorn",
]


# How long a node may take to answer its first request: a readiness wait, not a speed check; a
# loaded CI machine (parallel test workers, each starting servers) needs well over a minute at times.
STARTUP_SECONDS = 180


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Credentials:
    username: str
    token: str
    org: str
    role: str

    @property
    def auth(self) -> tuple[str, str]:
        """HTTP Basic pair (username, token), as taxii2-client and httpx take it."""
        return (self.username, self.token)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def prepare_database(path: Path) -> str:
    """Create and migrate a SQLite database; returns its URL."""
    url = f"sqlite:///{path}"
    database = Database(url)
    upgrade(database.engine)
    database.dispose()
    return url


def _org(s: Session, short: str, kind: str) -> Organisation:
    org = s.execute(select(Organisation).where(Organisation.short_name == short)).scalar_one_or_none()
    if org is None:
        org = accounts.create_organisation(
            s, actor=SYSTEM, name=f"{short} agency", short_name=short, kind=kind
        )
    return org


def create_account(
    database: Database,
    username: str,
    *,
    org: str = "ORG-A",
    role: Role | str = Role.ANALYST,
    kind: str = "member",
) -> Credentials:
    with database.unit_of_work() as s:
        o = _org(s, org, kind)
        user = accounts.create_user(s, actor=SYSTEM, username=username, password=None, role=role, org=o)
        token = accounts.create_token(s, actor=SYSTEM, user=user, name="taxii-test")
    return Credentials(username=username, token=token, org=org, role=str(Role(role).value))


def start_uvicorn(database_url: str, data_dir: Path, *, port: int | None = None, workers: int = 1,
                  extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], int]:  # fmt: skip
    """Start ``uvicorn colsec.web.app:create_app --factory`` and wait until it answers."""
    port = port or free_port()
    env = {
        **os.environ,
        "COLSEC_DATABASE_URL": database_url,
        "COLSEC_DATA_DIR": str(data_dir),
        "COLSEC_SECRET_KEY": "taxii-test-secret-key",
        **LOOPBACK_ENV,  # its peers are local servers too
        **(extra_env or {}),
    }
    log_path = data_dir / f"uvicorn-{port}.log"
    cmd = [sys.executable, "-m", "uvicorn", "colsec.web.app:create_app", "--factory",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--workers", str(workers)]  # fmt: skip
    with log_path.open("wb") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited early; see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process, port
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    process.wait(30)  # reaped here: a Popen left running warns in a later, unrelated test
    raise RuntimeError(f"uvicorn did not start within {STARTUP_SECONDS} s; see {log_path}")


@dataclass
class Node:
    process: subprocess.Popen[bytes]
    port: int
    database_url: str
    folder: Path
    accounts: dict[str, Credentials] = field(default_factory=dict)
    collections: dict[str, str] = field(default_factory=dict)  # title -> id
    _database: Database | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def discovery_url(self) -> str:
        return f"{self.base_url}taxii2/"

    def root_url(self, root: str = taxii.DEFAULT_ROOT) -> str:
        return f"{self.base_url}taxii2/{root}/"

    def collection_url(self, title: str = "shared", root: str = taxii.DEFAULT_ROOT) -> str:
        return f"{self.root_url(root)}collections/{self.collections[title]}/"

    @property
    def database(self) -> Database:
        if self._database is None:
            self._database = Database(self.database_url)
        return self._database

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.database.unit_of_work() as s:
            yield s

    def add_account(self, username: str, *, org: str = "ORG-A", role: Role | str = Role.ANALYST,
                    kind: str = "member") -> Credentials:  # fmt: skip
        creds = create_account(self.database, username, org=org, role=role, kind=kind)
        self.accounts[username] = creds
        return creds

    def add_collection(self, title: str, *, can_read: Sequence[str] = ("*",), can_write: Sequence[str] = ("*",),
                       api_root: str = taxii.DEFAULT_ROOT, collection_id: str | None = None) -> str:  # fmt: skip
        with self.session() as s:
            coll = taxii.create_collection(
                s, actor=SYSTEM, title=title, api_root=api_root, can_read=can_read, can_write=can_write,
                collection_id=collection_id,
            )  # fmt: skip
            cid = coll.id
        self.collections[title] = cid
        return cid

    def stop(self) -> None:
        if self._database is not None:
            self._database.dispose()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def prepare_postgres_schema(admin_url: str) -> tuple[str, Callable[[], None]]:
    """A new, migrated PostgreSQL schema; returns its URL and a function that drops it."""
    schema = f"taxii_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in admin_url else "?"
    url = f"{admin_url}{sep}options=-csearch_path%3D{schema}"
    database = Database(url)
    upgrade(database.engine)
    database.dispose()

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return url, drop


def run_node(folder: Path, *, database_url: str | None = None, workers: int = 1,
             extra_env: dict[str, str] | None = None, seed: bool | None = None) -> Node:  # fmt: skip
    """A running node with account ``analyst`` (ORG-A) and collection ``shared`` (everyone reads and writes).

    Pass ``database_url`` to serve an existing, already migrated database (not seeded
    unless ``seed=True``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    fresh = database_url is None if seed is None else seed
    url = database_url or prepare_database(folder / "colsec.db")
    process, port = start_uvicorn(url, folder, workers=workers, extra_env=extra_env)
    node = Node(process=process, port=port, database_url=url, folder=folder)
    if fresh:
        node.add_account("analyst", org="ORG-A")
        node.add_collection("shared")
    return node
