"""What the crisis workspace needs of the domain: report reminders per alert level under a controlled
clock, timeline events as codes with parameters, roles on a crisis, fast-track consultations, and
the checks pages ask before showing an action."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from colsec.accounts import service as accounts
from colsec.accounts.roles import SYSTEM, Role
from colsec.crisis import service, views
from colsec.crisis.models import Consultation, Notification
from colsec.crisis.schemas import CrisisIn, IncidentIn, RequestIn, SitrepIn, TransitionIn
from colsec.crisis.states import clock
from colsec.crisis.ticker import SITREP_INTERVAL, SITREP_KIND, remind_by_level
from colsec.errors import Conflict, Forbidden, InvalidInput

T0 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)


@dataclass
class Person:
    user: Any
    org: Any
    actor: Any


@dataclass
class Cast:
    coordinator: Person
    analysts: dict[str, Person] = field(default_factory=dict)
    reps: dict[str, Person] = field(default_factory=dict)


@pytest.fixture
def alliance(database: Any) -> Cast:
    """The crisis centre and three members, with users who log in by token only (no password hashing)."""

    def person(s: Any, org: Any, role: Role) -> Person:
        user = accounts.create_user(s, actor=SYSTEM, username=f"{org.short_name.lower()}-{role.value}",
                                    password=None, role=role, org=org)  # fmt: skip
        return Person(user, org, accounts.actor_for(s, user))

    with database.unit_of_work() as s:
        centre = accounts.create_organisation(
            s, actor=SYSTEM, name="Centre", short_name="ACC", kind="crisis_centre"
        )
        cast = Cast(coordinator=person(s, centre, Role.COORDINATOR))
        for short in ("NM", "EV", "SD"):
            org = accounts.create_organisation(s, actor=SYSTEM, name=short, short_name=short)
            cast.analysts[short] = person(s, org, Role.ANALYST)
            cast.reps[short] = person(s, org, Role.REPRESENTATIVE)
    return cast


def _crisis(db: Any, al: Any, level: int = 4) -> int:
    nm_an, nm_rep = al.analysts["NM"].actor, al.reps["NM"].actor
    inc = service.report_incident(
        db, actor=nm_an, data=IncidentIn(title="Grid outage", category="cyber", severity=4)
    )
    service.triage_incident(db, actor=nm_an, incident_id=inc.id, data=TransitionIn())
    service.escalate_incident(db, actor=nm_rep, incident_id=inc.id, data=TransitionIn())
    crisis = service.open_crisis(
        db, actor=al.coordinator.actor, data=CrisisIn(title="Grid", alert_level=level, incident_ids=[inc.id])
    )
    return crisis.id


def _reminders(db: Any, crisis_id: int) -> int:
    return len(
        db.execute(
            select(Notification.id).where(
                Notification.kind == "crisis.sitrep_reminder", Notification.target == f"crisis:{crisis_id}"
            )
        ).all()
    )


def test_sitrep_reminders_follow_the_alert_level(database: Any, alliance: Any) -> None:
    assert SITREP_INTERVAL[4] == timedelta(hours=6)
    coord = alliance.coordinator.actor
    with database.unit_of_work() as db:
        with clock(T0):
            cid = _crisis(db, alliance, level=4)
        assert remind_by_level(db, at=T0 + timedelta(hours=5, minutes=59)) == []
        assert remind_by_level(db, at=T0 + timedelta(hours=6)) == [cid]
        assert remind_by_level(db, at=T0 + timedelta(hours=6, minutes=30)) == []  # once per interval
        assert remind_by_level(db, at=T0 + timedelta(hours=12)) == [cid]
        assert _reminders(db, cid) == 2
        with clock(T0 + timedelta(hours=13)):
            service.add_sitrep(db, actor=coord, crisis_id=cid, data=SitrepIn(summary="Stable"))
        assert remind_by_level(db, at=T0 + timedelta(hours=18, minutes=59)) == []
        assert remind_by_level(db, at=T0 + timedelta(hours=19)) == [cid]
        with clock(T0 + timedelta(hours=19, minutes=5)):
            service.set_alert_level(db, actor=coord, crisis_id=cid, level=5)
            service.add_sitrep(db, actor=coord, crisis_id=cid, data=SitrepIn(summary="Worse"))
        # level 5: every 3 h from the latest report
        assert remind_by_level(db, at=T0 + timedelta(hours=22)) == []
        assert remind_by_level(db, at=T0 + timedelta(hours=22, minutes=5)) == [cid]
        with clock(T0 + timedelta(hours=23)):
            service.advance_crisis(db, actor=coord, crisis_id=cid, to="active")
            service.advance_crisis(db, actor=coord, crisis_id=cid, to="stabilising")
            service.advance_crisis(db, actor=coord, crisis_id=cid, to="closed")
        assert remind_by_level(db, at=T0 + timedelta(days=3)) == []  # a closed crisis owes no report
        lead = db.execute(
            select(Notification.user_id).where(Notification.kind == "crisis.sitrep_reminder")
        ).scalars()
        assert set(lead) == {alliance.coordinator.user.id}


def test_the_reminder_job_is_wired() -> None:
    from colsec.job_wiring import handlers_for, schedules_for
    from colsec.settings import Settings

    settings = Settings()
    assert SITREP_KIND in handlers_for(settings)
    assert SITREP_KIND in {s.kind for s in schedules_for(settings)}


def test_timeline_events_are_codes_with_parameters(database: Any, alliance: Any) -> None:
    with database.unit_of_work() as db:
        with clock(T0):
            cid = _crisis(db, alliance, level=3)
        with clock(T0 + timedelta(hours=2)):
            service.set_alert_level(
                db, actor=alliance.coordinator.actor, crisis_id=cid, level=4, note="spreading"
            )
        events = service.timeline(db, crisis_id=cid)
        assert [(e.kind, orjson.loads(e.params)) for e in events] == [
            ("opened", {"incidents": [1], "level": 3}),
            ("alert_level", {"from": 3, "to": 4, "note": "spreading"}),
        ]
        assert [e.at.replace(tzinfo=UTC) for e in events] == [T0, T0 + timedelta(hours=2)]


def test_the_migration_reads_parameters_out_of_old_sentences() -> None:
    path = (
        Path(__file__).resolve().parents[2] / "src/colsec/migrations/versions/2026_12_07_crisis_workspace.py"
    )
    spec = importlib.util.spec_from_file_location("crisis_workspace_migration", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod._params("opened", "opened from incident(s) [1, 4], alert level 4") == {
        "incidents": [1, 4],
        "level": 4,
    }
    assert mod._params("alert_level", "alert level 3 -> 5 spreading") == {
        "from": 3,
        "to": 5,
        "note": "spreading",
    }
    assert mod._params("offer.deployed", "offer 7 (3 units) deployed") == {"offer": 7, "quantity": 3}
    assert mod._params("consultation.decided", "consultation 2: approved (consensus: 5 agree)") == {
        "consultation": 2, "outcome": "approved", "reason": "consensus: 5 agree"}  # fmt: skip
    assert mod._params("active", "crisis active") == {"note": ""}
    assert mod._params("sitrep", "garbled") == {"text": "garbled"}


def test_roles_on_a_crisis(database: Any, alliance: Any) -> None:
    coord = alliance.coordinator.actor
    with database.unit_of_work() as db:
        cid = _crisis(db, alliance)
        service.assign_role(
            db, actor=coord, crisis_id=cid, username=alliance.reps["EV"].user.username, role="liaison"
        )
        with pytest.raises(Conflict):
            service.assign_role(db, actor=coord, crisis_id=cid, username=alliance.reps["EV"].user.username,
                                role="liaison")  # fmt: skip
        with pytest.raises(InvalidInput):  # the lead is a coordinator
            service.assign_role(
                db, actor=coord, crisis_id=cid, username=alliance.reps["NM"].user.username, role="lead"
            )
        with pytest.raises(Forbidden):
            service.assign_role(db, actor=alliance.reps["NM"].actor, crisis_id=cid,
                                username=alliance.reps["NM"].user.username, role="liaison")  # fmt: skip
        roles = service.list_roles(db, crisis_id=cid)
        assert [(r.role, r.organisation_id) for r in roles] == [("liaison", alliance.reps["EV"].org.id)]
        assert service.timeline(db, crisis_id=cid)[-1].kind == "role"


def test_submit_at_once_opens_the_consultation(database: Any, alliance: Any) -> None:
    rep = alliance.reps["NM"].actor
    with database.unit_of_work() as db:
        with clock(T0):
            cid = _crisis(db, alliance)
            req = service.create_request(db, actor=rep, crisis_id=cid, data=RequestIn(
                capability="forensics", quantity=2, location="Capital", needed_by=T0 + timedelta(hours=8)))  # fmt: skip
            c = service.submit_for_consultation(db, actor=rep, request_id=req.id)
        assert service.get_request(db, request_id=req.id).status == "in_consultation"
        got = db.get(Consultation, c.id)
        assert got is not None and got.status == "open" and got.rule == "majority"
        assert got.deadline.replace(tzinfo=UTC) == T0 + timedelta(hours=8)
        assert got.eligible_count == len(alliance.reps)


def test_pages_ask_the_verbs_own_checks(database: Any, alliance: Any) -> None:
    with database.unit_of_work() as db:
        with clock(datetime.now(UTC)):
            cid = _crisis(db, alliance)
            req = service.create_request(db, actor=alliance.reps["NM"].actor, crisis_id=cid, data=RequestIn(
                capability="forensics", quantity=1, location="X", needed_by=datetime.now(UTC) + timedelta(days=1)))  # fmt: skip
            c = service.submit_for_consultation(db, actor=alliance.reps["NM"].actor, request_id=req.id)
        analyst, rep = alliance.analysts["EV"].actor, alliance.reps["EV"].actor
        assert views.consultation_view(db, analyst, c)["answer_for"] is None  # analysts do not answer
        assert views.consultation_view(db, rep, c)["answer_for"] == alliance.reps["EV"].org.id
        perms = views.permissions(db, analyst)
        assert (perms.centre, perms.national, perms.representative) == (False, True, False)
        assert views.permissions(db, alliance.coordinator.actor).centre
        # what the page offered is what the verb accepts
        service.delegate(
            db, actor=rep, consultation_id=c.id, delegate_username=alliance.analysts["EV"].user.username
        )
        assert views.consultation_view(db, analyst, c)["answer_for"] == alliance.reps["EV"].org.id
        assert views.consultation_view(db, rep, c)["answer_for"] is None
