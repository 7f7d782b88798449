"""Alerts: raised once per dedupe key, delivered to organisations, rendered through the sharing policy.

Webhook deliveries are outbox rows written with the alert (``colsec.outbox``).

An organisation becomes a recipient only if it may see every object the alert is
based on (or the alert rests on public data only, such as the KEV catalogue).  When
an alert is read, the objects listed are filtered again with ``visible_clause`` for
the reader, so an alert never names an object its reader may not see.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.db import is_sqlite
from colsec.errors import InvalidInput, NotFound
from colsec.intel.models import Alert, AlertObject, AlertRecipient, Asset
from colsec.outbox import Channel, Outgoing, put
from colsec.outbox.models import Topic
from colsec.outbox.webhooks import destination, subscribed
from colsec.stix.ids import now_timestamp
from colsec.store.models import StixObject
from colsec.store.policy import visible_clause
from colsec.store.queries import recipient_for_org

__all__ = [
    "OPEN_STATES",
    "SEVERITIES",
    "STATES",
    "AlertView",
    "alert_for",
    "count_by_state",
    "list_alerts",
    "mark_read",
    "new_count",
    "open_by_asset",
    "open_exposure_by_member",
    "raise_alert",
    "visible_seqs",
]


def _insert(db: Session, table: Any) -> Any:
    return sqlite.insert(table) if is_sqlite(db) else postgresql.insert(table)


def visible_seqs(db: Session, org_id: int, seqs: Sequence[int]) -> list[int]:
    """The subset of object versions ``org_id`` may see under the sharing policy."""
    if not seqs:
        return []
    viewer = recipient_for_org(db, org_id)
    out: list[int] = []
    for i in range(0, len(seqs), 900):
        out.extend(
            db.execute(
                select(StixObject.seq).where(
                    StixObject.seq.in_(list(seqs[i : i + 900])), visible_clause(viewer)
                )
            ).scalars()
        )
    return out


def raise_alert(
    db: Session,
    *,
    kind: str,
    dedupe_key: str,
    severity: str,
    title: str,
    recipients: Iterable[int],
    object_seqs: Sequence[int] = (),
    value_kind: str | None = None,
    value: str | None = None,
    asset_id: int | None = None,
    cve: str | None = None,
    details: dict[str, Any] | None = None,
    public: bool = False,
) -> Alert | None:
    """Create (or extend) the alert for ``dedupe_key``; returns it, or None when nobody may receive it.

    A recipient must be able to see every object the alert rests on (title, value and
    details are derived from them).  ``public``: the alert rests on public data (KEV/NVD),
    so recipients need not see any object; object refs are still filtered per reader.
    """
    wanted = set(object_seqs)
    allowed = [
        o
        for o in dict.fromkeys(recipients)
        if public or (wanted and set(visible_seqs(db, o, list(wanted))) == wanted)
    ]
    if not allowed:
        return None
    now = now_timestamp()
    db.execute(
        _insert(db, Alert.__table__)
        .values(
            kind=kind, dedupe_key=dedupe_key, severity=severity, title=title[:400], value_kind=value_kind,
            value=value, asset_id=asset_id, cve=cve, details=orjson.dumps(details or {}).decode(),
            created_at=now, updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )  # fmt: skip
    alert = db.execute(select(Alert).where(Alert.dedupe_key == dedupe_key)).scalar_one()
    if object_seqs:
        db.execute(
            _insert(db, AlertObject.__table__)
            .values([{"alert_id": alert.id, "object_seq": s} for s in dict.fromkeys(object_seqs)])
            .on_conflict_do_nothing()
        )
    known = set(
        db.execute(
            select(AlertRecipient.organisation_id).where(AlertRecipient.alert_id == alert.id)
        ).scalars()
    )
    fresh = [o for o in allowed if o not in known]
    if fresh:
        db.execute(
            insert(AlertRecipient),
            [{"alert_id": alert.id, "organisation_id": o, "created_at": now} for o in fresh],
        )
        _queue_webhooks(db, alert.id, subscribed(db, fresh, Topic.ALERTS))
    if known:
        db.execute(update(Alert).where(Alert.id == alert.id).values(updated_at=now))
    return alert


def _queue_webhooks(db: Session, alert_id: int, hooks: Sequence[tuple[int, int]]) -> None:
    """One outbox row per (alert, endpoint), rendered for the endpoint's organisation now.

    The payload is what that organisation may read at the moment the alert reaches it,
    through the same rendering as its alert feed.
    """
    rendered: dict[int, dict[str, Any]] = {}
    for _, org in hooks:
        if org not in rendered:
            rendered[org] = alert_for(db, org_id=org, alert_id=alert_id).to_dict()
    put(
        db,
        (
            Outgoing(
                channel=Channel.WEBHOOK, destination=destination(hook), event="alert", org_id=org,
                idempotency_key=f"alert:{alert_id}:webhook:{hook}",
                payload={"event": "alert", "alert": rendered[org]},
            )
            for hook, org in hooks
        ),
    )  # fmt: skip


SEVERITIES = ("critical", "high", "medium", "low")
STATES = ("new", "acknowledged", "in_progress", "closed")
OPEN_STATES = ("new", "acknowledged", "in_progress")


@dataclass
class AlertView:
    """An alert as one recipient organisation sees it: its own workflow state and only objects it may see."""

    id: int
    kind: str
    severity: str
    title: str
    value_kind: str | None
    value: str | None
    asset_id: int | None
    cve: str | None
    created_at: str
    updated_at: str
    read: bool
    details: dict[str, Any]
    objects: list[dict[str, Any]] = field(default_factory=list)
    state: str = "new"
    acknowledged_by: str | None = None
    acknowledged_at: str | None = None
    assigned_to: str | None = None
    closed_by: str | None = None
    closed_at: str | None = None
    close_reason: str | None = None
    escalation: int = 0
    asset_name: str | None = None

    @property
    def count(self) -> int:
        """How many reports (indicators, sightings) the reader may see were merged into this alert."""
        return max(1, len(self.objects)) if self.value is not None else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "severity": self.severity, "title": self.title,
            "value_kind": self.value_kind, "value": self.value, "asset_id": self.asset_id,
            "asset": self.asset_name, "cve": self.cve, "created_at": self.created_at,
            "updated_at": self.updated_at, "read": self.read, "details": self.details, "objects": self.objects,
            "count": self.count, "state": self.state,
            "acknowledged_by": self.acknowledged_by, "acknowledged_at": self.acknowledged_at,
            "assigned_to": self.assigned_to, "closed_by": self.closed_by, "closed_at": self.closed_at,
            "close_reason": self.close_reason, "escalation": self.escalation,
        }  # fmt: skip


def _render(db: Session, org_id: int, rows: Sequence[tuple[Alert, AlertRecipient]]) -> list[AlertView]:
    if not rows:
        return []
    viewer = recipient_for_org(db, org_id)
    ids = [a.id for a, _ in rows]
    refs: dict[int, dict[str, dict[str, Any]]] = {i: {} for i in ids}
    stmt = (
        select(AlertObject.alert_id, StixObject.id, StixObject.type, Organisation.short_name)
        .join(StixObject, StixObject.seq == AlertObject.object_seq)
        .outerjoin(Organisation, Organisation.id == StixObject.owner_org_id)
        .where(AlertObject.alert_id.in_(ids), visible_clause(viewer))
        .order_by(AlertObject.alert_id, StixObject.seq)
    )
    for alert_id, oid, typ, owner in db.execute(stmt):
        # One entry per object: later versions of the same object replace earlier ones.
        refs[alert_id][oid] = {"id": oid, "type": typ, "owner": owner}
    asset_ids = {a.asset_id for a, _ in rows if a.asset_id is not None}
    names = (
        dict(db.execute(select(Asset.id, Asset.name).where(Asset.id.in_(asset_ids))).all())
        if asset_ids
        else {}
    )
    out = []
    for a, r in rows:
        details = orjson.loads(a.details)
        objects = list(refs[a.id].values())
        if a.kind == "cross_member":
            # Only organisations whose reports the reader may see are named.
            details["members"] = sorted({o["owner"] for o in objects if o["owner"]})
            details.pop("n_members", None)
        out.append(
            AlertView(
                id=a.id, kind=a.kind, severity=a.severity, title=a.title, value_kind=a.value_kind, value=a.value,
                asset_id=a.asset_id, cve=a.cve, created_at=a.created_at, updated_at=a.updated_at,
                read=r.read_at is not None, details=details, objects=objects, state=r.state,
                acknowledged_by=r.acknowledged_by, acknowledged_at=r.acknowledged_at, assigned_to=r.assigned_to,
                closed_by=r.closed_by, closed_at=r.closed_at, close_reason=r.close_reason,
                escalation=r.escalation, asset_name=names.get(a.asset_id) if a.asset_id else None,
            )
        )  # fmt: skip
    return out


def list_alerts(
    db: Session,
    *,
    org_id: int,
    kind: str | None = None,
    unread_only: bool = False,
    state: str | None = None,
    severity: str | None = None,
    asset_id: int | None = None,
    after_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[AlertView]:
    """The organisation's alert inbox, newest first (keyset paging by id).

    ``state="open"`` means every state but closed.
    """
    stmt = (
        select(Alert, AlertRecipient)
        .join(AlertRecipient, AlertRecipient.alert_id == Alert.id)
        .where(AlertRecipient.organisation_id == org_id)
    )
    if kind:
        stmt = stmt.where(Alert.kind == kind)
    if unread_only:
        stmt = stmt.where(AlertRecipient.read_at.is_(None))
    if state == "open":
        stmt = stmt.where(AlertRecipient.state.in_(OPEN_STATES))
    elif state:
        if state not in STATES:
            raise InvalidInput(f"state must be one of: open, {', '.join(STATES)}")
        stmt = stmt.where(AlertRecipient.state == state)
    if severity:
        if severity not in SEVERITIES:
            raise InvalidInput(f"severity must be one of: {', '.join(SEVERITIES)}")
        stmt = stmt.where(Alert.severity == severity)
    if asset_id is not None:
        stmt = stmt.where(Alert.asset_id == asset_id)
    if after_id is not None:
        stmt = stmt.where(AlertRecipient.alert_id > after_id)
    if before_id is not None:
        stmt = stmt.where(AlertRecipient.alert_id < before_id)
    order = AlertRecipient.alert_id.asc() if after_id is not None else AlertRecipient.alert_id.desc()
    rows = [(a, r) for a, r in db.execute(stmt.order_by(order).limit(limit)).all()]
    return _render(db, org_id, rows)


COUNT_CAP = 1000


def _capped(db: Session, stmt: Any, cap: int) -> int:
    """Rows of ``stmt`` counted up to ``cap``: an inbox of 100,000 costs what one of ``cap`` does."""
    return int(db.execute(select(func.count()).select_from(stmt.limit(cap).subquery())).scalar_one())


def count_by_state(db: Session, *, org_id: int, cap: int = COUNT_CAP) -> dict[str, int]:
    """How many of the organisation's alerts are in each state, each counted up to ``cap`` (the tabs)."""
    return {
        state: _capped(
            db,
            select(AlertRecipient.alert_id).where(
                AlertRecipient.organisation_id == org_id, AlertRecipient.state == state
            ),
            cap,
        )
        for state in STATES
    }


