"""Read models over the store: the situational picture the dashboard draws.

Every select starts from ``visible_clause`` for the viewer's organisation and every count
sums only the visibility classes the policy lets it see (``colsec.store.activity``), so no
page can list, count or link an object the sharing policy hides.  The web layer only renders.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor
from colsec.accounts.service import organisations_by_id
from colsec.store.activity import ActivityRow, activity_counts
from colsec.store.models import StixObject
from colsec.store.policy import Recipient, visible_clause
from colsec.store.queries import recipient_for_org

__all__ = [
    "INTEL_TYPES",
    "Dashboard",
    "MemberState",
    "activity_cached",
    "alert_level",
    "daily_series",
    "dashboard",
    "display_name",
]

# Types counted as "new intelligence" on the dashboard.
INTEL_TYPES = (
    "indicator",
    "malware",
    "threat-actor",
    "intrusion-set",
    "campaign",
    "attack-pattern",
    "vulnerability",
    "report",
    "sighting",
    "tool",
    "observed-data",
    "incident",
)
ALERT_WINDOW_DAYS = 3
CHART_DAYS = 14


def display_name(body: dict[str, Any]) -> str:
    for key in ("name", "value", "pattern", "relationship_type", "id"):
        v = body.get(key)
        if isinstance(v, str) and v:
            return v if len(v) <= 120 else v[:117] + "..."
    return str(body.get("id", ""))


@dataclass
class MemberState:
    org: Organisation
    level: int  # 0 quiet, 1 guarded, 2 elevated, 3 high
    recent: int
    sightings: int


@dataclass
class Dashboard:
    members: list[MemberState]
    days: list[date]
    by_type: dict[str, list[int]]
    by_member: dict[str, list[int]]
    latest_sightings: list[dict[str, Any]]
    total_visible_recent: int


def alert_level(recent: int, sightings: int) -> int:
    """Alert level of a member from its last three days: sightings weigh five times an object.

    Quiet (0) with nothing new; guarded (1) with any activity; elevated (2) from a
    weighted 25; high (3) from 100 or at least ten sightings.
    """
    score = recent + 5 * sightings
    if score == 0:
        return 0
    if score >= 100 or sightings >= 10:
        return 3
    if score >= 25:
        return 2
    return 1


ACTIVITY_TTL_SECONDS = 15.0
_ACTIVITY_CACHE: dict[tuple[str, int | None, bool, str, str | None], tuple[float, list[ActivityRow]]] = {}


def daily_series(
    rows: Iterable[tuple[str, str, int | None, int]],
    days: Sequence[date],
    key: Callable[[str, int | None], str | None],
) -> dict[str, list[int]]:
    """Counts per day for each group ``key(type, owner)`` names (None: not counted), sorted by group."""
    index = {d.isoformat(): i for i, d in enumerate(days)}
    out: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for d, typ, owner, n in rows:
        i = index.get(d)
        group = key(typ, owner)
        if i is None or group is None:
            continue
        out[group][i] += n
    return dict(sorted(out.items()))


def activity_cached(
    db: Session, *, reader: Recipient, since: str, until: str | None = None
) -> list[ActivityRow]:
    """``activity_counts`` of intelligence types for one organisation's reader, cached.

    Cached per reader and window for ACTIVITY_TTL_SECONDS: the dashboard and the series
    API refresh every few seconds instead of recounting the window on every request.
    """
    key = (str(db.get_bind().engine.url), reader.org_id, reader.alliance_member, since, until)
    hit = _ACTIVITY_CACHE.get(key)
    if hit and time.monotonic() - hit[0] < ACTIVITY_TTL_SECONDS:
        return hit[1]
    rows = activity_counts(db, reader, since, until, types=INTEL_TYPES)
    if len(_ACTIVITY_CACHE) > 1000:
        _ACTIVITY_CACHE.clear()
    _ACTIVITY_CACHE[key] = (time.monotonic(), rows)
    return rows


def dashboard(db: Session, *, actor: Actor, now: datetime | None = None) -> Dashboard:
    now = now or datetime.now(UTC)
    viewer = recipient_for_org(db, actor.org_id)
    today = now.date()
    first = today - timedelta(days=CHART_DAYS - 1)
    since = first.isoformat()  # date_added is canonical text, so a date prefix compares correctly
    rows = activity_cached(db, reader=viewer, since=since)
    orgs = organisations_by_id(db)
    days = [first + timedelta(days=i) for i in range(CHART_DAYS)]
    by_type = daily_series(rows, days, lambda typ, owner: typ)
    by_member = daily_series(rows, days, lambda typ, owner: orgs[owner].short_name if owner in orgs else "?")
    recent: dict[int, int] = defaultdict(int)
    seen: dict[int, int] = defaultdict(int)
    alert_from = (today - timedelta(days=ALERT_WINDOW_DAYS - 1)).isoformat()
    in_chart = {d.isoformat() for d in days}
    total_recent = 0
    for d, typ, owner, n in rows:
        if d not in in_chart:
            continue
        if d >= alert_from and owner is not None:
            total_recent += n
            if typ == "sighting":
                seen[owner] += n
            else:
                recent[owner] += n
    members = [
        MemberState(
            org=o, level=alert_level(recent[o.id], seen[o.id]), recent=recent[o.id], sightings=seen[o.id]
        )
        for o in sorted(orgs.values(), key=lambda o: o.short_name)
        if o.kind in ("member", "crisis_centre")
    ]
    sightings = db.execute(
        select(StixObject)
        .where(StixObject.type == "sighting", StixObject.is_latest, visible_clause(viewer))
        .order_by(StixObject.date_added.desc(), StixObject.seq.desc())
        .limit(8)
    ).scalars()
    latest = []
    for row in sightings:
        body = orjson.loads(row.body)
        latest.append({"row": row, "body": body, "owner": orgs.get(row.owner_org_id or -1), "of": None})
    targets = {s["body"].get("sighting_of_ref") for s in latest} - {None}
    if targets:
        names = {
            oid: display_name(orjson.loads(b))
            for oid, b in db.execute(
                select(StixObject.id, StixObject.body).where(
                    StixObject.id.in_(sorted(targets)), StixObject.is_latest, visible_clause(viewer)
                )
            ).all()
        }
        for s in latest:
            s["of"] = names.get(s["body"].get("sighting_of_ref"))
    return Dashboard(
        members=members,
        days=days,
        by_type=by_type,
        by_member=by_member,
        latest_sightings=latest,
        total_visible_recent=total_recent,
    )
