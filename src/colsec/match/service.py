"""Matching against the store: active indicators in, alerts and sightings out.

``build_engine`` compiles the indicators ``colsec.match.selection`` selects for
the caller's organisation (the same set sensor exports use) and reports every
exclusion; values on the node's warninglists never alert.  ``store_sightings``
records the aggregated STIX sightings as objects owned by the caller's
organisation, each readable only by those who may read its indicator.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor
from colsec.errors import Forbidden, InvalidInput
from colsec.match.engine import Alert, CompileReport, IndicatorRecord, MatchEngine
from colsec.match.events import Event
from colsec.match.readers import FieldMapping, ReaderFormat, ReaderStats, read_lines
from colsec.match.selection import Mode, decayed_ids, micros, select_indicators
from colsec.match.sightings import SightingAggregator
from colsec.stix.tlp import TLP, marking_id
from colsec.store import audit, queries
from colsec.store.derive import DerivedPolicy, Source, derive_policy
from colsec.store.models import StixObject
from colsec.store.policy import SharedFacts, visible_clause
from colsec.store.service import ImportResult, import_objects
from colsec.store.sources import alliance_orgs, source_facts

__all__ = [
    "OWN_TELEMETRY_TLP",
    "EngineCache",
    "MatchRun",
    "build_engine",
    "indicator_records",
    "indicators_changed",
    "match_lines",
    "refresh_engine",
    "sighter_identity",
    "store_sightings",
]


# What a sighting says about the sighter's own networks is at least TLP:AMBER.
OWN_TELEMETRY_TLP = TLP.AMBER


def _indicator_rows(
    db: Session, *, actor: Actor, cursor: queries.Cursor | None, include_revoked: bool
) -> Iterator[tuple[IndicatorRecord | None, str, queries.Cursor]]:
    """(record or None when not a STIX pattern, indicator id, row cursor) in (date_added, seq) order."""
    orgs = {row[0]: row[1] for row in db.execute(select(Organisation.id, Organisation.short_name))}
    viewer = queries.recipient_for_org(db, actor.org_id)
    while True:
        page = queries.list_objects(
            db, viewer=viewer, types=["indicator"], include_revoked=include_revoked, cursor=cursor, limit=5000
        )
        for row in page.rows:
            body = orjson.loads(row.body)
            cursor = queries.Cursor(row.date_added, row.seq)
            if body.get("pattern_type", "stix") != "stix" or not isinstance(body.get("pattern"), str):
                yield None, body["id"], cursor
                continue
            yield (
                IndicatorRecord(
                    id=body["id"],
                    pattern=body["pattern"],
                    valid_from=micros(body.get("valid_from")),
                    valid_until=micros(body.get("valid_until")),
                    revoked=bool(body.get("revoked") or row.revoked),
                    owner=orgs.get(row.owner_org_id) if row.owner_org_id is not None else None,
                    tlp=TLP(row.tlp).label,
                    name=body.get("name"),
                ),
                body["id"],
                cursor,
            )
        if not page.more or page.next is None:
            return
        cursor = page.next


def indicator_records(db: Session, *, actor: Actor, now: int | None = None) -> Iterator[IndicatorRecord]:
    """Every STIX-patterned indicator in force for the actor's organisation, latest version."""
    mode = Mode.ACTIVE if now is None else Mode.AT
    yield from select_indicators(db, org_id=actor.org_id, mode=mode, at=now).records


