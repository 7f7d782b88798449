"""kill -9 of a ``colsec worker`` mid-pull from a real TAXII peer: the pull is taken over and resumes.

Node A is a real colsec node (uvicorn on 127.0.0.1); node B is only a database with A as its
peer, pulled by ``colsec worker`` processes.  Pages commit with their cursor, so the first
worker's committed pages stay, the second worker continues after them, and B ends with
exactly A's objects.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select

from colsec.accounts.models import User
from colsec.accounts.roles import SYSTEM, Role
from colsec.accounts.service import actor_for
from colsec.db import Database
from colsec.federation import service as fed
from colsec.federation.jobs import PULL_KIND
from colsec.formats.service import import_source
from colsec.jobs import queue
from colsec.jobs.models import Job
from colsec.store.models import StixObject
from federation.nodes import ALLIANCE, ORGS, start_node
from federation.stixgen import indicators
from taxii.server import Node, create_account, prepare_database

from .workers import start_worker, stop_worker, wait_for

N = 6_000  # six pages of 1,000


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Node]:
    node = start_node(tmp_path / "A", "A", sync=False)
    try:
        with node.session() as s:
            user = s.execute(select(User).where(User.username == "analyst-org-a")).scalar_one()
            bundle = {"type": "bundle", "id": "bundle--0d1e2f3a-4b5c-4e5a-8b9c-1c0a4b7e2f3d",
                      "objects": indicators(N, tag="crash")}  # fmt: skip
            import_source(s, actor=actor_for(s, user), data=orjson.dumps(bundle), collection_ids=[ALLIANCE])
        yield node
    finally:
        node.stop()


def _count(database: Database) -> int:
    with database.unit_of_work(write=False) as s:
        return int(
            s.execute(
                select(func.count()).select_from(StixObject).where(StixObject.origin.is_not(None))
            ).scalar_one()
        )


@pytest.mark.slow
def test_killed_worker_mid_sync_is_taken_over(upstream: Node, tmp_path: Path) -> None:
    folder = tmp_path / "B"
    folder.mkdir()
    url = prepare_database(folder / "colsec.db")
    database = Database(url)
    try:
        for short in ORGS.values():
            create_account(database, f"analyst-{short.lower()}", org=short, role=Role.ANALYST)
        creds = upstream.add_account("peer-b", org="ORG-B", role=Role.PEER)
        with database.unit_of_work() as s:
            fed.create_peer(s, actor=SYSTEM, name="node-A", url=upstream.root_url(), organisation="ORG-A",
                            username=creds.username, token=creds.token, collections=[ALLIANCE], local_org="ORG-B",
                            pull_interval_seconds=3600)  # fmt: skip
            job_id = queue.enqueue(
                s, kind=PULL_KIND, payload={"peer": "node-A"}, actor=SYSTEM, max_attempts=2
            ).id
        first = start_worker(url, folder, "doomed")
        try:
            wait_for(lambda: 0 < _count(database) < N, 60, "the first pages to commit", step=0.01)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
        partial = _count(database)
        assert 0 < partial < N  # committed pages stay; the rest is still to pull
        second = start_worker(url, folder, "heir")
        try:

            def finished() -> Job | None:
                with database.unit_of_work(write=False) as s:
                    job = s.get(Job, job_id)
                return job if job is not None and job.finished_at else None

            job = wait_for(finished, 120, "the pull to finish", step=0.1)
        finally:
            assert stop_worker(second) == 0
        assert (job.status, job.lease_owner, job.attempts) == ("succeeded", "heir", 2), job.error
        assert job.result is not None and job.result["error"] is None
        assert job.result["received"] <= N - partial + 1000  # resumed after the committed pages
        with database.unit_of_work(write=False) as s:
            rows = s.execute(
                select(func.count(), func.count(func.distinct(StixObject.id))).where(
                    StixObject.origin.is_not(None)
                )
            ).one()
        assert tuple(rows) == (N, N)  # every object of A, once
    finally:
        database.dispose()
