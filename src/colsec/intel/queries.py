"""Read paths over correlation and scores; every one filters objects through the sharing policy.

Derived data inherits (``colsec.store.derive``): a correlated value is shown to a
reader only when two objects the reader may see state it, and every count, owner,
status and score shown is computed from the objects that reader may see, so no
answer reveals the value, id, existence or count of a hidden holder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor
from colsec.errors import InvalidInput, NotFound
from colsec.intel.correlation import DEFAULT_CAP
from colsec.intel.models import Correlation, CorrelationEdge, IndicatorScore
from colsec.intel.scoring import base_score, expiry, score_at
from colsec.stix.ids import format_timestamp, parse_timestamp
from colsec.store.models import Observable, StixObject
from colsec.store.policy import Recipient, visible_clause
from colsec.store.queries import recipient_for_org

__all__ = [
    "STATUSES",
    "ReaderGroup",
    "indicator_score",
    "list_correlations",
    "reader_group",
    "related_objects",
]

STATUSES = ("active", "capped", "warninglisted")
_SCAN = 500


def _holders(kind: str, value: str) -> Any:
    """Visible-object predicate helper: objects stating the value or (for parents) a child of it."""
    child = exists().where(
        CorrelationEdge.parent_kind == kind,
        CorrelationEdge.parent_value == value,
        Observable.kind == CorrelationEdge.kind,
        Observable.value == CorrelationEdge.value,
    )
    return or_(and_(Observable.kind == kind, Observable.value == value), child)


@dataclass
class ReaderGroup:
    """A correlation as one reader sees it: built only from the objects that reader may see."""

    ids: set[str] = field(default_factory=set)
    owners: set[int] = field(default_factory=set)
    direct: bool = False  # a visible object states the value itself
    children: bool = False  # a visible object states a contained value

    def shared(self) -> bool:
        return self.direct and len(self.ids) >= 2

    def status(self, stored: str, cap: int) -> str:
        if stored == "warninglisted":  # a property of the value, not of who holds it
            return stored
        return "capped" if len(self.ids) > cap else "active"


def reader_group(
    db: Session, viewer: Recipient, kind: str, value: str, *, contains: bool, cap: int = DEFAULT_CAP
) -> ReaderGroup:
    """Who states ``kind:value`` (and, for a parent, its children) among the objects ``viewer`` may see.

    Counts stop a little past ``cap``: beyond it the value is capped whatever the exact figure.
    """
    where = _holders(kind, value) if contains else and_(Observable.kind == kind, Observable.value == value)
    group = ReaderGroup()
    for oid, owner, okind, ovalue in db.execute(
        select(StixObject.id, StixObject.owner_org_id, Observable.kind, Observable.value)
        .join(Observable, Observable.object_seq == StixObject.seq)
        .where(where, StixObject.is_latest, StixObject.revoked.is_(False), visible_clause(viewer))
        .distinct()
        .limit(max(cap, 1) * 4 + 10)
    ):
        group.ids.add(oid)
        if owner is not None:
            group.owners.add(owner)
        if (okind, ovalue) == (kind, value):
            group.direct = True
        else:
            group.children = True
    return group


def list_correlations(
    db: Session,
    *,
    actor: Actor,
    status: str = "active",
    min_owners: int = 1,
    after_id: int | None = None,
    limit: int = 100,
    cap: int = DEFAULT_CAP,
) -> list[dict[str, Any]]:
    """Correlated values as the caller sees them (``status=capped`` is the review list).

    A value is listed only when at least two objects the caller may see state it (one of
    them the value itself); counts, owners, status and the ``contains`` flag come from those
    objects alone, so nothing tells that a hidden holder exists.
    """
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    viewer = recipient_for_org(db, actor.org_id)
    visible_holder = exists().where(
        Observable.kind == Correlation.kind,
        Observable.value == Correlation.value,
        StixObject.seq == Observable.object_seq,
        StixObject.is_latest,
        visible_clause(viewer),
    )
    # A reader's group is a subset of the stored one: it can only be less capped.
    stored = {"active": ("active", "capped"), "capped": ("capped",), "warninglisted": ("warninglisted",)}
    base = select(Correlation).where(
        Correlation.status.in_(stored[status]), Correlation.n_owners >= min_owners, visible_holder
    )
    out: list[dict[str, Any]] = []
    last = after_id
    while len(out) < limit:
        stmt = base if last is None else base.where(Correlation.id > last)
        batch = list(db.execute(stmt.order_by(Correlation.id).limit(_SCAN)).scalars())
        for c in batch:
            last = c.id
            group = reader_group(db, viewer, c.kind, c.value, contains=c.contains, cap=cap)
            if not group.shared() or len(group.owners) < min_owners or group.status(c.status, cap) != status:
                continue
            out.append(
                {
                    "id": c.id, "kind": c.kind, "value": c.value, "status": status,
                    "warninglist": c.warninglist, "contains": group.children, "visible_objects": len(group.ids),
                    "n_objects": len(group.ids), "n_owners": len(group.owners),
                }
            )  # fmt: skip
            if len(out) >= limit:
                break
        if len(batch) < _SCAN:
            break
    return out


def related_objects(
    db: Session, *, actor: Actor, object_id: str, limit: int = 500, cap: int = DEFAULT_CAP
) -> list[dict[str, Any]]:
    """Objects linked to ``object_id`` by a correlation that is active as the caller sees it."""
    viewer = recipient_for_org(db, actor.org_id)
    own = db.execute(
        select(StixObject.seq).where(StixObject.id == object_id, StixObject.is_latest, visible_clause(viewer))
    ).scalar_one_or_none()
    if own is None:
        raise NotFound(f"object {object_id} not found")
    links: list[
        tuple[str, str, str, str, str]
    ] = []  # (relation, via kind, via value, target kind, target value)
    for kind, value in db.execute(
        select(Observable.kind, Observable.value).where(Observable.object_seq == own)
    ).all():
        candidates = db.execute(
            select(Correlation.kind, Correlation.value, Correlation.status, Correlation.contains).where(Correlation.status.in_(("active", "capped")), Correlation.kind.in_([kind, "domain", "cidr4", "cidr6"]))
            .where(or_(and_(Correlation.kind == kind, Correlation.value == value), Correlation.value.in_(
                select(CorrelationEdge.parent_value).where(CorrelationEdge.kind == kind, CorrelationEdge.value == value))))
        ).all()  # fmt: skip
        active = {
            (ck, cv)
            for ck, cv, st, contains in candidates
            if (g := reader_group(db, viewer, ck, cv, contains=contains, cap=cap)).shared()
            and g.status(st, cap) == "active"
        }
        if (kind, value) in active:
            links.append(("same", kind, value, kind, value))
            for ck, cv in db.execute(
                select(CorrelationEdge.kind, CorrelationEdge.value).where(
                    CorrelationEdge.parent_kind == kind, CorrelationEdge.parent_value == value
                )
            ).all():
                links.append(("contains", kind, value, ck, cv))
        for pk, pv in active - {(kind, value)}:
            links.append(("contained-in", pk, pv, pk, pv))
    out: dict[str, dict[str, Any]] = {}
    for relation, via_kind, via_value, tkind, tvalue in links:
        stmt = (
            select(StixObject.id, StixObject.type, Organisation.short_name)
            .join(Observable, Observable.object_seq == StixObject.seq)
            .outerjoin(Organisation, Organisation.id == StixObject.owner_org_id)
            .where(
                Observable.kind == tkind, Observable.value == tvalue, StixObject.is_latest,
                StixObject.revoked.is_(False), StixObject.id != object_id, visible_clause(viewer),
            )
            .limit(limit)
        )  # fmt: skip
        for oid, typ, owner in db.execute(stmt):
            out.setdefault(
                oid,
                {
                    "id": oid,
                    "type": typ,
                    "owner": owner,
                    "relation": relation,
                    "via": {"kind": via_kind, "value": via_value},
                },
            )
    return list(out.values())[:limit]


def _visible_sightings(db: Session, viewer: Recipient, object_id: str) -> tuple[list[str], bool]:
    """Bodies of the sighting versions of ``object_id`` the viewer may see, and whether any is hidden."""
    about = and_(
        StixObject.type == "sighting",
        StixObject.revoked.is_(False),
        StixObject.body.like(f'%"sighting_of_ref":"{object_id}"%'),
    )
    seen = list(db.execute(select(StixObject.body).where(about, visible_clause(viewer))).scalars())
    total = db.execute(select(func.count()).select_from(StixObject).where(about)).scalar_one()
    return seen, total > len(seen)


def indicator_score(db: Session, *, actor: Actor, object_id: str, at: str | None = None) -> dict[str, Any]:
    """The indicator's decayed score now (or at ``at``), if the caller may see the indicator.

    The stored score counts every sighting; when some are hidden from the caller, the score is
    recomputed from the sightings the caller may see, so it never moves because of them.
    """
    viewer = recipient_for_org(db, actor.org_id)
    body = db.execute(
        select(StixObject.body).where(
            StixObject.id == object_id, StixObject.is_latest, visible_clause(viewer)
        )
    ).scalar()
    row = db.get(IndicatorScore, object_id)
    if body is None or row is None:
        raise NotFound(f"no score for {object_id}")
    sightings, hidden = _visible_sightings(db, viewer, object_id)
    n, base, ref_time, expires_at = row.sightings, row.base_score, row.ref_time, row.expires_at
    if hidden:
        n, base, ref_time, expires_at = _reader_score(orjson.loads(body), row, sightings)
    now = parse_timestamp(at) if at else datetime.now(UTC)
    return {
        "id": object_id, "kind": row.kind, "confidence": row.confidence, "sightings": n,
        "base_score": base, "ref_time": ref_time, "expires_at": expires_at,
        "score": round(score_at(base, row.kind, parse_timestamp(ref_time), now), 2),
        "active": expires_at > format_timestamp(now),
    }  # fmt: skip


def _reader_score(
    indicator: dict[str, Any], row: IndicatorScore, sightings: list[str]
) -> tuple[int, float, str, str]:
    """(sightings, base, ref_time, expires_at) from the indicator and the given sightings only."""
    start = parse_timestamp(indicator.get("valid_from") or indicator.get("created") or row.ref_time)
    n, ref = 0, start
    for text in sightings:
        obj = orjson.loads(text)
        count = obj.get("count", 1)
        n += count if isinstance(count, int) and count > 0 else 1
        try:
            ref = max(ref, parse_timestamp(obj.get("last_seen") or obj.get("created")))
        except (ValueError, TypeError):
            continue
    base = base_score(row.confidence, n)
    exp = expiry(base, row.kind, ref)
    if indicator.get("revoked"):
        exp = min(exp, ref)
    if indicator.get("valid_until"):
        try:
            exp = min(exp, parse_timestamp(indicator["valid_until"]))
        except (ValueError, TypeError):
            pass
    return n, base, format_timestamp(ref), format_timestamp(exp)
