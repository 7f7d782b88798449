"""A consultation's reason is a code with numbers, shown in each reader's language: the crisis page,
its timeline, the notices and the API (English sentence plus a stable ``reason_code``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from colsec.accounts.models import User
from colsec.accounts.roles import Role
from colsec.crisis import service
from colsec.crisis.deadlines import close_due
from colsec.crisis.models import Consultation, Notification
from colsec.crisis.schemas import ConsultationIn, CrisisIn, IncidentIn, RequestIn, TransitionIn
from colsec.db import Database
from ui.test_i18n import untranslated

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
RU = "срок истёк: кворум не набран: ответов 0 из 2 необходимых"
EN = "deadline passed: quorum not reached: 0 of 2 required answers"


def _login(app: Any, account: Any) -> TestClient:
    c = TestClient(app)
    m = CSRF_RE.search(c.get("/login").text)
    assert m
    r = c.post("/login", data={"csrf_token": m.group(1), "username": account.user.username,
                               "password": account.password, "next": "/"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    return c


@pytest.mark.slow  # logs in two people (argon2)
def test_no_quorum_reason_in_each_readers_language(
    app: Any, database: Database, make_account: Callable[..., Any]
) -> None:
    coord = make_account(Role.COORDINATOR, org="ACC", kind="crisis_centre")
    analyst, rep = make_account(Role.ANALYST, org="NM"), make_account(Role.REPRESENTATIVE, org="NM")
    make_account(Role.REPRESENTATIVE, org="EV")
    deadline = datetime.now(UTC) + timedelta(hours=6)
    with database.unit_of_work() as db:
        db.execute(update(User).where(User.id == coord.user.id).values(language="ru"))
        db.execute(update(User).where(User.id == rep.user.id).values(language="en"))
        inc = service.report_incident(db, actor=analyst.actor, data=IncidentIn(
            title="Wiper", category="cyber", severity=4))  # fmt: skip
        service.triage_incident(
            db, actor=analyst.actor, incident_id=inc.id, data=TransitionIn(note="confirmed")
        )
        service.escalate_incident(db, actor=rep.actor, incident_id=inc.id, data=TransitionIn())
        c = service.open_crisis(
            db, actor=coord.actor, data=CrisisIn(title="Grid attack", incident_ids=[inc.id])
        )
        service.advance_crisis(db, actor=coord.actor, crisis_id=c.id, to="active")
        req = service.create_request(db, actor=rep.actor, crisis_id=c.id, data=RequestIn(
            capability="forensics", quantity=1, location="Capital", needed_by=deadline))  # fmt: skip
        service.submit_request(db, actor=rep.actor, request_id=req.id)
        cons = service.open_consultation(db, actor=coord.actor, request_id=req.id,
                                         data=ConsultationIn(question="Send a team?", deadline=deadline, quorum=2))  # fmt: skip
        crisis_id, cons_id = c.id, cons.id
    with database.unit_of_work() as db:
        assert close_due(db, at=deadline + timedelta(minutes=1)) == [cons_id]
    with database.unit_of_work(write=False) as db:
        got = db.get(Consultation, cons_id)
        assert got is not None and got.outcome == "no_decision" and got.reason_code == "quorum_not_reached"
        notes = {n.user_id: (n.subject, n.body) for n in db.execute(select(Notification)
                 .where(Notification.kind == "request.no_decision")).scalars()}  # fmt: skip
    assert notes[coord.user.id] == (f"Запрос #{req.id}: без решения ({RU})", RU), notes[coord.user.id]
    assert notes[rep.user.id] == (f"Request #{req.id}: no decision ({EN})", EN), notes[rep.user.id]

    api = TestClient(app).get(f"/api/v1/crisis/consultations/{cons_id}", headers=coord.headers).json()
    assert (api["decision_reason"], api["reason_code"]) == (EN, "quorum_not_reached")

    ru, en = _login(app, coord), _login(app, rep)
    for path in (f"/crisis/consultations/{cons_id}", f"/crisis/{crisis_id}"):
        html = ru.get(path).text
        assert RU in html and EN not in html, path
        assert untranslated(html, "ru") == [], path
    assert EN in en.get(f"/crisis/consultations/{cons_id}").text

    # a row stored before reasons had codes still shows its sentence (as data, not as UI text)
    with database.unit_of_work() as db:
        db.execute(update(Consultation).where(Consultation.id == cons_id)
                   .values(decision_reason="quorum not reached: 1 of 3 required answers"))  # fmt: skip
    html = ru.get(f"/crisis/consultations/{cons_id}").text
    assert '<span translate="no">quorum not reached: 1 of 3 required answers</span>' in html
    assert untranslated(html, "ru") == []
    api = TestClient(app).get(f"/api/v1/crisis/consultations/{cons_id}", headers=coord.headers).json()
    assert (api["decision_reason"], api["reason_code"]) == (
        "quorum not reached: 1 of 3 required answers",
        None,
    )
