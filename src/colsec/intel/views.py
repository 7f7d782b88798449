"""Read models for intelligence pages: search with filters and keyset paging, and one object
with its versions, relationships and sightings.

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
    "OBSERVABLE_KINDS",
    "ObjectDetail",
    "SearchPage",
    "SearchQuery",
    "object_detail",
    "search",
    "visible_types",
]

OBSERVABLE_KINDS = (
    "ipv4", "ipv6", "domain", "url", "email", "mac", "asn", "filename", "regkey", "mutex", "user-agent",
    "x509-serial", "md5", "sha1", "sha256", "sha512", "sha3-256", "sha3-512", "ssdeep", "tlsh",
)  # fmt: skip
MAX_VALUE_MATCHES = 5000  # object versions one value search considers (newest shown first)


@dataclass
class SearchQuery:
    value: str = ""
    type: str = ""
    label: str = ""
    owner: int | None = None
    tlp: int | None = None
    since: date | None = None
    until: date | None = None

    def is_empty(self) -> bool:
        return not (self.value or self.type or self.label or self.owner is not None or self.tlp is not None
                    or self.since or self.until)  # fmt: skip


@dataclass
class SearchPage:
    rows: list[StixObject]
    more: bool
    next_cursor: str | None
    names: dict[int, str] = field(default_factory=dict)


def _cursor(text: str) -> tuple[str, int]:
    try:
        stamp, seq = text.rsplit("_", 1)
        number = int(seq)
        if not 0 <= number <= MAX_ID:
            raise ValueError
        return canonical_timestamp(stamp), number
    except (ValueError, TypeError):
        raise InvalidInput(f"invalid paging cursor {text!r}") from None


DENSE_ROWS = 2000


def _dense(db: Session, cond: ColumnElement[bool]) -> bool:
    """Whether ``cond`` matches more than DENSE_ROWS latest versions (bounded: stops counting there)."""
    probe = select(StixObject.seq).where(cond, StixObject.is_latest).limit(DENSE_ROWS + 1).subquery()
    return int(db.execute(select(func.count()).select_from(probe)).scalar_one()) > DENSE_ROWS


def search(
    db: Session, *, actor: Actor, query: SearchQuery, cursor: str | None = None, limit: int = 25
) -> SearchPage:
    """Latest visible versions matching every given filter, newest first, keyset-paged."""
    viewer = recipient_for_org(db, actor.org_id)
    stmt = select(StixObject).where(StixObject.is_latest, visible_clause(viewer))
    value = query.value.strip()
    if value:
        if "--" in value and " " not in value:
            stmt = stmt.where(StixObject.id == value)
        else:
            lowered = value.lower()
            kinds = Observable.kind.in_(OBSERVABLE_KINDS)
            # (kind, value) index: the exact value or a prefix, each an index range; every kind
            # is listed so the index applies (an OR of the two would scan the whole table).
            obs = union(
                select(Observable.object_seq).where(kinds, Observable.value == value),
                select(Observable.object_seq).where(
                    kinds, Observable.value >= lowered, Observable.value < lowered + "\uffff"
                ),
            )
            # Resolve the value first (an index range), then fetch those rows: as one
            # statement the planner may walk every object and probe the subquery for each.
            seqs = list(db.execute(obs.limit(MAX_VALUE_MATCHES)).scalars())
            stmt = stmt.where(StixObject.seq.in_(seqs))
    # SQLite: a filter that matches many rows must not drive the plan: walking the (date_added, seq)
    # index newest-first finds a page at once, while the filter's own index would make the
    # database sort every match.  Rare values keep their index.  ``|| ''`` / ``+ 0`` hide it.
    hide_index = is_sqlite(db)  # PostgreSQL's planner chooses well from its statistics
    if query.type:
        dense = hide_index and _dense(db, StixObject.type == query.type)
        stmt = stmt.where((StixObject.type.concat("") if dense else StixObject.type) == query.type)
    if query.owner is not None:
        dense = hide_index and _dense(db, StixObject.owner_org_id == query.owner)
        stmt = stmt.where((StixObject.owner_org_id + 0 if dense else StixObject.owner_org_id) == query.owner)
    if query.tlp is not None:
        stmt = stmt.where(StixObject.tlp == query.tlp)
    if query.label:
        needle = orjson.dumps(query.label.strip()).decode()
        stmt = stmt.where(StixObject.body.contains('"labels":'), StixObject.body.contains(needle))
    if query.since:
        stmt = stmt.where(StixObject.date_added >= query.since.isoformat())
    if query.until:
        stmt = stmt.where(StixObject.date_added < (query.until + timedelta(days=1)).isoformat())
    if cursor:
        stamp, seq = _cursor(cursor)
        stmt = stmt.where(
            or_(StixObject.date_added < stamp, and_(StixObject.date_added == stamp, StixObject.seq < seq))
        )
    stmt = stmt.order_by(StixObject.date_added.desc(), StixObject.seq.desc()).limit(limit + 1)
    rows = list(db.execute(stmt).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = f"{rows[-1].date_added}_{rows[-1].seq}" if more and rows else None
    return SearchPage(rows=rows, more=more, next_cursor=nxt)


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
