"""The statistics refresh after a large import: queued in the import's transaction, run by a worker."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.job_wiring import handlers_for
from colsec.jobs import queue
from colsec.jobs.models import Job, JobStatus
from colsec.jobs.runner import JobRunner
from colsec.jobs.statistics import ANALYZE_KIND, queue_analyze, run_analyze
from colsec.node import build_node
from colsec.settings import Settings
from colsec.stix.tlp import TLP
from colsec.store.service import POST_IMPORT, import_objects
from colsec.store.statistics import ANALYZE_AFTER, WRITTEN_TABLES


def _indicators(n: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid4()}",
            "created": "2026-01-01T00:00:00.000Z",
            "modified": "2026-01-01T00:00:00.000Z",
            "pattern": f"[domain-name:value = 'h{i}.example.com']",
            "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z",
        }  # fmt: skip
        for i in range(n)
    ]


def _import(database: Database, n: int) -> None:
    wired = database.wired(**{POST_IMPORT: (queue_analyze,)})
    with wired.unit_of_work() as s:
        assert import_objects(s, actor=SYSTEM, objects=_indicators(n), default_tlp=TLP.CLEAR).inserted == n


def _analyze_jobs(database: Database) -> list[Job]:
    with database.unit_of_work(write=False) as s:
        return list(s.execute(select(Job).where(Job.kind == ANALYZE_KIND)).scalars())


def _reltuples(database: Database) -> float:
    with database.unit_of_work(write=False) as s:
        return float(
            s.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'stix_object'::regclass")).scalar_one()
        )


def test_small_import_queues_nothing(database: Database) -> None:
    _import(database, 50)
    assert _analyze_jobs(database) == []


def test_large_import_queues_one_analyze_that_a_worker_runs(database: Database) -> None:
    _import(database, ANALYZE_AFTER)
    jobs = _analyze_jobs(database)
    if database.url.startswith("sqlite"):  # its plans do not change with statistics (store/statistics.py)
        assert jobs == []
        return
    assert [j.payload["versions"] for j in jobs] == [ANALYZE_AFTER]
    _import(database, ANALYZE_AFTER)  # a second import while the first job waits shares it
    assert len(_analyze_jobs(database)) == 1
    assert JobRunner(database, {ANALYZE_KIND: run_analyze}, worker_id="w1").run_once() == 1
    (job,) = _analyze_jobs(database)
    assert job.status == JobStatus.SUCCEEDED.value and job.result == {"analyzed": list(WRITTEN_TABLES)}
    assert _reltuples(database) >= 2 * ANALYZE_AFTER  # the planner now knows the table's size


def test_the_job_runs_on_both_backends(database: Database) -> None:
    with database.unit_of_work() as s:
        queue.enqueue(s, kind=ANALYZE_KIND, payload={}, actor=SYSTEM)
    assert JobRunner(database, {ANALYZE_KIND: run_analyze}, worker_id="w1").run_once() == 1
    (job,) = _analyze_jobs(database)
    assert job.status == JobStatus.SUCCEEDED.value
    assert job.result == {"analyzed": [] if database.url.startswith("sqlite") else list(WRITTEN_TABLES)}


def test_a_node_queues_and_handles_it(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "node.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(
        data_dir=tmp_path / "node", database_url=f"sqlite:///{path}", secret_key="statistics-test-key"
    )
    node = build_node(settings)
    try:
        assert queue_analyze in node.post_import
        assert handlers_for(settings)[ANALYZE_KIND] is run_analyze
    finally:
        node.close()
