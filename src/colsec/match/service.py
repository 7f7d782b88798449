"""Matching against the store: active indicators in, alerts and sightings out.

``build_engine`` compiles every indicator the caller's organisation may see
(sharing policy applied by the store's queries), skipping revoked, not yet
valid, expired and - when indicator scoring has run - decayed ones; values on
the node's warninglists never alert.  ``store_sightings`` records the
aggregated STIX sightings as objects owned by the caller's organisation.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor
from colsec.errors import InvalidInput
from colsec.match.engine import Alert, CompileReport, IndicatorRecord, MatchEngine
from colsec.match.events import Event
from colsec.match.parse import timestamp_micros
from colsec.match.readers import FieldMapping, ReaderFormat, ReaderStats, read_lines
from colsec.match.sightings import SightingAggregator
from colsec.stix.tlp import TLP
from colsec.store import audit, queries
from colsec.store.service import ImportResult, import_objects

__all__ = [
    "MatchRun",
    "build_engine",
    "indicator_records",
    "match_lines",
    "sighter_identity",
    "store_sightings",
]


def _micros(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return timestamp_micros(value)
    except ValueError:
        return None


def _decayed_ids(db: Session, now_iso: str) -> set[str]:
    """Indicators whose score has expired, when the intel scoring tables exist."""
    try:
        from colsec.intel.models import IndicatorScore
    except ImportError:  # scoring not installed on this node
        return set()
    try:
        return set(
            db.execute(select(IndicatorScore.object_id).where(IndicatorScore.expires_at <= now_iso)).scalars()
        )
    except Exception:  # table not migrated yet
        return set()


def indicator_records(db: Session, *, actor: Actor, now: int | None = None) -> Iterator[IndicatorRecord]:
    """Every STIX-patterned indicator visible to the actor's organisation, latest version."""
    from datetime import UTC, datetime

    now = now if now is not None else int(time.time() * 1_000_000)
    now_iso = datetime.fromtimestamp(now / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    decayed = _decayed_ids(db, now_iso)
    orgs = dict(db.execute(select(Organisation.id, Organisation.short_name)).tuples().all())
    viewer = queries.recipient_for_org(db, actor.org_id)
    cursor = None
    while True:
        page = queries.list_objects(
            db, viewer=viewer, types=["indicator"], include_revoked=False, cursor=cursor, limit=5000
        )
        for row in page.rows:
            body = orjson.loads(row.body)
            if body.get("pattern_type", "stix") != "stix" or not isinstance(body.get("pattern"), str):
                continue
            if body["id"] in decayed:
                continue
            yield IndicatorRecord(
                id=body["id"],
                pattern=body["pattern"],
                valid_from=_micros(body.get("valid_from")),
                valid_until=_micros(body.get("valid_until")),
                revoked=bool(body.get("revoked") or row.revoked),
                owner=orgs.get(row.owner_org_id) if row.owner_org_id is not None else None,
                tlp=TLP(row.tlp).label,
                name=body.get("name"),
            )
        if not page.more or page.next is None:
            return
        cursor = page.next


def build_engine(
    db: Session,
    *,
    actor: Actor,
    now: int | None = None,
    warninglists: bool = True,
    window: float = 3600.0,
) -> tuple[MatchEngine, CompileReport]:
    hook = None
    if warninglists:
        try:
            from colsec.formats.warninglists import load_index

            hook = load_index(db).is_warninglisted
        except Exception:  # no warninglists imported (or tables absent): nothing is benign
            hook = None
    engine = MatchEngine(warninglist=hook, window=window)
    report = engine.load(indicator_records(db, actor=actor, now=now), now=now)
    return engine, report


def sighter_identity(db: Session, *, actor: Actor) -> str:
    if actor.org_id is None:
        raise InvalidInput("sightings need an organisation: act as a user of one")
    identity = db.execute(select(Organisation.identity_id).where(Organisation.id == actor.org_id)).scalar()
    if identity is None:
        raise InvalidInput("the acting organisation has no STIX identity")
    return str(identity)


def store_sightings(db: Session, *, actor: Actor, objects: list[dict[str, Any]]) -> ImportResult:
    """Store aggregated sightings (TLP:AMBER: they describe our own networks)."""
    if not objects:
        return ImportResult()
    result = import_objects(db, actor=actor, objects=objects, default_tlp=TLP.AMBER, origin="match")
    audit.record(
        db,
        actor=actor,
        action="match.sightings",
        target=f"{len(objects)} sightings",
        details={"inserted": result.inserted, "indicators": len({o["sighting_of_ref"] for o in objects})},
    )
    return result


@dataclass
class MatchRun:
    stats: ReaderStats
    compile: CompileReport
    alerts: list[Alert] = field(default_factory=list)
    sightings: list[dict[str, Any]] = field(default_factory=list)
    stored: ImportResult | None = None
    seconds: float = 0.0


def match_lines(
    db: Session,
    *,
    actor: Actor,
    lines: Iterable[str],
    fmt: ReaderFormat | None = None,
    mapping: FieldMapping | None = None,
    record_sightings: bool = True,
    batch: int = 5_000,
) -> MatchRun:
    """Match a batch of telemetry lines (an upload); store the sightings when asked."""
    started = time.perf_counter()
    engine, report = build_engine(db, actor=actor)
    stats = ReaderStats()
    run = MatchRun(stats=stats, compile=report)
    pending: list[Event] = []
    for event in read_lines(lines, fmt=fmt, mapping=mapping, stats=stats):
        pending.append(event)
        if len(pending) >= batch:
            run.alerts.extend(engine.match(pending))
            pending = []
    run.alerts.extend(engine.match(pending))
    if record_sightings and run.alerts:
        agg = SightingAggregator(sighter_identity=sighter_identity(db, actor=actor))
        agg.add(run.alerts)
        run.sightings = agg.sightings()
        run.stored = store_sightings(db, actor=actor, objects=run.sightings)
    audit.record(
        db,
        actor=actor,
        action="match.run",
        target=f"{stats.events} events",
        details={"alerts": len(run.alerts), "malformed": stats.malformed, "indicators": report.loaded},
    )
    run.seconds = time.perf_counter() - started
    return run
