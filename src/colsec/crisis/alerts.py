"""CAP alerts for crises (produced) and from agencies (imported), stored as UTF-8 XML with a summary."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor, Role
from colsec.crisis.access import require_centre, require_role
from colsec.crisis.crises import get_crisis, log_event
from colsec.crisis.models import AssistanceRequest, CapAlert, Incident, SituationReport
from colsec.crisis.states import now
from colsec.errors import ColsecError, Conflict, InvalidInput, NotFound
from colsec.formats.cap import CapArea, CapInfo, CapMessage, build_alert, cap_time, parse_cap
from colsec.formats.cap_feed import feed_entries
from colsec.store import audit

__all__ = [
    "FeedOutcome",
    "crisis_alert",
    "get_alert",
    "import_alert",
    "import_feed",
    "list_alerts",
    "read_alert",
]

_CATEGORIES = {
    "cyber": ["Infra", "Security"],
    "biological": ["CBRNE", "Health"],
    "emergency": ["Safety", "Rescue"],
    "other": ["Other"],
}
_SEVERITY = {5: "Extreme", 4: "Severe", 3: "Moderate", 2: "Minor", 1: "Minor"}
_URGENCY = {5: "Immediate", 4: "Immediate", 3: "Expected", 2: "Future", 1: "Future"}


def crisis_alert(
    db: Session, *, actor: Actor, crisis_id: int, node_name: str, status: str = "Actual"
) -> CapAlert:
    """Issue the crisis's current state as a CAP 1.2 alert (Restricted to the alliance)."""
    require_centre(db, actor, doing="issue CAP alerts")
    crisis = get_crisis(db, crisis_id=crisis_id)
    if status not in ("Actual", "Exercise", "Test"):
        raise InvalidInput(
            "status must be Actual, Exercise or Test",
            kind="cap_status",
            params={"allowed": "Actual, Exercise, Test"},
        )
    incidents = list(db.execute(select(Incident).where(Incident.crisis_id == crisis_id)).scalars())
    categories = sorted({c for i in incidents for c in _CATEGORIES.get(i.category, ["Other"])}) or ["Other"]
    countries = sorted(
        {
            c or s
            for c, s in db.execute(
                select(Organisation.country, Organisation.short_name).where(
                    Organisation.id.in_([i.organisation_id for i in incidents])
                )
            ).all()
        }
    )
    places = sorted(
        set(
            db.execute(
                select(AssistanceRequest.location).where(AssistanceRequest.crisis_id == crisis_id)
            ).scalars()
        )
    )
    latest = db.execute(
        select(SituationReport)
        .where(SituationReport.crisis_id == crisis_id)
        .order_by(SituationReport.number.desc())
        .limit(1)
    ).scalar_one_or_none()
    sender = "".join(ch for ch in f"{node_name}@colsec" if ch not in " ,<&")
    previous = list(
        db.execute(
            select(CapAlert.sender, CapAlert.identifier, CapAlert.sent)
            .where(CapAlert.crisis_id == crisis_id, CapAlert.direction == "out")
            .order_by(CapAlert.id)
        ).all()
    )
    n = len(previous) + 1
    # the first message is an Alert; later ones update it, and the end of the crisis cancels it
    msg_type = (
        "Alert" if not previous else ("Cancel" if crisis.status in ("closed", "reviewed") else "Update")
    )
    sent = cap_time(now())
    msg = CapMessage(
        identifier=f"colsec-crisis-{crisis.id}-{n}", sender=sender, sent=sent, status=status, msg_type=msg_type,
        scope="Restricted", restriction="Alliance member organisations only",
        references=" ".join(f"{s},{i},{t}" for s, i, t in previous) if msg_type != "Alert" else "",
        incidents=" ".join(i.stix_id for i in incidents),
        infos=[
            CapInfo(
                categories=categories, event=crisis.title, urgency=_URGENCY[crisis.alert_level] if crisis.status not in ("closed", "reviewed") else "Past",
                severity=_SEVERITY[crisis.alert_level], certainty="Observed", language="en-US",
                headline=f"Crisis #{crisis.id} ({crisis.status}): {crisis.title}"[:160],
                description=(latest.summary if latest else crisis.description) or crisis.title,
                instruction=(latest.actions if latest else ""),
                response_types=["Monitor"] if crisis.status in ("stabilising",) else (["AllClear"] if crisis.status in ("closed", "reviewed") else ["Prepare"]),
                areas=[CapArea(area_desc=", ".join(places + countries) or "Alliance")],
            )
        ],
    )  # fmt: skip
    xml = build_alert(msg)
    row = _store(db, msg, xml, direction="out", crisis_id=crisis_id, org_id=actor.org_id)
    log_event(
        db, crisis_id=crisis_id, actor=actor, kind="cap.issued", summary=f"CAP {msg_type} {msg.identifier}",
        params={"msg_type": msg_type, "identifier": msg.identifier},
    )  # fmt: skip
    audit.record(
        db,
        actor=actor,
        action="crisis.cap.issue",
        target=f"crisis:{crisis_id}",
        details={"identifier": msg.identifier},
    )
    return row