class EngineCache:
    """One compiled engine per organisation, kept current without rebuilding.

    ``get`` compiles on first use; afterwards it reads only indicator versions added since the
    last call (keyset cursor on the store) and applies them with ``MatchEngine.add``/``remove``,
    and drops indicators whose score has decayed since.  A lock per organisation serialises
    refresh and matching on the shared engine.
    """

    def __init__(self, *, window: float = 3600.0) -> None:
        self.window = window
        self._entries: dict[int | None, tuple[MatchEngine, queries.Cursor | None, threading.Lock]] = {}
        self._guard = threading.Lock()

    def lock(self, actor: Actor) -> threading.Lock:
        with self._guard:
            entry = self._entries.get(actor.org_id)
            return entry[2] if entry else self._entries.setdefault(actor.org_id, _placeholder())[2]

    def get(self, db: Session, *, actor: Actor, now: int | None = None) -> MatchEngine:
        """The organisation's engine, refreshed; call while holding ``lock(actor)``."""
        now = now if now is not None else int(time.time() * 1_000_000)
        engine, cursor, lk = self._entries.get(actor.org_id) or _placeholder()
        if engine is None:
            engine = MatchEngine(warninglist=_warninglist_hook(db), window=self.window)
            selection = select_indicators(db, org_id=actor.org_id, mode=Mode.AT, at=now)
            cursor = selection.last
            engine.load(selection.records, now=now)
        else:
            cursor = refresh_engine(db, engine, actor=actor, cursor=cursor, now=now)
        self._entries[actor.org_id] = (engine, cursor, lk)
        return engine


def refresh_engine(
    db: Session, engine: MatchEngine, *, actor: Actor, cursor: queries.Cursor | None, now: int
) -> queries.Cursor | None:
    """Apply the indicator versions added since ``cursor`` to ``engine`` in place; the new cursor.

    New versions replace their indicator's rows, revoked or expired ones and those decayed or
    no longer visible to the organisation just go: nothing else is recompiled.
    """
    since = cursor
    changed: list[IndicatorRecord] = []
    gone: list[str] = []
    for rec, ident, seen in _indicator_rows(db, actor=actor, cursor=cursor, include_revoked=True):
        cursor = seen
        if rec is None:
            gone.append(ident)
        else:
            changed.append(rec)  # replaces; revoked or expired versions just remove
    gone += _restricted_since(db, actor=actor, cursor=since)
    decayed = decayed_ids(db, now)
    engine.apply([r for r in changed if r.id not in decayed], now=now)
    for row in engine.live_rows([*gone, *decayed]):
        engine._kill(row)
    return cursor


def indicators_changed(db: Session, *, cursor: queries.Cursor | None) -> bool:
    """Whether any indicator version was added after ``cursor``: one indexed probe, so a worker
    may ask every second and refresh only when the answer is yes."""
    stmt = select(StixObject.seq).where(StixObject.type == "indicator")
    if cursor is not None:
        stmt = stmt.where(
            or_(
                StixObject.date_added > cursor.date_added,
                and_(StixObject.date_added == cursor.date_added, StixObject.seq > cursor.seq),
            )
        )
    return db.execute(stmt.limit(1)).first() is not None


def _restricted_since(db: Session, *, actor: Actor, cursor: queries.Cursor | None) -> list[str]:
    """Indicators whose new latest version (added after ``cursor``) the actor may no longer see.

    The refresh reads only visible versions, so without this an indicator restricted away
    from the organisation would stay compiled and keep alerting on values it may not read.
    """
    viewer = queries.recipient_for_org(db, actor.org_id)
    stmt = select(StixObject.id).where(
        StixObject.type == "indicator", StixObject.is_latest, ~visible_clause(viewer)
    )
    if cursor is not None:
        stmt = stmt.where(
            or_(
                StixObject.date_added > cursor.date_added,
                and_(StixObject.date_added == cursor.date_added, StixObject.seq > cursor.seq),
            )
        )
    return list(db.execute(stmt).scalars())


def _placeholder() -> tuple[Any, None, threading.Lock]:
    return (None, None, threading.Lock())


def _warninglist_hook(db: Session) -> Any:
    try:
        from colsec.formats.warninglists import load_index

        return load_index(db).is_warninglisted
    except Exception:  # no warninglists imported (or tables absent): nothing is benign
        return None


def build_engine(
    db: Session,
    *,
    actor: Actor,
    now: int | None = None,
    warninglists: bool = True,
    window: float = 3600.0,
    mode: Mode = Mode.ACTIVE,
) -> tuple[MatchEngine, CompileReport]:
    """Compile the selection (``select_indicators``, shared with sensor exports); the report says
    what was left out and why.  ``now`` with the default mode means the set in force at ``now``."""
    if now is not None and mode is Mode.ACTIVE:
        mode = Mode.AT
    selection = select_indicators(db, org_id=actor.org_id, mode=mode, at=now)
    engine = MatchEngine(warninglist=_warninglist_hook(db) if warninglists else None, window=window)
    report = engine.load(selection.records, now=selection.at)
    report.excluded = selection.excluded
    report.last = selection.last
    return engine, report


