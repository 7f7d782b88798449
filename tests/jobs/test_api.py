"""Job status and progress over the API (from the job table); TAXII statuses follow their jobs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import update

from colsec.accounts.roles import SYSTEM, Role
from colsec.db import Database
from colsec.job_wiring import build_runner
from colsec.jobs import queue
from colsec.jobs.models import Job
from colsec.jobs.runner import JobContext, JobRunner
from colsec.settings import Settings
from colsec.stix.tlp import TLP
from colsec.taxii import jobs as taxii_jobs
from colsec.taxii import service as taxii

from .workers import indicator_bundle, wait_for


def test_progress_and_status_over_the_api(
    client: TestClient, database: Database, make_account: Callable[..., Any]
) -> None:
    owner, stranger = make_account(), make_account(org="ORG-B")
    operator = make_account(Role.ADMIN, operator=True)
    release = threading.Event()

    def handler(ctx: JobContext) -> dict[str, Any]:
        ctx.report(3, 10, force=True)
        assert release.wait(20)
        return {"ok": True}

    with database.unit_of_work() as s:
        job_id = queue.enqueue(s, kind="slow", payload={"secret": "x"}, actor=owner.actor).id
    url = f"/api/v1/jobs/{job_id}"
    runner = JobRunner(database, {"slow": handler}, worker_id="api-test", poll_seconds=0.02)
    runner.start()
    try:
        running = wait_for(
            lambda: (b := client.get(url, headers=owner.headers).json())["processed"] == 3 and b,
            10,
            "progress",
        )
        assert running["status"] == "running" and running["total"] == 10 and "payload" not in running
        assert client.get(url, headers=stranger.headers).status_code == 404
        assert client.get(url, headers=operator.headers).status_code == 200
        assert [j["id"] for j in client.get("/api/v1/jobs", headers=owner.headers).json()["jobs"]] == [job_id]
        assert client.get("/api/v1/jobs", headers=stranger.headers).json()["jobs"] == []
        release.set()
        done = wait_for(
            lambda: (b := client.get(url, headers=owner.headers).json())["status"] == "succeeded" and b,
            10,
            "done",
        )
    finally:
        release.set()
        runner.stop(10)
    assert done["result"] == {"ok": True} and done["processed"] == 10
    bad = client.get("/api/v1/jobs", params={"status": "lost"}, headers=owner.headers)
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_input"


def _large_envelope(database: Database, settings: Settings) -> tuple[str, int]:
    """A pending status and its job, as the TAXII route leaves them for a large envelope."""
    objects = orjson.loads(indicator_bundle(30))["objects"]
    with database.unit_of_work() as s:
        coll = taxii.create_collection(s, actor=SYSTEM, title="inbox", can_write=["*"])
        status = taxii.create_pending_status(s, actor=SYSTEM, api_root=coll.api_root, objects=objects)
        taxii_jobs.enqueue_add(s, actor=SYSTEM, status_id=status.id, collection_id=coll.id, objects=objects,
                               default_tlp=TLP.GREEN)  # fmt: skip
        return status.id, len(objects)


def _status(database: Database, status_id: str) -> dict[str, Any]:
    with database.unit_of_work(write=False) as s:
        row = taxii.get_status(s, actor=SYSTEM, api_root=taxii.DEFAULT_ROOT, status_id=status_id)
        return taxii_jobs.status_body(s, row)


def test_taxii_status_completes_through_its_job(database: Database, settings: Settings) -> None:
    status_id, n = _large_envelope(database, settings)
    assert _status(database, status_id)["status"] == "pending"
    assert build_runner(database, settings, schedules=()).run_once() == 1
    body = _status(database, status_id)
    assert (body["status"], body["success_count"], body["pending_count"]) == ("complete", n, 0)


def test_taxii_status_of_a_job_lost_for_good_reads_failed(database: Database, settings: Settings) -> None:
    status_id, n = _large_envelope(database, settings)
    with database.unit_of_work() as s:  # its last worker died holding it
        s.execute(
            update(Job).where(Job.id == status_id).values(
                status="running", attempts=Job.max_attempts, lease_owner="gone",
                lease_until=datetime.now(UTC) - timedelta(seconds=1),
            )
        )  # fmt: skip
    build_runner(database, settings, schedules=()).run_once()
    body = _status(database, status_id)
    assert (body["status"], body["failure_count"], body["pending_count"]) == ("complete", n, 0)
    assert "lease expired" in body["failures"][0]["message"]
