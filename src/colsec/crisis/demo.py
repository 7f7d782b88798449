"""Demo extension: a live alliance crisis, from national incidents to deployed teams.

Northmark's water utility is hit by ransomware; the crisis centre opens a crisis, one
request for forensic teams is approved by consensus and teams are deployed, a second
request (generators) is still in consultation, and a CAP alert has been issued.
Idempotent: nothing is added when the demo crisis already exists.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation, User
from colsec.accounts.roles import Actor
from colsec.accounts.service import actor_for
from colsec.crisis import alerts, service
from colsec.crisis.models import Crisis
from colsec.crisis.outcome import Rule
from colsec.crisis.schemas import (
    Capability,
    CategoryName,
    ConsultationIn,
    CrisisIn,
    IncidentIn,
    OfferIn,
    PositionIn,
    RequestIn,
    ResourceIn,
    SitrepIn,
    Stance,
    TransitionIn,
)

__all__ = ["DEMO_CRISIS_TITLE", "build_crisis_demo"]

DEMO_CRISIS_TITLE = "Ransomware against Northmark water utilities"


def _actor(db: Session, username: str) -> Actor:
    user = db.execute(select(User).where(User.username == username)).scalar_one()
    return actor_for(db, user)


def build_crisis_demo(db: Session, orgs: dict[str, Organisation]) -> None:
    if db.execute(select(Crisis.id).where(Crisis.title == DEMO_CRISIS_TITLE)).first() is not None:
        return
    nm_an, nm_rep, coord = _actor(db, "nm-analyst"), _actor(db, "nm-rep"), _actor(db, "coordinator")
    reps = {p: _actor(db, f"{p}-rep") for p in ("ev", "sd", "wh", "kd", "rl")}
    soon = datetime.now(UTC)

    inc = service.report_incident(db, actor=nm_an, data=IncidentIn(
        title="Ransomware encrypts SCADA servers at Northmark Water", category=CategoryName.CYBER, severity=5, sector="water",
        critical_infrastructure=True, description="Pumping stations in three districts run on manual control."))  # fmt: skip
    service.triage_incident(
        db, actor=nm_an, incident_id=inc.id, data=TransitionIn(note="Confirmed, spreading")
    )
    service.escalate_incident(
        db, actor=nm_rep, incident_id=inc.id, data=TransitionIn(note="Beyond national capacity")
    )
    ev_an = _actor(db, "ev-analyst")
    minor = service.report_incident(
        db,
        actor=ev_an,
        data=IncidentIn(title="Phishing wave against EV ministries", category=CategoryName.CYBER, severity=2),
    )
    service.close_incident(
        db, actor=ev_an, incident_id=minor.id, data=TransitionIn(note="Blocked at the mail gateway")
    )

    crisis = service.open_crisis(
        db, actor=coord, data=CrisisIn(title=DEMO_CRISIS_TITLE, alert_level=4, incident_ids=[inc.id])
    )
    service.advance_crisis(db, actor=coord, crisis_id=crisis.id, to="active")
    service.add_sitrep(db, actor=coord, crisis_id=crisis.id, data=SitrepIn(
        summary="Three districts on manual pumping; drinking water safe for 48 h.", needs="Forensic teams, generators",
        actions="EV forensic team deploying; consultation on generators open", next_report_due=soon + timedelta(hours=12)))  # fmt: skip

    forensic = service.register_resource(db, actor=reps["ev"], data=ResourceIn(
        kind="team", name="EV-CERT forensic response team", capability=Capability.FORENSICS, size=3, readiness_hours=6, location="Eastvale"))  # fmt: skip
    service.register_resource(db, actor=reps["sd"], data=ResourceIn(
        kind="team", name="Sundar industrial-control specialists", capability=Capability.CERT_RESPONSE, size=4, readiness_hours=12, location="Sundar"))  # fmt: skip
    service.register_resource(db, actor=reps["wh"], data=ResourceIn(
        kind="equipment", name="Westholm mobile generators (500 kVA)", capability=Capability.POWER_EQUIPMENT, size=6, readiness_hours=24, location="Westholm"))  # fmt: skip

    req = service.create_request(db, actor=nm_rep, crisis_id=crisis.id, data=RequestIn(
        capability=Capability.FORENSICS, quantity=4, location="Northmark Water HQ", needed_by=soon + timedelta(days=1)))  # fmt: skip
    service.submit_request(db, actor=nm_rep, request_id=req.id)
    cons = service.open_consultation(db, actor=coord, request_id=req.id, data=ConsultationIn(
        question="Send forensic teams to Northmark Water?", deadline=soon + timedelta(hours=6), rule=Rule.CONSENSUS, quorum=4))  # fmt: skip
    for p, stance in (("ev", "agree"), ("sd", "agree"), ("wh", "agree"), ("kd", "abstain"), ("rl", "agree")):
        service.post_position(
            db, actor=reps[p], consultation_id=cons.id, data=PositionIn(stance=Stance(stance))
        )
    service.post_position(
        db, actor=nm_rep, consultation_id=cons.id, data=PositionIn(stance=Stance.AGREE, comment="Urgently")
    )
    offer = service.make_offer(
        db, actor=reps["ev"], request_id=req.id, data=OfferIn(resource_id=forensic.id, quantity=3)
    )
    service.advance_offer(db, actor=coord, offer_id=offer.id, to="accepted")
    service.advance_offer(db, actor=reps["ev"], offer_id=offer.id, to="committed")
    service.advance_offer(db, actor=reps["ev"], offer_id=offer.id, to="deployed")

    power = service.create_request(db, actor=nm_rep, crisis_id=crisis.id, data=RequestIn(
        capability=Capability.POWER_EQUIPMENT, quantity=4, location="Northmark pumping stations", needed_by=soon + timedelta(days=2)))  # fmt: skip
    service.submit_request(db, actor=nm_rep, request_id=power.id)
    live = service.open_consultation(db, actor=coord, request_id=power.id, data=ConsultationIn(
        question="Lend generators to Northmark pumping stations?", options=["4 generators", "2 generators"],
        deadline=soon + timedelta(days=1), rule=Rule.MAJORITY))  # fmt: skip
    service.post_position(
        db,
        actor=reps["wh"],
        consultation_id=live.id,
        data=PositionIn(stance=Stance.AGREE, option="4 generators"),
    )
    service.post_position(
        db, actor=reps["sd"], consultation_id=live.id, data=PositionIn(stance=Stance.ABSTAIN)
    )
    alerts.crisis_alert(db, actor=coord, crisis_id=crisis.id, node_name="alliance-crisis-centre")
