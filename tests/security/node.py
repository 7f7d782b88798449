"""A throwaway node for the security proofs: migrated SQLite copy, app, client, accounts per org.

Hypothesis examples and schemathesis runs need many fresh nodes inside one test, which the
function-scoped fixtures of tests/conftest.py cannot give; this builds the same thing
(Alembic-migrated template copied per node, real app, real HTTP through TestClient).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from colsec.accounts import service as accounts
from colsec.accounts.models import Organisation
from colsec.accounts.roles import SYSTEM, Actor, Role
from colsec.db import Database
from colsec.migrations import upgrade
from colsec.settings import Settings

__all__ = ["Member", "Node", "template_db"]

_TEMPLATE: dict[str, Path] = {}


def template_db() -> Path:
    """One migrated database per process, copied for every node (migrating takes ~1 s)."""
    path = _TEMPLATE.get("path")
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="colsec-sec-")) / "template.db"
        database = Database(f"sqlite:///{path}")
        upgrade(database.engine)
        database.dispose()
        _TEMPLATE["path"] = path
    return path


@dataclass
class Member:
    """One account of an organisation, with its bearer token."""

    org: str
    org_id: int
    identity_id: str
    role: Role
    username: str
    token: str
    actor: Actor

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Node:
    """A running node: its folder, database, app and HTTP client."""

    folder: Path
    database: Database
    app: Any
    client: TestClient
    members: list[Member] = field(default_factory=list)
    _n: int = 0

    schema: str | None = None

    @classmethod
    def start(cls, *, postgres: str | None = None, **settings: Any) -> Node:
        """A node on a copy of the SQLite template, or on a fresh schema of ``postgres`` (a URL)."""
        folder = Path(tempfile.mkdtemp(prefix="colsec-node-"))
        schema = None
        if postgres:
            schema = f"sec_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            admin = create_engine(postgres)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            admin.dispose()
            sep = "&" if "?" in postgres else "?"
            database = Database(f"{postgres}{sep}options=-csearch_path%3D{schema}")
            upgrade(database.engine)
        else:
            path = folder / "colsec.db"
            shutil.copy(template_db(), path)
            database = Database(f"sqlite:///{path}")
        from colsec.web.app import create_app

        conf = Settings(
            data_dir=folder / "data",
            database_url=database.url,
            secret_key="test-secret-key-not-for-production",
            **settings,
        )
        app = create_app(conf, database=database)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        return cls(folder=folder, database=database, app=app, client=client, schema=schema)

    def run_jobs(self) -> int:
        """Drain the job queue (the app around this injected database runs no worker of its own)."""
        return int(self.app.state.node.job_runner(schedules=()).run_once())

    def stop(self) -> None:
        self.client.__exit__(None, None, None)
        if self.schema is not None:
            with self.database.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        self.database.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    def member(
        self, org: str, role: Role = Role.ANALYST, kind: str = "member", *, operator: bool = False
    ) -> Member:
        """A new user (and its organisation, the first time) with a token, committed.

        ``operator`` makes an admin the node operator (an organisation admin manages only its own).
        """
        self._n += 1
        with self.database.unit_of_work() as s:
            o = s.query(Organisation).filter_by(short_name=org).one_or_none()
            if o is None:
                o = accounts.create_organisation(
                    s, actor=SYSTEM, name=f"{org} agency", short_name=org, kind=kind
                )
            username = f"{org.lower()}-{role.value}-{self._n}"
            u = accounts.create_user(
                s, actor=SYSTEM, username=username, password="correct horse battery", role=role, org=o
            )
            if operator:
                accounts.set_node_operator(s, actor=SYSTEM, user=u, operator=True)
            token = accounts.create_token(s, actor=SYSTEM, user=u)
            actor = accounts.actor_for(s, u)
            m = Member(
                org=org,
                org_id=o.id,
                identity_id=o.identity_id,
                role=role,
                username=username,
                token=token,
                actor=actor,
            )
        self.members.append(m)
        return m
