"""Read paths over correlation and scores; every one filters objects through the sharing policy.

A correlated value is shown to a viewer only when the viewer may see at least one
object stating it, and the objects listed are the visible ones only; the global
counts (which tell that hidden objects exist) are for administrators.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor, Role
from colsec.errors import InvalidInput, NotFound
from colsec.intel.models import Correlation, CorrelationEdge, IndicatorScore
from colsec.intel.scoring import score_at
from colsec.stix.ids import format_timestamp, parse_timestamp
from colsec.store.models import Observable, StixObject
from colsec.store.policy import visible_clause
from colsec.store.queries import recipient_for_org

__all__ = ["STATUSES", "indicator_score", "list_correlations", "related_objects"]

STATUSES = ("active", "capped", "warninglisted")


def _holders(kind: str, value: str) -> Any:
    """Visible-object predicate helper: objects stating the value or (for parents) a child of it."""
    child = exists().where(
        CorrelationEdge.parent_kind == kind,
        CorrelationEdge.parent_value == value,
        Observable.kind == CorrelationEdge.kind,
        Observable.value == CorrelationEdge.value,
    )
    return or_(and_(Observable.kind == kind, Observable.value == value), child)


def list_correlations(
    db: Session,
    *,
    actor: Actor,
    status: str = "active",
    min_owners: int = 1,
    after_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Correlated values the caller may see (``status=capped`` is the review list)."""
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
    stmt = select(Correlation).where(
        Correlation.status == status, Correlation.n_owners >= min_owners, visible_holder
    )
    if after_id is not None:
        stmt = stmt.where(Correlation.id > after_id)
    out = []
    admin = actor.role == Role.ADMIN
    for c in db.execute(stmt.order_by(Correlation.id).limit(limit)).scalars():
        n_visible = len(
            db.execute(
                select(StixObject.seq)
                .join(Observable, Observable.object_seq == StixObject.seq)
                .where(
                    _holders(c.kind, c.value),
                    StixObject.is_latest,
                    StixObject.revoked.is_(False),
                    visible_clause(viewer),
                )
                .distinct()
                .limit(10_000)
            ).all()
        )
        out.append(
            {
                "id": c.id, "kind": c.kind, "value": c.value, "status": c.status, "warninglist": c.warninglist,
                "contains": c.contains, "visible_objects": n_visible,
                "n_objects": c.n_objects if admin else None, "n_owners": c.n_owners if admin else None,
            }
        )  # fmt: skip
    return out


def related_objects(db: Session, *, actor: Actor, object_id: str, limit: int = 500) -> list[dict[str, Any]]:
    """Objects linked to ``object_id`` by an active correlation, as the caller may see them."""
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
        active = set(
            db.execute(
                select(Correlation.kind, Correlation.value).where(Correlation.status == "active", Correlation.kind.in_([kind, "domain", "cidr4", "cidr6"]))
                .where(or_(and_(Correlation.kind == kind, Correlation.value == value), Correlation.value.in_(
                    select(CorrelationEdge.parent_value).where(CorrelationEdge.kind == kind, CorrelationEdge.value == value))))
            ).all()
        )  # fmt: skip
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


def indicator_score(db: Session, *, actor: Actor, object_id: str, at: str | None = None) -> dict[str, Any]:
    """The indicator's decayed score now (or at ``at``), if the caller may see the indicator."""
    viewer = recipient_for_org(db, actor.org_id)
    visible = db.execute(
        select(StixObject.seq).where(StixObject.id == object_id, StixObject.is_latest, visible_clause(viewer))
    ).first()
    row = db.get(IndicatorScore, object_id)
    if visible is None or row is None:
        raise NotFound(f"no score for {object_id}")
    now = parse_timestamp(at) if at else datetime.now(UTC)
    return {
        "id": object_id, "kind": row.kind, "confidence": row.confidence, "sightings": row.sightings,
        "base_score": row.base_score, "ref_time": row.ref_time, "expires_at": row.expires_at,
        "score": round(score_at(row.base_score, row.kind, parse_timestamp(row.ref_time), now), 2),
        "active": row.expires_at > format_timestamp(now),
    }  # fmt: skip