def sighter_identity(db: Session, *, actor: Actor) -> str:
    if actor.org_id is None:
        raise InvalidInput("sightings need an organisation: act as a user of one")
    identity = db.execute(select(Organisation.identity_id).where(Organisation.id == actor.org_id)).scalar()
    if identity is None:
        raise InvalidInput("the acting organisation has no STIX identity")
    return str(identity)


def store_sightings(db: Session, *, actor: Actor, objects: list[dict[str, Any]]) -> ImportResult:
    """Store aggregated sightings owned by the sighting organisation, each marked like its indicator.

    A sighting names its indicator and the matched values, so it is readable only by those who
    may read the indicator (``colsec.store.derive``): most restrictive TLP, the indicator's
    sharing group, its owner and recipients that qualify; never below TLP:AMBER, since it
    also describes the sighter's own networks.  A sighting whose indicator the
    sighter may no longer see (or that is gone) is not stored.
    """
    if not objects:
        return ImportResult()
    if actor.org_id is None:
        raise InvalidInput("sightings need an organisation: act as a user of one")
    refs = sorted({str(o["sighting_of_ref"]) for o in objects})
    latest = dict(
        db.execute(
            select(StixObject.id, StixObject.seq).where(StixObject.id.in_(refs), StixObject.is_latest)
        ).all()
    )
    facts = source_facts(db, list(latest.values()))
    alliance = alliance_orgs(db)
    # The sighter's telemetry is a source too: it describes its own networks.
    own = Source(SharedFacts(owner_org_id=actor.org_id, tlp=OWN_TELEMETRY_TLP))
    by_policy: dict[DerivedPolicy, list[dict[str, Any]]] = defaultdict(list)
    skipped = 0
    for obj in objects:
        source = facts.get(latest.get(obj["sighting_of_ref"], -1))
        try:
            if source is None:
                raise Forbidden("indicator not found")
            policy = derive_policy([source, own], owner_org_id=actor.org_id, alliance=alliance)
        except Forbidden:
            skipped += 1
            continue
        by_policy[policy].append({**obj, "object_marking_refs": [marking_id(policy.tlp)]})
    result = ImportResult()
    for policy, group in by_policy.items():
        part = import_objects(
            db, actor=actor, objects=group, owner_org_id=policy.owner_org_id, default_tlp=policy.tlp,
            sharing_group_id=policy.sharing_group_id, recipient_org_ids=policy.recipient_org_ids, origin="match",
            declassify=True,  # recomputed from its sources: it follows an indicator its owner declassified
        )  # fmt: skip
        result.received += part.received
        result.inserted += part.inserted
        result.unchanged += part.unchanged
        result.by_type.update(part.by_type)
        result.errors.extend(part.errors)
        result.inserted_ids.extend(part.inserted_ids)
        result.inserted_seqs.extend(part.inserted_seqs)
    audit.record(
        db,
        actor=actor,
        action="match.sightings",
        target=f"{len(objects)} sightings",
        details={"inserted": result.inserted, "indicators": len(refs), "skipped": skipped},
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
    engine: MatchEngine | None = None,
    mode: Mode = Mode.ACTIVE,
    at: int | None = None,
) -> MatchRun:
    """Match a batch of telemetry lines (an upload); store the sightings when asked.

    Pass a cached ``engine`` (``EngineCache.get``) to skip compiling the indicator set.
    """
    started = time.perf_counter()
    if engine is None:
        engine, report = build_engine(db, actor=actor, mode=mode, now=at)
    else:
        report = CompileReport(
            loaded=len(engine), simple=len(engine) - len(engine.complex), complex=len(engine.complex)
        )
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
        details={
            "alerts": len(run.alerts),
            "malformed": stats.malformed,
            "indicators": report.loaded,
            "mode": mode.value,
        },
    )
    run.seconds = time.perf_counter() - started
    return run