def new_count(db: Session, *, org_id: int, cap: int = COUNT_CAP) -> int:
    """Alerts nobody in the organisation has acknowledged yet, up to ``cap`` (the navigation badge)."""
    stmt = select(AlertRecipient.alert_id).where(
        AlertRecipient.organisation_id == org_id, AlertRecipient.state == "new"
    )
    return _capped(db, stmt, cap)


def alert_for(db: Session, *, org_id: int, alert_id: int) -> AlertView:
    row = db.execute(
        select(Alert, AlertRecipient)
        .join(AlertRecipient, AlertRecipient.alert_id == Alert.id)
        .where(Alert.id == alert_id, AlertRecipient.organisation_id == org_id)
    ).first()
    if row is None:
        raise NotFound(f"alert {alert_id} not found")
    return _render(db, org_id, [(row[0], row[1])])[0]


def mark_read(db: Session, *, org_id: int, alert_id: int) -> None:
    res = db.execute(
        update(AlertRecipient)
        .where(AlertRecipient.alert_id == alert_id, AlertRecipient.organisation_id == org_id)
        .values(read_at=func.coalesce(AlertRecipient.read_at, now_timestamp()))
    )
    if not res.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"alert {alert_id} not found")


def open_by_asset(db: Session, *, org_id: int, asset_ids: Iterable[int], cap: int = 1000) -> dict[int, int]:
    """Open alerts per asset as the organisation received them, each counted up to ``cap``."""
    out: dict[int, int] = {}
    for asset_id in asset_ids:
        stmt = (
            select(Alert.id)
            .join(AlertRecipient, AlertRecipient.alert_id == Alert.id)
            .where(
                Alert.asset_id == asset_id,
                AlertRecipient.organisation_id == org_id,
                AlertRecipient.state.in_(OPEN_STATES),
            )
        )
        out[asset_id] = _capped(db, stmt, cap)
    return out


def open_exposure_by_member(
    db: Session, *, actor_org_id: int | None, sees_all: bool, cap: int = 1000
) -> dict[int, int]:
    """Open exposure alerts in each member's own inbox (counted up to ``cap``), for the map.

    A member's exposure is its own business: a member sees only its own count; the crisis
    centre and the node operator (``sees_all``, as for the asset registry) see every member's.
    """
    if sees_all:
        orgs = list(db.execute(select(Organisation.id).where(Organisation.kind == "member")).scalars())
    elif actor_org_id is not None:
        orgs = [actor_org_id]
    else:
        return {}
    out = {}
    for org in orgs:
        stmt = (
            select(AlertRecipient.alert_id)
            .join(Alert, Alert.id == AlertRecipient.alert_id)
            .where(
                AlertRecipient.organisation_id == org,
                AlertRecipient.state.in_(OPEN_STATES),
                Alert.kind == "exposure",
            )
        )
        if n := _capped(db, stmt, cap):
            out[org] = n
    return out
