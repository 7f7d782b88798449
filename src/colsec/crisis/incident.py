"""National incidents: reported → triaged → escalated | closed, mirrored as STIX 2.1 ``incident``.

Each incident is also a STIX ``incident`` carrying the OASIS Incident Core extension,
stored through ``import_objects`` so it is shared like any other intelligence (TLP,
sharing policy, TAXII), and readable by exactly those the crisis API shows the incident
to.  Every transition publishes a new version of that object.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor, Role
from colsec.crisis import notify as notices
from colsec.crisis.access import NATIONAL_ROLES, org_kind, require_org, require_role
from colsec.crisis.models import Incident
from colsec.crisis.schemas import IncidentIn, TransitionIn
from colsec.crisis.states import INCIDENT, move, now
from colsec.errors import InvalidInput, NotFound
from colsec.stix.ids import format_timestamp, is_valid_id, new_id, parse_timestamp
from colsec.stix.tlp import TLP, marking_id
from colsec.store import audit
from colsec.store.derive import DerivedPolicy, Source, derive_policy, sees_all
from colsec.store.models import StixObject
from colsec.store.policy import SharedFacts
from colsec.store.service import import_objects
from colsec.store.sources import alliance_orgs, source_facts

__all__ = [
    "INCIDENT_CORE_EXTENSION",
    "INCIDENT_TLP",
    "audience",
    "check_national_step",
    "close_incident",
    "escalate_incident",
    "get_incident",
    "incident_stix",
    "list_incidents",
    "report_incident",
    "triage_incident",
]

# National incidents are seen by their organisation and the crisis centres named as recipients.
INCIDENT_TLP = TLP.AMBER_STRICT

INCIDENT_CORE_EXTENSION = "extension-definition--ef765651-680c-498d-9894-99799f2fa126"

# Incident Core: investigation_status is new/open/closed; determination describes certainty.
_INVESTIGATION = {"reported": "new", "triaged": "open", "escalated": "open", "closed": "closed"}
_DETERMINATION = {
    "reported": "suspected",
    "triaged": "confirmed",
    "escalated": "confirmed",
    "closed": "confirmed",
}


def _labels(inc: Incident) -> list[str]:
    """Category, severity, sector and the critical-infrastructure flag as plain labels (no custom properties)."""
    labels = [inc.category, f"severity-{inc.severity}"]
    if inc.sector:
        labels.append(f"sector-{inc.sector.lower().replace(' ', '-')}")
    if inc.critical_infrastructure:
        labels.append("critical-infrastructure")
    return labels


def incident_stix(inc: Incident, org: Organisation, modified: str) -> dict[str, Any]:
    """The STIX 2.1 incident for the current state of ``inc``."""
    return {
        "type": "incident",
        "spec_version": "2.1",
        "id": inc.stix_id,
        "created": format_timestamp(inc.reported_at, precision="milli"),
        "modified": modified,
        "name": inc.title,
        "description": inc.description or inc.title,
        "created_by_ref": org.identity_id,
        "labels": _labels(inc),
        "extensions": {
            INCIDENT_CORE_EXTENSION: {
                "extension_type": "property-extension",
                "investigation_status": _INVESTIGATION[inc.status],
                "determination": _DETERMINATION[inc.status],
                "criticality": inc.severity * 20,
            }
        },
        "object_marking_refs": [marking_id(INCIDENT_TLP)],
    }


def audience(db: Session, inc: Incident) -> list[int]:
    """Organisations besides the owner that the crisis API shows ``inc`` to: the crisis centres."""
    return sorted(
        oid
        for oid in db.execute(select(Organisation.id).where(Organisation.kind == "crisis_centre")).scalars()
        if oid != inc.organisation_id
    )


def _relationship_policy(db: Session, inc: Incident, incident: Source, ref: str) -> DerivedPolicy:
    """A link reveals its target too: it is readable by who may read both the incident and the target.

    A target the reporter may not see (or that is unknown here) adds nothing, so the answer
    never tells the reporter whether it exists.
    """
    alliance = alliance_orgs(db)
    seq = db.execute(select(StixObject.seq).where(StixObject.id == ref, StixObject.is_latest)).scalar()
    target = source_facts(db, [seq]).get(seq) if seq is not None else None
    if target is not None and sees_all([target.facts], inc.organisation_id, alliance=alliance):
        return derive_policy([incident, target], owner_org_id=inc.organisation_id, alliance=alliance)
    return derive_policy([incident], owner_org_id=inc.organisation_id, alliance=alliance)


def _publish(db: Session, actor: Actor, inc: Incident, *, refs: list[str] | None = None) -> None:
    """Write the incident's new STIX version, visible to exactly those the crisis API shows it to.

    TLP:AMBER+STRICT with the crisis centres as named recipients: every version (and every
    link to it) carries the audience of the moment, so a change of audience follows the
    incident's next transition.
    """
    org = db.get(Organisation, inc.organisation_id)
    assert org is not None
    last = db.execute(
        select(StixObject.modified).where(StixObject.id == inc.stix_id, StixObject.is_latest)
    ).scalar()
    stamp = now()
    if last is not None and format_timestamp(stamp, precision="milli") <= last:
        stamp = parse_timestamp(last) + timedelta(milliseconds=1)
    modified = format_timestamp(stamp, precision="milli")
    readers = audience(db, inc)
    import_objects(
        db, actor=actor, objects=[incident_stix(inc, org, modified)], owner_org_id=inc.organisation_id,
        default_tlp=INCIDENT_TLP, recipient_org_ids=readers,
    )  # fmt: skip
    incident = Source(SharedFacts(inc.organisation_id, INCIDENT_TLP, None, frozenset(readers)))
    links: dict[DerivedPolicy, list[dict[str, Any]]] = defaultdict(list)
    for ref in refs or []:
        policy = _relationship_policy(db, inc, incident, ref)
        links[policy].append(
            {
                "type": "relationship", "spec_version": "2.1", "id": new_id("relationship"),
                "created": modified, "modified": modified, "relationship_type": "related-to",
                "source_ref": inc.stix_id, "target_ref": ref, "created_by_ref": org.identity_id,
                "object_marking_refs": [marking_id(policy.tlp)],
            }
        )  # fmt: skip
    for policy, objects in links.items():
        import_objects(
            db, actor=actor, objects=objects, owner_org_id=policy.owner_org_id, default_tlp=policy.tlp,
            sharing_group_id=policy.sharing_group_id, recipient_org_ids=policy.recipient_org_ids,
        )  # fmt: skip


def report_incident(db: Session, *, actor: Actor, data: IncidentIn) -> Incident:
    """A member organisation reports an incident (analysts and representatives)."""
    require_role(actor, *NATIONAL_ROLES, doing="report incidents")
    if actor.org_id is None:
        raise InvalidInput(
            "incidents are reported by a member organisation", kind="incident_needs_organisation"
        )
    bad = [r for r in data.stix_refs if not is_valid_id(r)]
    if bad:
        raise InvalidInput(
            f"not STIX identifiers: {', '.join(bad[:5])}",
            kind="not_stix_ids",
            params={"ids": ", ".join(bad[:5])},
        )
    inc = Incident(
        stix_id=new_id("incident"),
        organisation_id=actor.org_id,
        reported_by=actor.username,
        title=data.title,
        description=data.description,
        category=data.category.value,
        severity=data.severity,
        sector=data.sector,
        critical_infrastructure=data.critical_infrastructure,
        stix_refs=orjson.dumps(data.stix_refs).decode(),
        status="reported",
        reported_at=now(),
    )
    db.add(inc)
    db.flush()
    _publish(db, actor, inc, refs=data.stix_refs)
    audit.record(
        db, actor=actor, action="crisis.incident.report", target=inc.stix_id,
        details={"id": inc.id, "category": inc.category, "severity": inc.severity},
    )  # fmt: skip
    notices.notify(
        db,
        kind="incident.reported",
        subject=notices.Text(
            "Incident #%(id)s reported: %(title)s (severity %(severity)s)",
            {"id": inc.id, "title": inc.title, "severity": inc.severity},
        ),
        body=notices.Text("Triage it: escalate to the crisis centre or close."),
        target=f"incident:{inc.id}",
        user_ids=notices.recipients(db, roles=[Role.ANALYST], org_ids=[actor.org_id]),
        webhook_org_ids=[actor.org_id],
    )
    return inc


def get_incident(db: Session, *, actor: Actor, incident_id: int) -> Incident:
    inc = db.get(Incident, incident_id)
    if inc is None or not _may_see(db, actor, inc):
        raise NotFound(
            f"incident {incident_id} not found", kind="incident_not_found", params={"incident": incident_id}
        )
    return inc


def _may_see(db: Session, actor: Actor, inc: Incident) -> bool:
    return (
        actor.is_system
        or actor.is_operator
        or actor.org_id == inc.organisation_id
        or (org_kind(db, actor.org_id) == "crisis_centre")
    )


def list_incidents(
    db: Session, *, actor: Actor, status: str | None = None, limit: int = 200
) -> list[Incident]:
    stmt = (
        select(Incident)
        .where(Incident.exercise_run_id.is_(None))
        .order_by(Incident.id.desc())
        .limit(min(limit, 1000))
    )
    if not (actor.is_system or actor.is_operator or org_kind(db, actor.org_id) == "crisis_centre"):
        stmt = stmt.where(or_(Incident.organisation_id == actor.org_id))
    if status:
        stmt = stmt.where(Incident.status == status)
    return list(db.execute(stmt).scalars())


def check_national_step(actor: Actor, inc: Incident, doing: str = "act on this incident") -> None:
    """Triage, escalation and closure belong to the reporting organisation's analysts and representatives."""
    require_role(actor, *NATIONAL_ROLES, doing=doing)
    require_org(actor, inc.organisation_id, doing=doing)


