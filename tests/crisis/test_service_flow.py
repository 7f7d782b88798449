"""Services called directly: the state machines, audit rows and refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from colsec.crisis import service
from colsec.crisis.errors import ConsultationClosed, InvalidTransition
from colsec.crisis.models import Consultation, Notification
from colsec.crisis.schemas import (
    ConsultationIn,
    CrisisIn,
    IncidentIn,
    LessonIn,
    OfferIn,
    PositionIn,
    RequestIn,
    ResourceIn,
    SitrepIn,
    TransitionIn,
)
from colsec.errors import Conflict, Forbidden, InvalidInput, NotFound
from colsec.store.models import AuditEntry, StixObject

SOON = datetime.now(UTC) + timedelta(hours=6)


def _audit_count(db: Session, action: str) -> int:
    return int(
        db.execute(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        ).scalar_one()
    )


def _incident(db: Session, al: Any, org: str = "NM", **kw: Any) -> int:
    data = IncidentIn(title="Ransomware at water utility", category="cyber", severity=4, sector="water",
                      critical_infrastructure=True, **kw)  # fmt: skip
    inc = service.report_incident(db, actor=al.analysts[org].actor, data=data)
    service.triage_incident(
        db, actor=al.analysts[org].actor, incident_id=inc.id, data=TransitionIn(note="confirmed")
    )
    service.escalate_incident(db, actor=al.reps[org].actor, incident_id=inc.id, data=TransitionIn())
    return inc.id


def _crisis(db: Session, al: Any) -> int:
    inc = _incident(db, al)
    c = service.open_crisis(
        db, actor=al.coordinator.actor, data=CrisisIn(title="Water sector attack", incident_ids=[inc])
    )
    service.advance_crisis(db, actor=al.coordinator.actor, crisis_id=c.id, to="active")
    return c.id


def _request(db: Session, al: Any, crisis_id: int, org: str = "NM", quantity: int = 2) -> int:
    data = RequestIn(capability="forensics", quantity=quantity, location="Northmark capital", needed_by=SOON)
    req = service.create_request(db, actor=al.reps[org].actor, crisis_id=crisis_id, data=data)
    service.submit_request(db, actor=al.reps[org].actor, request_id=req.id)
    return req.id


def _consult(db: Session, al: Any, request_id: int, **kw: Any) -> Consultation:
    data = ConsultationIn(question="Send forensic teams?", deadline=SOON, **kw)
    return service.open_consultation(db, actor=al.coordinator.actor, request_id=request_id, data=data)


def test_incident_is_a_stix_incident_with_the_core_extension(db: Session, alliance: Any) -> None:
    inc = service.report_incident(
        db, actor=alliance.analysts["NM"].actor,
        data=IncidentIn(title="Phishing wave", category="cyber", severity=2, stix_refs=["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]),
    )  # fmt: skip
    service.triage_incident(db, actor=alliance.analysts["NM"].actor, incident_id=inc.id, data=TransitionIn())
    rows = (
        db.execute(select(StixObject).where(StixObject.id == inc.stix_id).order_by(StixObject.modified))
        .scalars()
        .all()
    )
    assert len(rows) == 2 and rows[-1].is_latest and not rows[0].is_latest
    body = orjson.loads(rows[-1].body)
    ext = body["extensions"]["extension-definition--ef765651-680c-498d-9894-99799f2fa126"]
    assert ext["investigation_status"] == "open" and ext["extension_type"] == "property-extension"
    assert rows[-1].owner_org_id == alliance.analysts["NM"].org.id
    # the reference validator accepts it without even a warning (no custom properties)
    from stix2validator import ValidationOptions, validate_instance

    checked = validate_instance(body, ValidationOptions(strict=False))
    assert checked.is_valid and not checked.warnings, [str(w) for w in checked.warnings]
    rel = db.execute(select(StixObject).where(StixObject.type == "relationship")).scalars().all()
    assert any(orjson.loads(r.body)["source_ref"] == inc.stix_id for r in rel)
    assert _audit_count(db, "crisis.incident.triage") == 1


def test_incident_steps_cannot_be_skipped_or_done_by_others(db: Session, alliance: Any) -> None:
    inc = service.report_incident(
        db, actor=alliance.analysts["NM"].actor, data=IncidentIn(title="x", category="other", severity=1)
    )
    with pytest.raises(InvalidTransition) as exc:
        service.escalate_incident(
            db, actor=alliance.analysts["NM"].actor, incident_id=inc.id, data=TransitionIn()
        )
    assert "reported" in exc.value.message
    with pytest.raises(NotFound):  # another member's national incident is not even visible
        service.triage_incident(
            db, actor=alliance.analysts["EV"].actor, incident_id=inc.id, data=TransitionIn()
        )
    with pytest.raises(Forbidden):
        service.triage_incident(db, actor=alliance.viewer.actor, incident_id=inc.id, data=TransitionIn())
    assert (
        service.get_incident(db, actor=alliance.analysts["NM"].actor, incident_id=inc.id).status == "reported"
    )
    assert _audit_count(db, "crisis.incident.triage") == 0


def test_crisis_only_from_escalated_incidents_and_only_by_the_centre(db: Session, alliance: Any) -> None:
    inc = service.report_incident(
        db, actor=alliance.analysts["NM"].actor, data=IncidentIn(title="x", category="biological", severity=3)
    )
    with pytest.raises(InvalidTransition):
        service.open_crisis(
            db, actor=alliance.coordinator.actor, data=CrisisIn(title="c", incident_ids=[inc.id])
        )
    esc = _incident(db, alliance, "EV")
    with pytest.raises(Forbidden):
        service.open_crisis(db, actor=alliance.reps["EV"].actor, data=CrisisIn(title="c", incident_ids=[esc]))
    c = service.open_crisis(
        db, actor=alliance.coordinator.actor, data=CrisisIn(title="c", incident_ids=[esc])
    )
    with pytest.raises(InvalidTransition):  # already in a crisis
        service.open_crisis(
            db, actor=alliance.coordinator.actor, data=CrisisIn(title="d", incident_ids=[esc])
        )
    with pytest.raises(InvalidTransition):
        service.advance_crisis(db, actor=alliance.coordinator.actor, crisis_id=c.id, to="closed")


def test_consultation_objection_blocks_and_request_is_rejected(db: Session, alliance: Any) -> None:
    cid = _crisis(db, alliance)
    rid = _request(db, alliance, cid)
    c = _consult(db, alliance, rid)
    service.post_position(
        db, actor=alliance.reps["EV"].actor, consultation_id=c.id, data=PositionIn(stance="agree")
    )
    service.post_position(
        db,
        actor=alliance.reps["SD"].actor,
        consultation_id=c.id,
        data=PositionIn(stance="object", comment="no"),
    )
    db.refresh(c)
    assert c.status == "closed" and c.outcome == "rejected"
    assert service.get_request(db, request_id=rid).status == "rejected"
    with pytest.raises(ConsultationClosed):
        service.post_position(
            db, actor=alliance.reps["WH"].actor, consultation_id=c.id, data=PositionIn(stance="agree")
        )
    decision = db.execute(
        select(AuditEntry).where(AuditEntry.action == "crisis.consultation.decide")
    ).scalar_one()
    assert orjson.loads(decision.details)["votes"] == {
        str(alliance.reps["EV"].org.id): "agree",
        str(alliance.reps["SD"].org.id): "object",
    }


def test_early_close_when_everyone_answered_and_delegation(db: Session, alliance: Any) -> None:
    cid = _crisis(db, alliance)
    rid = _request(db, alliance, cid)
    c = _consult(db, alliance, rid, options=["two teams", "one team"])
    # NM delegates its voice to EV's representative
    service.delegate(
        db,
        actor=alliance.reps["NM"].actor,
        consultation_id=c.id,
        delegate_username=alliance.reps["EV"].user.username,
    )
    with pytest.raises(Forbidden):  # once delegated, the delegator no longer answers
        service.post_position(
            db, actor=alliance.reps["NM"].actor, consultation_id=c.id, data=PositionIn(stance="agree")
        )
    ev = alliance.reps["EV"].actor
    service.post_position(
        db,
        actor=ev,
        consultation_id=c.id,
        data=PositionIn(stance="agree", option="one team", on_behalf_of=alliance.reps["NM"].org.id),
    )
    service.post_position(
        db, actor=ev, consultation_id=c.id, data=PositionIn(stance="agree", option="one team")
    )
    with pytest.raises(Conflict):
        service.post_position(db, actor=ev, consultation_id=c.id, data=PositionIn(stance="object"))
    with pytest.raises(Forbidden):  # no delegation from SD
        service.post_position(
            db,
            actor=ev,
            consultation_id=c.id,
            data=PositionIn(stance="agree", on_behalf_of=alliance.reps["SD"].org.id),
        )
    service.post_position(
        db, actor=alliance.reps["SD"].actor, consultation_id=c.id, data=PositionIn(stance="abstain")
    )
    db.refresh(c)
    assert c.status == "open"
    service.post_position(
        db,
        actor=alliance.reps["WH"].actor,
        consultation_id=c.id,
        data=PositionIn(stance="agree", option="two teams"),
    )
    db.refresh(c)
    assert (c.status, c.outcome, c.chosen_option) == ("closed", "approved", "one team")
    positions = service.list_positions(db, consultation_id=c.id)
    assert [p.delegated for p in positions].count(True) == 1
    assert service.get_request(db, request_id=rid).status == "approved"


def test_quorum_missing_at_deadline_hands_request_back(db: Session, alliance: Any) -> None:
    cid = _crisis(db, alliance)
    rid = _request(db, alliance, cid)
    c = _consult(db, alliance, rid, quorum=3)
    service.post_position(
        db, actor=alliance.reps["EV"].actor, consultation_id=c.id, data=PositionIn(stance="agree")
    )
    assert service.close_due(db, at=SOON + timedelta(seconds=1)) == [c.id]
    db.refresh(c)
    assert (c.status, c.outcome) == ("closed", "no_decision")
    assert service.get_request(db, request_id=rid).status == "submitted"


def test_late_position_is_refused(db: Session, alliance: Any) -> None:
    cid = _crisis(db, alliance)
    rid = _request(db, alliance, cid)
    c = _consult(db, alliance, rid)
    c.deadline = datetime.now(UTC) - timedelta(seconds=1)  # the deadline passed (no ticker ran yet)
    db.flush()
    with pytest.raises(ConsultationClosed):
        service.post_position(
            db, actor=alliance.reps["EV"].actor, consultation_id=c.id, data=PositionIn(stance="agree")
        )


def test_full_path_to_lessons_with_offers_and_metrics(db: Session, alliance: Any) -> None:
    co = alliance.coordinator.actor
    cid = _crisis(db, alliance)
    service.add_sitrep(db, actor=co, crisis_id=cid, data=SitrepIn(summary="Pumps down", needs="forensics"))
    rid = _request(db, alliance, cid, quantity=5)
    c = _consult(db, alliance, rid, rule="majority", quorum=2)
    for org in ("EV", "SD", "WH"):
        service.post_position(
            db, actor=alliance.reps[org].actor, consultation_id=c.id, data=PositionIn(stance="agree")
        )
    assert service.get_request(db, request_id=rid).status == "approved"
    res = service.register_resource(
        db,
        actor=alliance.reps["EV"].actor,
        data=ResourceIn(kind="team", name="EV forensics", capability="forensics", size=4, readiness_hours=6),
    )
    with pytest.raises(Forbidden):
        service.make_offer(
            db, actor=alliance.reps["SD"].actor, request_id=rid, data=OfferIn(resource_id=res.id, quantity=3)
        )
    offer = service.make_offer(
        db, actor=alliance.reps["EV"].actor, request_id=rid, data=OfferIn(resource_id=res.id, quantity=3)
    )
    with pytest.raises(InvalidTransition):
        service.advance_offer(db, actor=alliance.reps["EV"].actor, offer_id=offer.id, to="deployed")
    with pytest.raises(Forbidden):
        service.advance_offer(db, actor=alliance.reps["EV"].actor, offer_id=offer.id, to="accepted")
    service.advance_offer(db, actor=co, offer_id=offer.id, to="accepted")
    for step in ("committed", "deployed"):
        service.advance_offer(db, actor=alliance.reps["EV"].actor, offer_id=offer.id, to=step)
    cov = service.coverage(db, request_id=rid)
    assert (cov.needed, cov.covered, cov.deployed, cov.missing) == (5, 3, 3, 2)
    m = service.crisis_metrics(db, crisis_id=cid)
    assert m["time_to_decision"]["count"] == 1 and m["decision_to_first_deployment"]["count"] == 1
    assert m["coverage"] == {"needed": 5, "covered": 3, "ratio": 0.6}
    service.advance_offer(db, actor=alliance.reps["EV"].actor, offer_id=offer.id, to="demobilised")
    for to in ("stabilising", "closed"):
        service.advance_crisis(db, actor=co, crisis_id=cid, to=to)
    with pytest.raises(InvalidInput):
        service.advance_crisis(db, actor=co, crisis_id=cid, to="reviewed")
    service.add_lesson(
        db, actor=co, crisis_id=cid, data=LessonIn(kind="worked", text="Forensic teams arrived within a day")
    )
    service.add_lesson(
        db,
        actor=co,
        crisis_id=cid,
        data=LessonIn(kind="recommendation", text="Pre-position water sector kits", owner="EV-CERT"),
    )
    service.advance_crisis(db, actor=co, crisis_id=cid, to="reviewed")
    assert [lesson.kind for lesson in service.search_lessons(db, query="water KITS")] == ["recommendation"]
    kinds = [e.kind for e in service.timeline(db, crisis_id=cid)]
    assert (
        kinds[0] == "opened"
        and kinds[-1] == "reviewed"
        and "consultation.decided" in kinds
        and "offer.deployed" in kinds
    )
    assert db.execute(select(func.count()).select_from(Notification)).scalar_one() > 10


def test_withdrawing_a_request_cancels_its_consultation(db: Session, alliance: Any) -> None:
    cid = _crisis(db, alliance)
    rid = _request(db, alliance, cid)
    c = _consult(db, alliance, rid)
    with pytest.raises(Forbidden):
        service.withdraw_request(db, actor=alliance.reps["EV"].actor, request_id=rid)
    req = service.withdraw_request(db, actor=alliance.reps["NM"].actor, request_id=rid, note="solved locally")
    assert req.status == "withdrawn" and req.withdrawn_at is not None
    db.refresh(c)
    assert c.status == "cancelled" and c.outcome is None
    with pytest.raises(ConsultationClosed):
        service.post_position(
            db, actor=alliance.reps["EV"].actor, consultation_id=c.id, data=PositionIn(stance="agree")
        )
    with pytest.raises(InvalidTransition):
        service.submit_request(db, actor=alliance.reps["NM"].actor, request_id=rid)


def test_majority_rejects_and_no_offers_follow(db: Session, alliance: Any) -> None:
    cid = _crisis(db, alliance)
    rid = _request(db, alliance, cid)
    c = _consult(db, alliance, rid, rule="majority", quorum=3)
    for org, stance in (("NM", "agree"), ("EV", "object"), ("SD", "object")):
        service.post_position(
            db, actor=alliance.reps[org].actor, consultation_id=c.id, data=PositionIn(stance=stance)
        )
    db.refresh(c)
    # 1 agree, 2 object, WH still to answer: even WH agreeing gives a 2-2 tie, which rejects
    assert (c.status, c.outcome) == ("closed", "rejected")
    with pytest.raises(ConsultationClosed):
        service.post_position(
            db, actor=alliance.reps["WH"].actor, consultation_id=c.id, data=PositionIn(stance="agree")
        )
    assert service.get_request(db, request_id=rid).status == "rejected"
    res = service.register_resource(
        db,
        actor=alliance.reps["EV"].actor,
        data=ResourceIn(kind="team", name="t", capability="forensics", size=1, readiness_hours=1),
    )
    with pytest.raises(InvalidTransition):
        service.make_offer(
            db, actor=alliance.reps["EV"].actor, request_id=rid, data=OfferIn(resource_id=res.id, quantity=1)
        )
