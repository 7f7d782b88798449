"""Which indicators are in force: the one selection matching and sensor exports share.

An analyst must see why an indicator is not matched, so every exclusion is counted
and named (revoked, expired, not yet valid, decayed), except indicators the caller
may not see: those are a count only, never an id.  Three modes:

- ``active``: in force now (the default);
- ``retro``: every non-revoked indicator, whatever its validity or decay (historical logs);
- ``at``: the set that was in force at a given time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.errors import InvalidInput
from colsec.match.records import IndicatorRecord
from colsec.stix.ids import canonical_timestamp
from colsec.stix.pattern_parse import timestamp_micros
from colsec.stix.tlp import TLP
from colsec.store import queries
from colsec.store.models import StixObject
from colsec.store.policy import Recipient, visible_clause

__all__ = [
    "NAMED_REASONS",
    "Exclusions",
    "IndicatorSelection",
    "Mode",
    "decayed_ids",
    "micros",
    "mode_from_options",
    "parse_at",
    "select_indicators",
    "sensor_objects",
]

NAMED_REASONS = ("revoked", "expired", "not_yet_valid", "decayed", "not_stix")


class Mode(StrEnum):
    ACTIVE = "active"
    RETRO = "retro"
    AT = "at"


@dataclass
class Exclusions:
    """Indicators left out of a selection, by reason; ``not_visible`` is only ever a count."""

    revoked: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    not_yet_valid: list[str] = field(default_factory=list)
    decayed: list[str] = field(default_factory=list)
    not_stix: list[str] = field(default_factory=list)  # other pattern languages: nothing to compile
    not_visible: int = 0

    def named(self) -> dict[str, list[str]]:
        return {reason: getattr(self, reason) for reason in NAMED_REASONS}

    def to_json(self, *, max_ids: int = 100) -> dict[str, Any]:
        out: dict[str, Any] = {
            r: {"count": len(ids), "ids": ids[:max_ids]} for r, ids in self.named().items()
        }
        out["not_visible"] = {"count": self.not_visible}
        return out


@dataclass
class IndicatorSelection:
    mode: Mode
    at: int  # µs: the instant validity and decay were judged at (now, or --at)
    records: list[IndicatorRecord] = field(default_factory=list)
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> latest STIX body
    excluded: Exclusions = field(default_factory=Exclusions)
    last: queries.Cursor | None = None  # the last indicator row read: where an incremental refresh resumes

    @property
    def ids(self) -> set[str]:
        return set(self.bodies)


def parse_at(value: str) -> int:
    """A ``--at`` time (STIX timestamp or ISO date) as µs; InvalidInput names the bad value."""
    text = value.strip()
    if len(text) == 10:  # a plain date: its first instant
        text += "T00:00:00Z"
    try:
        return timestamp_micros(canonical_timestamp(text))
    except ValueError:
        raise InvalidInput(f"invalid time {value!r}: use e.g. 2026-03-01 or 2026-03-01T12:00:00Z") from None


def mode_from_options(*, retro: bool, at: str | None) -> tuple[Mode, int | None]:
    """The mode a command or request asked for; both at once is refused, naming them."""
    if retro and at:
        raise InvalidInput("give either retro (every non-revoked indicator) or a time, not both")
    if at:
        return Mode.AT, parse_at(at)
    return (Mode.RETRO if retro else Mode.ACTIVE), None


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def micros(value: Any) -> int | None:
    """Microseconds of a STIX timestamp, or None for anything that is not one."""
    if not isinstance(value, str):
        return None
    try:
        return timestamp_micros(value)
    except ValueError:
        return None


def decayed_ids(db: Session, at: int) -> set[str]:
    """Indicators whose decayed score has fallen below the threshold by ``at`` (when scoring ran)."""
    try:
        from colsec.intel.models import IndicatorScore
    except ImportError:  # scoring not installed on this node
        return set()
    try:
        return set(
            db.execute(
                select(IndicatorScore.object_id).where(IndicatorScore.expires_at <= _iso(at))
            ).scalars()
        )
    except Exception:  # table not migrated yet
        return set()


def _not_visible(db: Session, viewer: Recipient) -> int:
    """All latest indicators minus the visible ones (a NOT over the policy would miss SQL NULLs)."""
    latest = and_(StixObject.type == "indicator", StixObject.is_latest)
    total = db.execute(select(func.count()).where(latest)).scalar_one()
    seen = db.execute(select(func.count()).where(latest, visible_clause(viewer))).scalar_one()
    return int(total) - int(seen)


def sensor_objects(
    db: Session, *, org_id: int | None, objects: list[dict[str, Any]], everything: bool = False
) -> list[dict[str, Any]]:
    """``objects`` with only the indicators matching would use (``everything``: all non-revoked)."""
    keep = select_indicators(db, org_id=org_id, mode=Mode.RETRO if everything else Mode.ACTIVE).ids
    return [o for o in objects if o.get("type") != "indicator" or o.get("id") in keep]


def _rows(db: Session, viewer: Recipient) -> Iterator[StixObject]:
    cursor: queries.Cursor | None = None
    while True:
        page = queries.list_objects(db, viewer=viewer, types=["indicator"], cursor=cursor, limit=5000)
        yield from page.rows
        if not page.more or page.next is None:
            return
        cursor = page.next


def select_indicators(
    db: Session, *, org_id: int | None, mode: Mode = Mode.ACTIVE, at: int | None = None
) -> IndicatorSelection:
    """The indicators in force for organisation ``org_id``, with every exclusion accounted for.

    ``records`` holds the STIX-patterned ones for the engine (validity cleared in retro mode,
    so the engine keeps them); ``bodies`` every selected indicator for sensor exports.
    """
    if mode is Mode.AT and at is None:
        raise InvalidInput("the 'at' mode needs a time")
    when = at if at is not None and mode is Mode.AT else int(time.time() * 1_000_000)
    sel = IndicatorSelection(mode=mode, at=when)
    viewer = queries.recipient_for_org(db, org_id)
    orgs = {row[0]: row[1] for row in db.execute(select(Organisation.id, Organisation.short_name))}
    decayed = set() if mode is Mode.RETRO else decayed_ids(db, when)
    ex = sel.excluded
    for row in _rows(db, viewer):
        sel.last = queries.Cursor(row.date_added, row.seq)
        body = orjson.loads(row.body)
        ident = str(body["id"])
        valid_from, valid_until = micros(body.get("valid_from")), micros(body.get("valid_until"))
        if body.get("revoked") or row.revoked:
            ex.revoked.append(ident)
            continue
        if mode is not Mode.RETRO:
            if valid_until is not None and when >= valid_until:
                ex.expired.append(ident)
                continue
            if valid_from is not None and valid_from > when:
                ex.not_yet_valid.append(ident)
                continue
            if ident in decayed:
                ex.decayed.append(ident)
                continue
        sel.bodies[ident] = body
        if body.get("pattern_type", "stix") != "stix" or not isinstance(body.get("pattern"), str):
            ex.not_stix.append(ident)
            continue
        retro = mode is Mode.RETRO
        sel.records.append(
            IndicatorRecord(
                id=ident,
                pattern=body["pattern"],
                valid_from=None if retro else valid_from,
                valid_until=None if retro else valid_until,
                owner=orgs.get(row.owner_org_id) if row.owner_org_id is not None else None,
                tlp=TLP(row.tlp).label,
                name=body.get("name"),
            )
        )
    ex.not_visible = _not_visible(db, viewer)
    return sel