def _store(
    db: Session, msg: CapMessage, xml: bytes, *, direction: str, crisis_id: int | None, org_id: int | None
) -> CapAlert:
    info = msg.infos[0] if msg.infos else None
    row = CapAlert(
        identifier=msg.identifier[:250], sender=msg.sender[:250], sent=msg.sent[:40], status=msg.status, msg_type=msg.msg_type,
        scope=msg.scope, event=(info.event if info else "")[:250], headline=info.headline if info else "",
        severity=info.severity if info else "", urgency=info.urgency if info else "",
        area="; ".join(a.area_desc for i in msg.infos for a in i.areas)[:5000], direction=direction,
        crisis_id=crisis_id, organisation_id=org_id, xml=xml.decode("utf-8"), created_at=now(),
    )  # fmt: skip
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        raise Conflict(
            f"CAP alert {msg.sender}/{msg.identifier}/{msg.sent} is already stored",
            kind="cap_alert_stored",
            params={"alert": msg.identifier},
        ) from None
    return row


def import_alert(db: Session, *, actor: Actor, data: bytes, crisis_id: int | None = None) -> CapAlert:
    """Accept a CAP alert from an agency: refused unless safe, schema-valid and rule-abiding."""
    require_role(actor, Role.COORDINATOR, Role.ANALYST, Role.REPRESENTATIVE, doing="import CAP alerts")
    msg = parse_cap(data)
    if crisis_id is not None:
        get_crisis(db, crisis_id=crisis_id)
    # stored as UTF-8 CAP 1.2 (an ISO-8859-1 or CAP 1.0/1.1 alert is re-serialised after the safe parse)
    from lxml import etree

    from colsec.formats.cap import validate_cap

    xml = etree.tostring(validate_cap(data), xml_declaration=True, encoding="UTF-8")
    row = _store(db, msg, xml, direction="in", crisis_id=crisis_id, org_id=actor.org_id)
    if crisis_id is not None:
        log_event(
            db,
            crisis_id=crisis_id,
            actor=actor,
            kind="cap.imported",
            summary=f"CAP {msg.msg_type} from {msg.sender}: {row.event}",
            params={"msg_type": msg.msg_type, "sender": msg.sender, "event": row.event},
        )
    audit.record(
        db,
        actor=actor,
        action="crisis.cap.import",
        target=f"cap:{row.id}",
        details={"sender": msg.sender, "identifier": msg.identifier, "cap_version": msg.version},
    )
    return row


@dataclass(frozen=True)
class FeedOutcome:
    """What became of one entry of a CAP feed: imported (the alert's id), refused (why), or linked only."""

    entry_id: str
    title: str
    outcome: str  # "imported" | "duplicate" | "refused" | "linked"
    message: str
    alert_id: int | None = None


def import_feed(db: Session, *, actor: Actor, data: bytes, crisis_id: int | None = None) -> list[FeedOutcome]:
    """Import every inline alert of an Atom/RSS feed, each its own unit: one bad alert refuses only itself."""
    require_role(actor, Role.COORDINATOR, Role.ANALYST, Role.REPRESENTATIVE, doing="import CAP alerts")
    if crisis_id is not None:
        get_crisis(db, crisis_id=crisis_id)
    out: list[FeedOutcome] = []
    for entry in feed_entries(data):
        if not entry.alerts:
            out.append(
                FeedOutcome(
                    entry.entry_id, entry.title, "linked", f"alert only linked, not fetched: {entry.link}"
                )
            )
            continue
        for xml in entry.alerts:
            try:
                with db.begin_nested():
                    row = import_alert(db, actor=actor, data=xml, crisis_id=crisis_id)
            except Conflict as exc:
                out.append(FeedOutcome(entry.entry_id, entry.title, "duplicate", exc.message))
            except ColsecError as exc:
                out.append(FeedOutcome(entry.entry_id, entry.title, "refused", exc.message))
            else:
                out.append(FeedOutcome(entry.entry_id, entry.title, "imported", row.event, alert_id=row.id))
    return out


def get_alert(db: Session, *, alert_id: int) -> CapAlert:
    row = db.get(CapAlert, alert_id)
    if row is None:
        raise NotFound(
            f"CAP alert {alert_id} not found", kind="cap_alert_not_found", params={"alert": alert_id}
        )
    return row


def read_alert(db: Session, *, alert_id: int) -> tuple[CapAlert, CapMessage | None]:
    """The stored alert with its message read back from the XML: the summary row keeps neither
    category, certainty nor response type, which the alert page shows. None if the XML no longer
    reads (a row kept from before a parser change), so the page still shows the summary."""
    row = get_alert(db, alert_id=alert_id)
    try:
        return row, parse_cap(row.xml.encode("utf-8"))
    except ColsecError:
        return row, None


def list_alerts(db: Session, *, crisis_id: int | None = None, limit: int = 200) -> list[CapAlert]:
    stmt = select(CapAlert).order_by(CapAlert.id.desc()).limit(min(limit, 1000))
    if crisis_id is not None:
        stmt = stmt.where(CapAlert.crisis_id == crisis_id)
    else:
        stmt = stmt.where(CapAlert.exercise_run_id.is_(None))
    return list(db.execute(stmt).scalars())


def alert_count(db: Session) -> int:
    return int(
        db.execute(
            select(func.count()).select_from(CapAlert).where(CapAlert.exercise_run_id.is_(None))
        ).scalar_one()
    )
