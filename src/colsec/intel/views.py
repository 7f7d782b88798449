"""Read models for intelligence pages: one object with its versions, relationships and
sightings (search is ``colsec.intel.search``).

Every select starts from ``visible_clause`` for the viewer's organisation: a neighbour the
viewer may not see keeps only its type, never its name.  The web layer only renders.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor
from colsec.errors import NotFound
from colsec.store.models import ObjectLink, StixObject
from colsec.store.policy import visible_clause
from colsec.store.queries import recipient_for_org
from colsec.store.views import display_name

__all__ = [
    "ObjectDetail",
    "object_detail",
    "visible_types",
]

_TYPES_CACHE: dict[str, tuple[float, list[str]]] = {}
TYPES_TTL_SECONDS = 60.0


def visible_types(db: Session) -> list[str]:
    """Type names for the search filter (a type name reveals no object; cached for a minute)."""
    bind = db.get_bind()
    key = str(bind.engine.url)
    hit = _TYPES_CACHE.get(key)
    if hit and time.monotonic() - hit[0] < TYPES_TTL_SECONDS:
        return hit[1]
    types = sorted(t for (t,) in db.execute(select(StixObject.type).where(StixObject.is_latest).distinct()))
    _TYPES_CACHE[key] = (time.monotonic(), types)
    return types


# The ATT&CK Enterprise tactics in matrix order (their x_mitre_shortname = kill-chain phase name).
ATTACK_TACTICS = (
    "reconnaissance", "resource-development", "initial-access", "execution", "persistence",
    "privilege-escalation", "defense-evasion", "credential-access", "discovery", "lateral-movement",
    "collection", "command-and-control", "exfiltration", "impact",
)  # fmt: skip
ATTACK_CHAINS = frozenset({"mitre-attack", "mitre-ics-attack", "mitre-mobile-attack"})
MAX_RELATIONSHIPS = 200  # relationships listed on one object page (the newest)
MAX_MEMBERS = 2000  # object_refs of a grouping or report named on its page


@dataclass
class ObjectDetail:
    row: StixObject
    body: dict[str, Any]
    versions: list[StixObject]
    relationships: list[dict[str, Any]]
    sightings: list[dict[str, Any]]
    names: dict[str, tuple[str, str]]  # visible object id -> (type, display name)
    owner: Organisation | None
    creator: str | None
    members: list[tuple[str, str, str]] = field(default_factory=list)  # visible object_refs: (id, type, name)
    hidden_members: int = 0  # object_refs the reader may not see (or not held here)
    tactics: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # tactic -> techniques (id, name)

    def tactic_strip(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Every ATT&CK tactic in matrix order with this object's techniques under it (empty: none)."""
        extra = [t for t in self.tactics if t not in ATTACK_TACTICS]
        return [(t, self.tactics.get(t, [])) for t in (*ATTACK_TACTICS, *extra)]


def _phases(body: dict[str, Any]) -> list[str]:
    out = []
    for phase in body.get("kill_chain_phases") or ():
        if isinstance(phase, dict) and phase.get("kill_chain_name") in ATTACK_CHAINS:
            name = phase.get("phase_name")
            if isinstance(name, str):
                out.append(name)
    return out


def object_detail(db: Session, *, actor: Actor, object_id: str) -> ObjectDetail:
    viewer = recipient_for_org(db, actor.org_id)
    visible = visible_clause(viewer)
    versions = list(
        db.execute(
            select(StixObject).where(StixObject.id == object_id, visible).order_by(StixObject.modified.desc())
        ).scalars()
    )
    if not versions:
        raise NotFound(f"object {object_id} not found")
    row = next((v for v in versions if v.is_latest), versions[0])
    body = orjson.loads(row.body)
    # relationship and sighting versions naming this id, from the link index (not a scan of bodies)
    linked = select(ObjectLink.seq).where(ObjectLink.ref_id == object_id)
    rel_rows = db.execute(
        select(StixObject)
        .where(StixObject.seq.in_(linked), StixObject.type == "relationship", StixObject.is_latest, visible)
        .order_by(StixObject.seq.desc())
        .limit(MAX_RELATIONSHIPS)
    ).scalars()
    relationships = []
    other_ids: set[str] = set()
    for r in rel_rows:
        rb = orjson.loads(r.body)
        if object_id not in (rb.get("source_ref"), rb.get("target_ref")):
            continue
        relationships.append(rb)
        other_ids.update(x for x in (rb.get("source_ref"), rb.get("target_ref")) if isinstance(x, str))
    sight_rows = db.execute(
        select(StixObject)
        .where(StixObject.seq.in_(linked), StixObject.type == "sighting", StixObject.is_latest, visible)
        .order_by(StixObject.date_added.desc())
        .limit(50)
    ).scalars()
    sightings = [
        sb for sb in (orjson.loads(s.body) for s in sight_rows) if sb.get("sighting_of_ref") == object_id
    ]
    for ref in ("created_by_ref",):
        if isinstance(body.get(ref), str):
            other_ids.add(body[ref])
    refs = body.get("object_refs")
    member_ids = [x for x in refs[:MAX_MEMBERS] if isinstance(x, str)] if isinstance(refs, list) else []
    other_ids.update(member_ids)
    for key, value in body.items():  # every other reference property gets its target's name
        if key.endswith("_ref") and isinstance(value, str):
            other_ids.add(value)
        elif key.endswith("_refs") and key != "object_refs" and isinstance(value, list):
            other_ids.update(x for x in value[:50] if isinstance(x, str))
    for s in sightings:
        other_ids.update(x for x in s.get("where_sighted_refs", []) if isinstance(x, str))
    names: dict[str, tuple[str, str]] = {object_id: (row.type, display_name(body))}
    tactics: dict[str, list[tuple[str, str]]] = {}
    for phase in _phases(body):
        tactics.setdefault(phase, []).append((object_id, names[object_id][1]))
    related = {r.get("source_ref") for r in relationships} | {r.get("target_ref") for r in relationships}
    wanted = sorted(other_ids)
    for i in range(0, len(wanted), 500):
        found = db.execute(
            select(StixObject.id, StixObject.type, StixObject.body).where(
                StixObject.id.in_(wanted[i : i + 500]), StixObject.is_latest, visible
            )
        ).all()
        for oid, typ, ob in found:
            other = orjson.loads(ob)
            names[oid] = (typ, display_name(other))
            if typ == "attack-pattern" and oid in related and oid != object_id:
                for phase in _phases(other):
                    tactics.setdefault(phase, []).append((oid, names[oid][1]))
    members = [(m, *names[m]) for m in member_ids if m in names]
    owner = db.get(Organisation, row.owner_org_id) if row.owner_org_id is not None else None
    creator = names.get(body.get("created_by_ref", ""), (None, None))[1]
    return ObjectDetail(
        row=row,
        body=body,
        versions=versions,
        relationships=relationships,
        sightings=sightings,
        names=names,
        owner=owner,
        creator=creator,
        members=members,
        hidden_members=len(member_ids) - len(members),
        tactics=tactics,
    )
