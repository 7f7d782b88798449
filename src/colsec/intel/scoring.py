"""Indicator scores that decay with age, and the active set used by matching and exports.

The model follows the shape of MISP's polynomial decay::

    score(t) = base * (1 - (t / lifetime) ** (1 / speed))      for 0 <= t < lifetime, else 0

``base`` comes from the source's confidence plus a bonus per sighting; ``t`` runs
from the newest of ``valid_from`` and the last sighting (a sighting refreshes the
indicator).  Lifetime and speed depend on the observable type: IPs churn within
weeks, hashes stay true for a year.  Because the curve is monotonic, the instant the
score crosses ``THRESHOLD`` is stored (``expires_at``) and the active set is one
indexed comparison, with no per-row arithmetic at query time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import ColumnElement, Table, delete, exists, insert, select, update
from sqlalchemy.orm import Session

from colsec.intel.models import IndicatorScore
from colsec.stix.ids import format_timestamp, now_timestamp, parse_timestamp
from colsec.store.models import Observable, StixObject
from colsec.store.seqsets import seq_batches

_INDICATOR_SCORE_TABLE = cast(Table, IndicatorScore.__table__)  # Core inserts: no ORM bookkeeping per row

__all__ = [
    "DECAY",
    "DEFAULT_CONFIDENCE",
    "THRESHOLD",
    "Decay",
    "active_indicator_filter",
    "active_indicator_ids",
    "base_score",
    "expiry",
    "range_driven",
    "score_at",
    "score_indicators",
    "update_for_import",
]

THRESHOLD = 30.0
DEFAULT_CONFIDENCE = 50
SIGHTING_BONUS = 5.0
SIGHTING_BONUS_MAX = 25.0


@dataclass(frozen=True, slots=True)
class Decay:
    lifetime_days: float
    speed: float  # > 1: drops fast at first; < 1: holds, then falls


_IP = Decay(30, 2.0)
_HASH = Decay(365, 0.5)
DECAY: dict[str, Decay] = {
    "ipv4": _IP,
    "ipv6": _IP,
    "cidr4": _IP,
    "cidr6": _IP,
    "ip": _IP,
    "url": Decay(60, 1.5),
    "domain": Decay(90, 1.0),
    "email": Decay(180, 1.0),
    "md5": _HASH,
    "sha1": _HASH,
    "sha256": _HASH,
    "sha512": _HASH,
    "sha3-256": _HASH,
    "sha3-512": _HASH,
    "default": Decay(120, 1.0),
}


def base_score(confidence: int | None, sightings: int) -> float:
    conf = DEFAULT_CONFIDENCE if confidence is None else max(0, min(100, confidence))
    return min(100.0, conf + min(SIGHTING_BONUS_MAX, SIGHTING_BONUS * sightings))


def score_at(base: float, kind: str, ref_time: datetime, now: datetime) -> float:
    decay = DECAY.get(kind, DECAY["default"])
    t = (now - ref_time).total_seconds() / 86400.0
    if t <= 0:
        return base
    if t >= decay.lifetime_days:
        return 0.0
    return float(base * (1.0 - (t / decay.lifetime_days) ** (1.0 / decay.speed)))


def expiry(base: float, kind: str, ref_time: datetime, threshold: float = THRESHOLD) -> datetime:
    """The instant ``score_at`` falls to ``threshold`` (the inverse of the decay polynomial)."""
    if base <= threshold:
        return ref_time
    decay = DECAY.get(kind, DECAY["default"])
    days = decay.lifetime_days * (1.0 - threshold / base) ** decay.speed
    return ref_time + timedelta(days=days)


def active_indicator_filter(now: str | None = None) -> ColumnElement[bool]:
    """SQL predicate over ``StixObject``: false for indicators whose score has decayed away.

    Objects without a score row (not indicators, or not scored yet) stay active.
    """
    at = now or now_timestamp()
    return ~exists().where(IndicatorScore.object_id == StixObject.id, IndicatorScore.expires_at <= at)


def active_indicator_ids(db: Session, *, now: str | None = None) -> set[str]:
    """Ids of latest, unrevoked indicators still above the threshold (for the matching engine)."""
    stmt = select(StixObject.id).where(
        StixObject.type == "indicator",
        StixObject.is_latest,
        StixObject.revoked.is_(False),
        active_indicator_filter(now),
    )
    return set(db.execute(stmt).scalars())


def range_driven(column: Any) -> Any:
    """``column`` as an expression no index answers, for filters beside a unit's range of sequences.

    Given ``seq BETWEEN a AND b AND type IN (...)``, SQLite answers from the (type, ...) index: it
    reads every indicator in the database and keeps the batch's, once per batch of every import
    (quadratic in a large event).  ``type || ''`` is the same text, but only the range can drive.
    """
    return column + ""


def _kind_of(db: Session, seqs: Sequence[int]) -> dict[int, str]:
    kinds: dict[int, str] = {}
    for batch in seq_batches(Observable.object_seq, seqs):
        for seq, kind in db.execute(
            select(Observable.object_seq, Observable.kind).where(batch).order_by(Observable.id)
        ):
            kinds.setdefault(seq, kind)
    return kinds


def _ts(value: Any, fallback: str) -> datetime:
    try:
        return parse_timestamp(value)
    except (ValueError, TypeError):
        return parse_timestamp(fallback)


def _take_prior(db: Session, ids: Any, prior: dict[str, tuple[int, str]]) -> None:
    """Sightings and reference time already counted for ``ids`` (a list, or a query of ids) into
    ``prior``; their score rows go, to be written anew."""
    for oid, n, prior_ref in db.execute(
        select(IndicatorScore.object_id, IndicatorScore.sightings, IndicatorScore.ref_time).where(
            IndicatorScore.object_id.in_(ids)
        )
    ):
        prior[oid] = (n, prior_ref)
    db.execute(delete(IndicatorScore).where(IndicatorScore.object_id.in_(ids)))


def score_indicators(
    db: Session,
    rows: Sequence[tuple[int, str, str]],
    *,
    kinds: dict[int, str] | None = None,
    prior: dict[str, tuple[int, str]] | None = None,
) -> int:
    """(Re)score indicator versions given as (seq, id, body); keeps sightings already counted.

    ``kinds`` (observable kind per seq) and ``prior`` (what ``_take_prior`` gives, the rows
    already gone) come from a caller that read them by ranges of sequences; else they are read
    here by the rows' own seqs and ids.
    """
    if not rows:
        return 0
    if kinds is None:
        kinds = _kind_of(db, [r[0] for r in rows])
    if prior is None:
        prior = {}
        ids = [r[1] for r in rows]
        for i in range(0, len(ids), 900):
            _take_prior(db, ids[i : i + 900], prior)
    now = now_timestamp()
    out = []
    parsed: dict[Any, datetime] = {}  # an event's indicators share a few times: each parsed, spelled once
    spelled: dict[datetime, str] = {}

    def ts(value: Any) -> datetime:
        if type(value) is not str:
            return _ts(value, now)
        got = parsed.get(value)
        if got is None:
            got = parsed[value] = _ts(value, now)
        return got

    def spell(dt: datetime) -> str:
        got = spelled.get(dt)
        if got is None:
            got = spelled[dt] = format_timestamp(dt)
        return got

    for seq, oid, body in rows:
        obj = orjson.loads(body)
        kind = kinds.get(seq, "default")
        start = ts(obj.get("valid_from") or obj.get("created"))
        n, last = prior.get(oid, (0, ""))
        ref: datetime = max(start, parse_timestamp(last)) if last else start
        conf = obj.get("confidence")
        base = base_score(conf if isinstance(conf, int) else None, n)
        exp: datetime = expiry(base, kind, ref)
        if obj.get("revoked"):
            exp = min(exp, ref)
        if obj.get("valid_until"):
            exp = min(exp, ts(obj["valid_until"]))
        out.append(
            {
                "object_id": oid, "object_seq": seq, "kind": kind,
                "confidence": conf if isinstance(conf, int) else DEFAULT_CONFIDENCE, "sightings": n,
                "ref_time": spell(ref), "base_score": base, "expires_at": spell(exp),
                "updated_at": now,
            }
        )  # fmt: skip
    db.connection().execute(insert(_INDICATOR_SCORE_TABLE), out)  # Core: no ORM bulk path per row
    return len(out)


def _apply_sightings(db: Session, sightings: Sequence[tuple[str, int, str]]) -> None:
    """Add sightings (indicator id, count, seen at) to scores and move expiry accordingly."""
    for oid, count, seen in sightings:
        row = db.get(IndicatorScore, oid)
        if row is None:
            continue
        n = row.sightings + count
        ref = max(parse_timestamp(row.ref_time), _ts(seen, row.ref_time))
        base = base_score(row.confidence, n)
        db.execute(
            update(IndicatorScore)
            .where(IndicatorScore.object_id == oid)
            .values(
                sightings=n,
                ref_time=format_timestamp(ref),
                base_score=base,
                expires_at=format_timestamp(expiry(base, row.kind, ref)),
                updated_at=now_timestamp(),
            )
        )


def update_for_import(db: Session, seqs: Sequence[int]) -> None:
    """Score new indicator versions and count new sightings against their indicators.

    Read by ranges of sequences (the indicators' own seqs are scattered), each latest indicator
    with its first observable's kind beside it: the observables of the unit's other objects
    (most of a MISP event's) are never read.  Rows come through the session's connection, as
    tuples: the ORM's per-row work was most of the step for a large event.
    """
    indicators: list[tuple[int, str, str]] = []
    sights: list[tuple[str, int, str]] = []
    kinds: dict[int, str] = {}
    prior: dict[str, tuple[int, str]] = {}
    db.flush()  # the connection's reads below see what the session holds
    conn = db.connection()
    is_indicator = range_driven(StixObject.type) == "indicator"
    for batch in seq_batches(StixObject.seq, seqs):
        # the batch's latest indicators named by a subquery, not by a list of their ids
        _take_prior(db, select(StixObject.id).where(batch, is_indicator, StixObject.is_latest), prior)
        # Each latest indicator's first observable by a join, in (seq, id) order: a per-row
        # "ORDER BY id LIMIT 1" subquery let PostgreSQL walk the observable key for every row
        # on a freshly filled, unanalysed table (quadratic in the import's size).
        for seq, kind in conn.execute(
            select(Observable.object_seq, Observable.kind)
            .join(StixObject, StixObject.seq == Observable.object_seq)
            .where(batch, is_indicator, StixObject.is_latest)
            .order_by(Observable.object_seq, Observable.id)
        ):
            kinds.setdefault(seq, kind)
        for seq, oid, typ, body, latest in conn.execute(
            select(
                StixObject.seq, StixObject.id, StixObject.type, StixObject.body, StixObject.is_latest
            ).where(batch, range_driven(StixObject.type).in_(["indicator", "sighting"]))
        ):  # fmt: skip
            if typ == "indicator" and latest:
                indicators.append((seq, oid, body))
            elif typ == "sighting":
                obj = orjson.loads(body)
                ref = obj.get("sighting_of_ref")
                if isinstance(ref, str) and ref.startswith("indicator--"):
                    count = obj.get("count", 1)
                    seen = obj.get("last_seen") or obj.get("created")
                    sights.append((ref, count if isinstance(count, int) and count > 0 else 1, str(seen)))
    score_indicators(db, indicators, kinds=kinds, prior=prior)
    db.flush()
    _apply_sightings(db, sights)
