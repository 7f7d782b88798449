"""Read models for intelligence pages: one object with its versions, relationships and
sightings (search is ``colsec.intel.search``).

Every select starts from ``visible_clause`` for the viewer's organisation: a neighbour the
viewer may not see keeps only its type, never its name.  The web layer only renders.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, func, or_, select, union
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor
from colsec.db import is_sqlite
from colsec.db_base import MAX_ID
from colsec.errors import InvalidInput, NotFound
from colsec.stix.ids import canonical_timestamp
from colsec.store.models import Observable, StixObject
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
    needle = f'"{object_id}"'
    rel_rows = db.execute(
        select(StixObject)
        .where(
            StixObject.type == "relationship", StixObject.is_latest, visible, StixObject.body.contains(needle)
        )
        .limit(60)
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
        .where(StixObject.type == "sighting", StixObject.is_latest, visible, StixObject.body.contains(needle))
        .order_by(StixObject.date_added.desc())
        .limit(50)
    ).scalars()
    sightings = [
        sb for sb in (orjson.loads(s.body) for s in sight_rows) if sb.get("sighting_of_ref") == object_id
    ]
    for ref in ("created_by_ref",):
        if isinstance(body.get(ref), str):
            other_ids.add(body[ref])
    for key in ("object_refs", "where_sighted_refs"):
        refs = body.get(key)
        if isinstance(refs, list):
            other_ids.update(x for x in refs[:50] if isinstance(x, str))
    for s in sightings:
        other_ids.update(x for x in s.get("where_sighted_refs", []) if isinstance(x, str))
    names: dict[str, tuple[str, str]] = {object_id: (row.type, display_name(body))}
    if other_ids:
        found = db.execute(
            select(StixObject.id, StixObject.type, StixObject.body).where(
                StixObject.id.in_(sorted(other_ids)), StixObject.is_latest, visible
            )
        ).all()
        for oid, typ, ob in found:
            names[oid] = (typ, display_name(orjson.loads(ob)))
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
    )
