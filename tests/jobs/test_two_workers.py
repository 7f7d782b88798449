"""Two ``colsec worker`` processes on one PostgreSQL node share the queue: every job runs exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from colsec.db import Database
from colsec.formats.jobs import IMPORT_KIND, enqueue_import
from colsec.jobs.models import Job
from colsec.stix.tlp import TLP
from colsec.store.models import StixObject

from .workers import indicator_bundle, start_worker, stop_worker, wait_for

N = 60


@pytest.mark.slow
def test_two_workers_drain_the_queue_once(
    database: Database, make_account: Callable[..., Any], tmp_path: Path
) -> None:
    if database.sqlite:
        pytest.skip("several workers share a queue on PostgreSQL (SKIP LOCKED); SQLite runs one")
    analyst = make_account()
    workers = [start_worker(database.url, tmp_path, f"w{i}") for i in (1, 2)]
    try:
        logs = [tmp_path / f"worker-w{i}.log" for i in (1, 2)]
        wait_for(lambda: all("running" in p.read_text() for p in logs), 60, "both workers to start")
        with database.unit_of_work() as s:
            before = s.execute(select(func.count()).select_from(StixObject)).scalar_one()
            for i in range(N):  # one transaction: both workers see them all at once and race for them
                enqueue_import(s, actor=analyst.actor, data=indicator_bundle(1, seed=i), fmt=None,
                               default_tlp=TLP.GREEN)  # fmt: skip

        def finished() -> list[Job]:
            with database.unit_of_work(write=False) as s:
                jobs = list(s.execute(select(Job).where(Job.kind == IMPORT_KIND)).scalars())
            return jobs if all(j.finished_at for j in jobs) else []

        jobs = wait_for(finished, 120, "every job to finish", step=0.1)
    finally:
        codes = [stop_worker(w) for w in workers]
    assert codes == [0, 0]
    assert Counter(j.status for j in jobs) == {"succeeded": N}
    assert {j.attempts for j in jobs} == {1}  # never claimed twice
    assert [j.result["inserted"] for j in jobs if j.result] == [1] * N
    owners = Counter(j.lease_owner for j in jobs)
    assert set(owners) == {"w1", "w2"}, owners  # both took part
    with database.unit_of_work(write=False) as s:
        assert s.execute(select(func.count()).select_from(StixObject)).scalar_one() == before + N
