"""Read models for the UI pages: the selects behind the dashboard, search and object page.

Every select here starts from ``visible_clause`` for the viewer's organisation,
so no page can list, count or link an object the sharing policy hides.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, func, or_, select, union
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation, User
from colsec.accounts.roles import Actor
from colsec.db import is_sqlite
from colsec.errors import InvalidInput, NotFound
from colsec.stix.ids import canonical_timestamp
from colsec.store import audit
from colsec.store.models import Observable, StixObject
from colsec.store.policy import Recipient, visible_clause
from colsec.store.queries import recipient_for_org
from colsec.web.params import MAX_ID

__all__ = [
    "INTEL_TYPES",
    "OBSERVABLE_KINDS",
    "Dashboard",
    "ObjectDetail",
    "SearchPage",
    "SearchQuery",
    "dashboard",
    "list_tokens",
    "object_detail",
    "org_names",
    "property_rows",
    "search",
    "set_user_language",
    "user_by_name",
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
OBSERVABLE_KINDS = (
    "ipv4", "ipv6", "domain", "url", "email", "mac", "asn", "filename", "regkey", "mutex", "user-agent",
    "x509-serial", "md5", "sha1", "sha256", "sha512", "sha3-256", "sha3-512", "ssdeep", "tlsh",
)  # fmt: skip
ALERT_WINDOW_DAYS = 3
MAX_VALUE_MATCHES = 5000  # object versions one value search considers (newest shown first)
CHART_DAYS = 14


def _viewer(db: Session, org_id: int | None) -> Recipient:
    return recipient_for_org(db, org_id)


def org_names(db: Session) -> dict[int, Organisation]:
    return {o.id: o for o in db.execute(select(Organisation)).scalars()}


# --------------------------------------------------------------------------- dashboard


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
_ACTIVITY_CACHE: dict[tuple[str, int | None, str], tuple[float, list[Any]]] = {}


def _activity(db: Session, viewer: Recipient, since: str, day: Any) -> list[Any]:
    """Visible latest versions per (day added, type, owner) since ``since``.

    Cached per organisation for ACTIVITY_TTL_SECONDS: the picture refreshes every
    few seconds instead of recounting the window on every page view.
    """
    return list(
        db.execute(
            select(day, StixObject.type, StixObject.owner_org_id, func.count())
            .where(
                StixObject.date_added >= since,
                StixObject.is_latest,
                # SQLite: ``|| ''`` keeps the type index from driving this plan, so the covering
                # ix_stix_object_activity (colsec.web.ui.models) answers it from the index alone.
                # PostgreSQL plans this well by itself and would misjudge the expression.
                (StixObject.type.concat("") if is_sqlite(db) else StixObject.type).in_(INTEL_TYPES),
                visible_clause(viewer),
            )
            .group_by(day, StixObject.type, StixObject.owner_org_id)
        ).all()
    )


def dashboard(db: Session, *, actor: Actor, now: datetime | None = None) -> Dashboard:
    now = now or datetime.now(UTC)
    viewer = _viewer(db, actor.org_id)
    today = now.date()
    first = today - timedelta(days=CHART_DAYS - 1)
    since = first.isoformat()  # date_added is canonical text, so a date prefix compares correctly
    day = func.substr(StixObject.date_added, 1, 10)
    bind = db.get_bind()
    key = (str(bind.engine.url), actor.org_id, since)
    hit = _ACTIVITY_CACHE.get(key)
    if hit and time.monotonic() - hit[0] < ACTIVITY_TTL_SECONDS:
        rows = hit[1]
    else:
        rows = _activity(db, viewer, since, day)
        if len(_ACTIVITY_CACHE) > 1000:
            _ACTIVITY_CACHE.clear()
        _ACTIVITY_CACHE[key] = (time.monotonic(), rows)
    orgs = org_names(db)
    days = [first + timedelta(days=i) for i in range(CHART_DAYS)]
    index = {d.isoformat(): i for i, d in enumerate(days)}
    by_type: dict[str, list[int]] = defaultdict(lambda: [0] * CHART_DAYS)
    by_member: dict[str, list[int]] = defaultdict(lambda: [0] * CHART_DAYS)
    recent: dict[int, int] = defaultdict(int)
    seen: dict[int, int] = defaultdict(int)
    alert_from = (today - timedelta(days=ALERT_WINDOW_DAYS - 1)).isoformat()
    total_recent = 0
    for d, typ, owner, n in rows:
        i = index.get(d)
        if i is None:
            continue
        by_type[typ][i] += n
        owner_name = orgs[owner].short_name if owner in orgs else "?"
        by_member[owner_name][i] += n
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
        by_type=dict(sorted(by_type.items())),
        by_member=dict(sorted(by_member.items())),
        latest_sightings=latest,
        total_visible_recent=total_recent,
    )


# --------------------------------------------------------------------------- search


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
    viewer = _viewer(db, actor.org_id)
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


# --------------------------------------------------------------------------- object page


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


def display_name(body: dict[str, Any]) -> str:
    for key in ("name", "value", "pattern", "relationship_type", "id"):
        v = body.get(key)
        if isinstance(v, str) and v:
            return v if len(v) <= 120 else v[:117] + "..."
    return str(body.get("id", ""))


def object_detail(db: Session, *, actor: Actor, object_id: str) -> ObjectDetail:
    viewer = _viewer(db, actor.org_id)
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


# --------------------------------------------------------------------------- settings


def set_user_language(db: Session, *, actor: Actor, language: str) -> None:
    """Store the UI language as the user's setting (audited like any account change)."""
    if language not in ("en", "ru"):
        raise InvalidInput("language must be 'en' or 'ru'")
    if actor.user_id is None:
        return
    user = db.get(User, actor.user_id)
    if user is None:
        raise NotFound("user not found")
    if user.language != language:
        user.language = language
        db.flush()
        audit.record(
            db, actor=actor, action="user.language", target=user.username, details={"language": language}
        )


# --------------------------------------------------------------------------- admin


def list_tokens(db: Session) -> list[tuple[Any, str]]:
    """Every API token with its user's name (hash never leaves the database layer)."""
    from colsec.accounts.models import ApiToken

    rows = db.execute(
        select(ApiToken, User.username)
        .join(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.created_at.desc())
    ).all()
    return [(t, u) for t, u in rows]


def user_by_name(db: Session, username: str) -> User | None:
    return db.execute(select(User).where(User.username == username.strip().lower())).scalar_one_or_none()


# --------------------------------------------------------------------------- object properties

_SHOWN_ELSEWHERE = frozenset({"type", "id", "spec_version", "object_marking_refs", "created_by_ref"})


def property_rows(body: dict[str, Any]) -> list[tuple[str, str]]:
    """Top-level properties as (name, text) for the object page; nested values as compact JSON."""
    rows = []
    for key, value in body.items():
        if key in _SHOWN_ELSEWHERE:
            continue
        if isinstance(value, str):
            text = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            text = ", ".join(value)
        else:
            text = orjson.dumps(value).decode()
        rows.append((key, text if len(text) <= 4000 else text[:3997] + "..."))
    return rows
