"""Demo extension: a live alliance crisis told over the last four weeks, from national incidents
to deployed teams.

Northmark's water utility is hit by ransomware 27 days ago; within hours the crisis centre
opens a crisis, raises it to alert level 4 and names a scribe and liaisons; a request for
forensic teams is approved by consensus in under four hours and a team deploys overnight;
situation reports follow the crisis; three days ago Northmark asked for generators, and that
consultation is still waiting for Kaldera's answer.  Each step happens at its own time
(``states.clock``), so timelines, metrics and reminders read like a real month.
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
from colsec.crisis.states import clock

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
    ev_an = _actor(db, "ev-analyst")
    today = datetime.now(UTC).replace(second=0, microsecond=0)

    def at(days: float, hour: int, minute: int = 0) -> datetime:
        """``days`` ago at ``hour:minute`` (UTC), never later than now."""
        moment = (today - timedelta(days=days)).replace(hour=hour, minute=minute)
        return min(moment, today - timedelta(minutes=5))

    with clock(at(30, 9)):  # the catalogue exists before the crisis
        forensic = service.register_resource(db, actor=reps["ev"], data=ResourceIn(
            kind="team", name="EV-CERT forensic response team", capability=Capability.FORENSICS, size=3, readiness_hours=6, location="Eastvale"))  # fmt: skip
        service.register_resource(db, actor=reps["sd"], data=ResourceIn(
            kind="team", name="Sundar industrial-control specialists", capability=Capability.CERT_RESPONSE, size=4, readiness_hours=12, location="Sundar"))  # fmt: skip
        service.register_resource(db, actor=reps["wh"], data=ResourceIn(
            kind="equipment", name="Westholm mobile generators (500 kVA)", capability=Capability.POWER_EQUIPMENT, size=6, readiness_hours=24, location="Westholm"))  # fmt: skip
    with clock(at(29, 6, 10)):
        minor = service.report_incident(db, actor=ev_an, data=IncidentIn(
            title="Phishing wave against EV ministries", category=CategoryName.CYBER, severity=2))  # fmt: skip
    with clock(at(29, 9, 40)):
        service.close_incident(db, actor=ev_an, incident_id=minor.id, data=TransitionIn(note="Blocked at the mail gateway"))  # fmt: skip
    with clock(at(27, 3, 40)):
        inc = service.report_incident(db, actor=nm_an, data=IncidentIn(
            title="Ransomware encrypts SCADA servers at Northmark Water", category=CategoryName.CYBER, severity=5, sector="water",
            critical_infrastructure=True, description="Pumping stations in three districts run on manual control."))  # fmt: skip
    with clock(at(27, 4, 25)):
        service.triage_incident(db, actor=nm_an, incident_id=inc.id, data=TransitionIn(note="Confirmed, spreading"))  # fmt: skip
    with clock(at(27, 5, 10)):
        service.escalate_incident(db, actor=nm_rep, incident_id=inc.id, data=TransitionIn(note="Beyond national capacity"))  # fmt: skip
    with clock(at(27, 6, 0)):
        crisis = service.open_crisis(
            db, actor=coord, data=CrisisIn(title=DEMO_CRISIS_TITLE, alert_level=3, incident_ids=[inc.id])
        )
    with clock(at(27, 6, 5)):
        service.advance_crisis(db, actor=coord, crisis_id=crisis.id, to="active")
        service.assign_role(db, actor=coord, crisis_id=crisis.id, username="admin", role="scribe")
        service.assign_role(db, actor=coord, crisis_id=crisis.id, username="nm-rep", role="liaison")
        service.assign_role(db, actor=coord, crisis_id=crisis.id, username="ev-rep", role="liaison")
    with clock(at(27, 8, 0)):
        service.set_alert_level(
            db, actor=coord, crisis_id=crisis.id, level=4, note="Three districts affected"
        )
    with clock(at(27, 9, 0)):
        service.add_sitrep(db, actor=coord, crisis_id=crisis.id, data=SitrepIn(
            summary="Three districts on manual pumping; drinking water safe for 48 h.", needs="Forensic teams, generators",
            actions="Request for forensic teams being drafted by Northmark"))  # fmt: skip
    with clock(at(27, 10, 30)):
        req = service.create_request(db, actor=nm_rep, crisis_id=crisis.id, data=RequestIn(
            capability=Capability.FORENSICS, quantity=4, location="Northmark Water HQ", needed_by=at(26, 12)))  # fmt: skip
        service.submit_request(db, actor=nm_rep, request_id=req.id)
    with clock(at(27, 11, 15)):
        cons = service.open_consultation(db, actor=coord, request_id=req.id, data=ConsultationIn(
            question="Send forensic teams to Northmark Water?", deadline=at(27, 17, 15), rule=Rule.CONSENSUS, quorum=4))  # fmt: skip
    answers = (("ev", "agree", 11, 40), ("sd", "agree", 12, 5), ("wh", "agree", 12, 30), ("kd", "abstain", 13, 10),
               ("rl", "agree", 13, 50))  # fmt: skip
    for p, stance, hour, minute in answers:
        with clock(at(27, hour, minute)):
            service.post_position(
                db, actor=reps[p], consultation_id=cons.id, data=PositionIn(stance=Stance(stance))
            )
    with clock(at(27, 14, 20)):  # the last answer decides: time to decision 3 h 50 min
        service.post_position(
            db,
            actor=nm_rep,
            consultation_id=cons.id,
            data=PositionIn(stance=Stance.AGREE, comment="Urgently"),
        )
    with clock(at(27, 15, 0)):
        offer = service.make_offer(
            db, actor=reps["ev"], request_id=req.id, data=OfferIn(resource_id=forensic.id, quantity=3)
        )
    with clock(at(27, 15, 30)):
        service.advance_offer(db, actor=coord, offer_id=offer.id, to="accepted")
    with clock(at(27, 16, 0)):
        service.advance_offer(db, actor=reps["ev"], offer_id=offer.id, to="committed")
    with clock(at(26, 2, 0)):
        service.advance_offer(db, actor=reps["ev"], offer_id=offer.id, to="deployed")
    with clock(at(26, 7, 0)):
        alerts.crisis_alert(db, actor=coord, crisis_id=crisis.id, node_name="alliance-crisis-centre")
    reports = (
        (26, "EV forensic team on site; encryption contained to the SCADA segment."),
        (24, "Two districts back on automatic control; forensic imaging complete."),
        (20, "Initial access traced to a phished maintenance account; credentials rotated alliance-wide."),
        (14, "All districts on automatic control; backups verified; monitoring reinforced."),
        (7, "Decryptor-free restoration complete; residual risk to pumping stations from power cuts."),
    )
    for days, text in reports:
        with clock(at(days, 9, 0)):
            service.add_sitrep(db, actor=coord, crisis_id=crisis.id, data=SitrepIn(summary=text))
    with clock(at(3, 10, 0)):
        power = service.create_request(db, actor=nm_rep, crisis_id=crisis.id, data=RequestIn(
            capability=Capability.POWER_EQUIPMENT, quantity=4, location="Northmark pumping stations", needed_by=today + timedelta(days=2)))  # fmt: skip
        service.submit_request(db, actor=nm_rep, request_id=power.id)
    with clock(at(3, 11, 0)):
        live = service.open_consultation(db, actor=coord, request_id=power.id, data=ConsultationIn(
            question="Lend generators to Northmark pumping stations?", options=["4 generators", "2 generators"],
            deadline=today + timedelta(days=1), rule=Rule.MAJORITY))  # fmt: skip
    with clock(at(3, 12, 0)):
        service.post_position(db, actor=reps["wh"], consultation_id=live.id,
                              data=PositionIn(stance=Stance.AGREE, option="4 generators"))  # fmt: skip
    with clock(at(2, 9, 0)):
        service.post_position(
            db, actor=reps["sd"], consultation_id=live.id, data=PositionIn(stance=Stance.ABSTAIN)
        )
    with clock(today - timedelta(hours=2)):
        service.add_sitrep(db, actor=coord, crisis_id=crisis.id, data=SitrepIn(
            summary="Storm warnings: pumping stations need backup power; generator consultation open.",
            needs="Generators", actions="Waiting for Kaldera's answer", next_report_due=today + timedelta(hours=4)))  # fmt: skip
