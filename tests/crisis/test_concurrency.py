"""50 representatives answer at the same moment against a real uvicorn node: no lost vote, one decision."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from colsec.accounts import service as accounts
from colsec.accounts.roles import SYSTEM, Role
from colsec.crisis import service
from colsec.crisis.models import Consultation, Position
from colsec.crisis.outcome import Outcome, Rule, Tally, decide
from colsec.crisis.schemas import ConsultationIn, CrisisIn, IncidentIn, RequestIn, TransitionIn
from colsec.db import Database
from colsec.store.models import AuditEntry

N = 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def node(database: Database, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "COLSEC_DATABASE_URL": database.url, "COLSEC_DATA_DIR": str(tmp_path / "node"),
           "COLSEC_SECRET_KEY": "crisis-concurrency-test-key", "COLSEC_SYNC_ENABLED": "false"}  # fmt: skip
    log = (tmp_path / "uvicorn.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "colsec.web.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "uvicorn.log").read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def _setup(database: Database, rule: str, quorum: int) -> tuple[int, list[str]]:
    """A crisis centre, N member organisations with one representative each, an open consultation."""
    tokens: list[str] = []
    with database.unit_of_work() as s:
        acc = accounts.create_organisation(
            s, actor=SYSTEM, name="Centre", short_name="ACC", kind="crisis_centre"
        )
        coord = accounts.create_user(
            s, actor=SYSTEM, username="coord", password=None, role=Role.COORDINATOR, org=acc
        )
        reps = []
        for i in range(N):
            org = accounts.create_organisation(s, actor=SYSTEM, name=f"Member {i}", short_name=f"M{i:02d}")
            user = accounts.create_user(
                s, actor=SYSTEM, username=f"rep{i:02d}", password=None, role=Role.REPRESENTATIVE, org=org
            )
            analyst = accounts.create_user(
                s, actor=SYSTEM, username=f"an{i:02d}", password=None, role=Role.ANALYST, org=org
            )
            tokens.append(accounts.create_token(s, actor=SYSTEM, user=user))
            reps.append((user, analyst))
        rep0, an0 = (accounts.actor_for(s, u) for u in reps[0])
        co = accounts.actor_for(s, coord)
        inc = service.report_incident(
            s, actor=an0, data=IncidentIn(title="Flood at data centre", category="emergency", severity=4)
        )
        service.triage_incident(s, actor=an0, incident_id=inc.id, data=TransitionIn())
        service.escalate_incident(s, actor=an0, incident_id=inc.id, data=TransitionIn())
        crisis = service.open_crisis(s, actor=co, data=CrisisIn(title="Flood", incident_ids=[inc.id]))
        soon = datetime.now(UTC) + timedelta(hours=1)
        req = service.create_request(s, actor=rep0, crisis_id=crisis.id,
                                     data=RequestIn(capability="power-equipment", quantity=10, location="M00", needed_by=soon))  # fmt: skip
        service.submit_request(s, actor=rep0, request_id=req.id)
        c = service.open_consultation(s, actor=co, request_id=req.id,
                                      data=ConsultationIn(question="Send generators?", deadline=soon, rule=rule, quorum=quorum))  # fmt: skip
        return c.id, tokens


def _post_all(base: str, cid: int, tokens: list[str], stances: list[str]) -> list[httpx.Response]:
    barrier = threading.Barrier(N)
    results: list[Any] = [None] * N

    def run(i: int) -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            barrier.wait()
            results[i] = client.post(
                f"/api/v1/crisis/consultations/{cid}/positions",
                headers={"Authorization": f"Bearer {tokens[i]}"},
                json={"stance": stances[i], "comment": f"position {i}"},
            )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    return results


def _check(database: Database, cid: int, responses: list[httpx.Response]) -> Consultation:
    accepted = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert all(r.status_code == 409 and r.json()["error"] == "consultation_closed" for r in refused), [
        r.text for r in refused[:3]
    ]
    with database.unit_of_work(write=False) as s:
        c = s.get(Consultation, cid)
        assert c is not None
        rows = s.execute(select(Position.stance).where(Position.consultation_id == cid)).scalars().all()
        decisions = (
            s.execute(
                select(AuditEntry.details).where(
                    AuditEntry.action == "crisis.consultation.decide",
                    AuditEntry.target == f"consultation:{cid}",
                )
            )
            .scalars()
            .all()
        )
        req_status = service.get_request(s, request_id=c.request_id).status if c.request_id else None
        chain_ok = __import__("colsec.store.audit", fromlist=["verify"]).verify(s).ok
    assert len(rows) == len(accepted), "every accepted position is stored, nothing else"
    assert (c.agree_count, c.object_count, c.abstain_count) == (
        rows.count("agree"),
        rows.count("object"),
        rows.count("abstain"),
    )
    assert len(decisions) == 1, "exactly one decision"
    assert orjson.loads(decisions[0])["votes"] and len(orjson.loads(decisions[0])["votes"]) == len(rows)
    verdict = decide(
        Rule(c.rule),
        Tally(c.eligible_count, c.quorum, c.agree_count, c.object_count, c.abstain_count),
        deadline_passed=False,
    )
    assert verdict.final and c.status == "closed" and c.outcome == verdict.outcome
    assert req_status == c.outcome
    assert chain_ok
    return c


@pytest.mark.slow
def test_fifty_simultaneous_positions_consensus(database: Database, node: str) -> None:
    cid, tokens = _setup(database, "consensus", quorum=26)
    stances = ["agree"] * (N - 5) + ["abstain"] * 5
    responses = _post_all(node, cid, tokens, stances)
    assert [r.status_code for r in responses].count(201) == N  # nobody objected: every answer counts
    c = _check(database, cid, responses)
    assert (c.agree_count, c.abstain_count, c.outcome) == (N - 5, 5, Outcome.APPROVED)


@pytest.mark.slow
def test_fifty_simultaneous_positions_majority_closes_once(database: Database, node: str) -> None:
    cid, tokens = _setup(database, "majority", quorum=26)
    stances = ["agree"] * 40 + ["object"] * 10
    responses = _post_all(node, cid, tokens, stances)
    c = _check(database, cid, responses)
    assert c.outcome == Outcome.APPROVED
    with database.unit_of_work(write=False) as s:
        assert (
            s.execute(select(func.count()).select_from(Position)).scalar_one()
            == c.agree_count + c.object_count
        )
