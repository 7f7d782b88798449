"""What goes into the matching engine (indicator records) and what comes out (alerts, reports).

Kept apart from the engine so the store integration, the sighting aggregator
and the readers share these types without importing the indexes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from colsec.match.events import Event

if TYPE_CHECKING:
    from colsec.match.selection import Exclusions

__all__ = ["Alert", "CompileReport", "IndicatorRecord"]


@dataclass(frozen=True, slots=True)
class IndicatorRecord:
    """One indicator as the engine needs it: pattern, validity (µs), and what an alert reports."""

    id: str
    pattern: str
    valid_from: int | None = None  # µs
    valid_until: int | None = None  # µs
    revoked: bool = False
    owner: str | None = None
    tlp: str | None = None
    name: str | None = None

    def active(self, now: int) -> bool:
        if self.revoked:
            return False
        if self.valid_from is not None and self.valid_from > now:
            return False
        return not (self.valid_until is not None and now >= self.valid_until)


@dataclass
class CompileReport:
    """What a load or refresh did, so operators see why an indicator is not being matched."""

    loaded: int = 0
    inactive: int = 0
    invalid: int = 0
    warninglisted: int = 0
    simple: int = 0
    complex: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    warninglisted_ids: list[str] = field(default_factory=list)
    excluded: Exclusions | None = None  # set by the store integration: what never reached the engine
    last: Any = None  # store cursor of the newest indicator version read, where refreshes resume


@dataclass(slots=True)
class Alert:
    """One indicator matched by one or more events (several for multi-observation patterns)."""

    indicator_id: str
    events: list[Event]
    matched: list[tuple[str, Any]]  # ("type:path", value)
    owner: str | None
    tlp: str | None
    name: str | None = None

    @property
    def ts(self) -> int:
        return max(e.ts for e in self.events)

    def to_json(self) -> dict[str, Any]:
        def iso(us: int) -> str:
            return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

        return {
            "time": iso(self.ts),
            "indicator_id": self.indicator_id,
            "indicator_name": self.name,
            "owner": self.owner,
            "tlp": self.tlp,
            "matched": [{"path": p, "value": v} for p, v in self.matched],
            "events": [
                {"source": e.source, "line": e.line, "time": iso(e.ts), "raw": e.raw} for e in self.events
            ],
        }
