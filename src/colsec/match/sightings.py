"""Alerts -> STIX ``sighting`` objects, aggregated per indicator and time window.

One sighting per (indicator, window): ``count``, ``first_seen``/``last_seen``
and ``where_sighted_refs`` = our organisation's identity.  The id is derived
from (indicator, window start, sighter) so re-running a batch over the same
window produces a new *version* of the same sighting rather than a duplicate.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from colsec.match.records import Alert

__all__ = ["SightingAggregator", "WindowCount"]

_NAMESPACE = uuid.UUID("6f0a6c55-3c52-4b8e-9a53-6e1d0c5f7a10")


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class WindowCount:
    count: int = 0
    first: int = 0
    last: int = 0
    tlp: str | None = None
    values: set[str] = field(default_factory=set)


class SightingAggregator:
    def __init__(self, *, sighter_identity: str, window_seconds: int = 3600) -> None:
        self.sighter = sighter_identity
        self.window = window_seconds * 1_000_000
        self.windows: dict[tuple[str, int], WindowCount] = {}

    def add(self, alerts: Iterable[Alert]) -> None:
        for alert in alerts:
            ts_first = min(e.ts for e in alert.events)
            ts_last = alert.ts
            key = (alert.indicator_id, ts_last - ts_last % self.window)
            w = self.windows.get(key)
            if w is None:
                w = self.windows[key] = WindowCount(0, ts_first, ts_last, alert.tlp)
            w.count += 1
            w.first = min(w.first, ts_first)
            w.last = max(w.last, ts_last)
            if len(w.values) < 20:
                w.values.update(str(v) for _, v in alert.matched[:5])

    def __len__(self) -> int:
        return len(self.windows)

    def sightings(self, *, created: str | None = None) -> list[dict[str, Any]]:
        now = created or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out = []
        for (indicator_id, start), w in sorted(self.windows.items()):
            sid = uuid.uuid5(_NAMESPACE, f"{indicator_id}|{start}|{self.sighter}")
            obj: dict[str, Any] = {
                "type": "sighting",
                "spec_version": "2.1",
                "id": f"sighting--{sid}",
                "created": now,
                "modified": now,
                "created_by_ref": self.sighter,
                "sighting_of_ref": indicator_id,
                "count": min(w.count, 999_999_999),
                "first_seen": _iso(w.first),
                "last_seen": _iso(w.last),
                "where_sighted_refs": [self.sighter],
                "description": "Matched values: " + ", ".join(sorted(w.values)) if w.values else None,
            }
            out.append({k: v for k, v in obj.items() if v is not None})
        return out
