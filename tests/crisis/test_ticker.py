"""The node's own ticker closes consultations at their deadline; overdue sitreps remind the lead."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts import service as accounts
from colsec.accounts.roles import SYSTEM, Role
from colsec.crisis import service, ticker
from colsec.crisis.models import Consultation, Notification
from colsec.crisis.schemas import ConsultationIn, CrisisIn, IncidentIn, RequestIn, SitrepIn, TransitionIn
from colsec.crisis.ticker import remind_sitreps
from colsec.db import Database
from colsec.settings import Settings


def _open(s: Session, deadline: datetime) -> int:
    centre = accounts.create_organisation(
        s, actor=SYSTEM, name="Centre", short_name="ACC", kind="crisis_centre"
    )
    member = accounts.create_organisation(s, actor=SYSTEM, name="Member", short_name="M1")
    co = accounts.actor_for(
        s,
        accounts.create_user(
            s, actor=SYSTEM, username="co", password=None, role=Role.COORDINATOR, org=centre
        ),
    )
    rep = accounts.actor_for(
        s,
        accounts.create_user(
            s, actor=SYSTEM, username="rep", password=None, role=Role.REPRESENTATIVE, org=member
        ),
    )
    inc = service.report_incident(
        s, actor=rep, data=IncidentIn(title="Outbreak", category="biological", severity=3)
    )
    service.triage_incident(s, actor=rep, incident_id=inc.id, data=TransitionIn())
    service.escalate_incident(s, actor=rep, incident_id=inc.id, data=TransitionIn())
    crisis = service.open_crisis(s, actor=co, data=CrisisIn(title="Outbreak", incident_ids=[inc.id]))
    req = service.create_request(s, actor=rep, crisis_id=crisis.id,
                                 data=RequestIn(capability="biological-safety", quantity=1, location="M1", needed_by=deadline))  # fmt: skip
    service.submit_request(s, actor=rep, request_id=req.id)
    return service.open_consultation(
        s, actor=co, request_id=req.id, data=ConsultationIn(question="Help?", deadline=deadline)
    ).id


@pytest.mark.slow
def test_owned_node_closes_consultations_on_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from colsec.web.app import create_app

    monkeypatch.setattr(ticker, "TICK_SECONDS", 0.3)  # the periodic job's period, read when the node is built
    settings = Settings(data_dir=tmp_path / "node", secret_key="ticker-test-secret-key")
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        database = Database(settings.effective_database_url)
        with database.unit_of_work() as s:
            cid = _open(s, datetime.now(UTC) + timedelta(seconds=1))
        deadline = time.monotonic() + 20
        status = "open"
        while status == "open" and time.monotonic() < deadline:
            time.sleep(0.3)
            with database.unit_of_work(write=False) as s:
                status = s.execute(select(Consultation.status).where(Consultation.id == cid)).scalar_one()
        database.dispose()
    assert status == "closed"


def test_injected_database_gets_no_background_worker(app: Any) -> None:
    with TestClient(app):
        assert app.state.job_runner is None


def test_overdue_sitrep_reminds_the_lead_once(db: Session, alliance: Any) -> None:
    co = alliance.coordinator.actor
    inc = service.report_incident(
        db, actor=alliance.analysts["NM"].actor, data=IncidentIn(title="x", category="emergency", severity=2)
    )
    service.triage_incident(db, actor=alliance.analysts["NM"].actor, incident_id=inc.id, data=TransitionIn())
    service.escalate_incident(
        db, actor=alliance.analysts["NM"].actor, incident_id=inc.id, data=TransitionIn()
    )
    crisis = service.open_crisis(db, actor=co, data=CrisisIn(title="Storm", incident_ids=[inc.id]))
    due = datetime.now(UTC) + timedelta(minutes=5)
    service.add_sitrep(db, actor=co, crisis_id=crisis.id, data=SitrepIn(summary="s", next_report_due=due))
    assert remind_sitreps(db, at=due - timedelta(minutes=1)) == 0
    assert remind_sitreps(db, at=due + timedelta(minutes=1)) == 1
    assert remind_sitreps(db, at=due + timedelta(minutes=2)) == 0
    kinds = (
        db.execute(select(Notification.kind).where(Notification.user_id == alliance.coordinator.user.id))
        .scalars()
        .all()
    )
    assert kinds.count("crisis.sitrep_due") == 1
