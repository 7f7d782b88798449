"""kill -9 of a ``colsec worker`` mid-import: another worker takes the job over; nothing half or twice stored."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from colsec.db import Database
from colsec.formats.jobs import enqueue_import
from colsec.jobs.models import Job
from colsec.stix.tlp import TLP
from colsec.store.models import StixObject

from .workers import indicator_bundle, start_worker, stop_worker, wait_for

N = 40_000  # seconds of import in a worker (correlating on arrival): long enough to die in the middle of


def _job(database: Database, job_id: str) -> Job:
    with database.unit_of_work(write=False) as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job


def _objects(database: Database) -> tuple[int, int]:
    with database.unit_of_work(write=False) as s:
        rows = s.execute(select(func.count(), func.count(func.distinct(StixObject.id)))).one()
    return int(rows[0]), int(rows[1])


@pytest.mark.slow
def test_killed_worker_mid_import_is_taken_over(
    database: Database, make_account: Callable[..., Any], tmp_path: Path
) -> None:
    analyst = make_account()
    before, _ = _objects(database)  # the organisation's identity
    with database.unit_of_work() as s:
        job_id = enqueue_import(
            s, actor=analyst.actor, data=indicator_bundle(N), fmt=None, default_tlp=TLP.GREEN, name="big.json"
        ).id
    first = start_worker(database.url, tmp_path, "doomed")
    try:
        wait_for(lambda: _job(database, job_id).status == "running", 60, "the first worker to claim the job")
        time.sleep(1.0)
        os.kill(first.pid, signal.SIGKILL)  # mid-import: the import's transaction never commits
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    job = _job(database, job_id)
    assert job.status == "running" and job.lease_owner == "doomed" and job.attempts == 1
    assert _objects(database)[0] == before  # all or nothing: no half import

    second = start_worker(database.url, tmp_path, "heir")
    try:
        job = wait_for(
            lambda: (j := _job(database, job_id)).finished_at and j, 120, "the job to finish", step=0.1
        )
    finally:
        assert stop_worker(second) == 0
    assert (job.status, job.lease_owner, job.attempts) == ("succeeded", "heir", 2)
    assert job.processed == job.total == N and job.result and job.result["inserted"] == N
    assert _objects(database) == (before + N, before + N)  # every object once