def _national_step(db: Session, actor: Actor, incident_id: int, doing: str) -> Incident:
    inc = get_incident(db, actor=actor, incident_id=incident_id)
    check_national_step(actor, inc, doing)
    return inc


def triage_incident(db: Session, *, actor: Actor, incident_id: int, data: TransitionIn) -> Incident:
    _national_step(db, actor, incident_id, "triage this incident")
    values: dict[str, Any] = {"triage_note": data.note}
    if data.severity is not None:
        values["severity"] = data.severity
    inc = move(
        db,
        Incident,
        incident_id,
        machine=INCIDENT,
        to="triaged",
        label=f"incident {incident_id}",
        values=values,
    )
    _publish(db, actor, inc)
    audit.record(
        db,
        actor=actor,
        action="crisis.incident.triage",
        target=inc.stix_id,
        details={"id": inc.id, "severity": inc.severity},
    )
    return inc


def escalate_incident(db: Session, *, actor: Actor, incident_id: int, data: TransitionIn) -> Incident:
    """Hand the incident to the alliance: the crisis centre's coordinators must act."""
    _national_step(db, actor, incident_id, "escalate this incident")
    inc = move(db, Incident, incident_id, machine=INCIDENT, to="escalated", label=f"incident {incident_id}")
    _publish(db, actor, inc)
    audit.record(
        db,
        actor=actor,
        action="crisis.incident.escalate",
        target=inc.stix_id,
        details={"id": inc.id, "note": data.note},
    )
    notices.notify(
        db,
        kind="incident.escalated",
        subject=notices.Text(
            "Incident #%(id)s escalated by %(org)s: %(title)s",
            {"id": inc.id, "org": actor.org_short_name, "title": inc.title},
        ),
        body=notices.Text("Decide whether to open an alliance crisis from it."),
        target=f"incident:{inc.id}",
        user_ids=notices.recipients(db, roles=[Role.COORDINATOR], centre=True),
    )
    return inc


def close_incident(db: Session, *, actor: Actor, incident_id: int, data: TransitionIn) -> Incident:
    _national_step(db, actor, incident_id, "close this incident")
    inc = move(db, Incident, incident_id, machine=INCIDENT, to="closed", label=f"incident {incident_id}")
    _publish(db, actor, inc)
    audit.record(
        db,
        actor=actor,
        action="crisis.incident.close",
        target=inc.stix_id,
        details={"id": inc.id, "note": data.note},
    )
    return inc
