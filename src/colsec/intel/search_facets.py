"""What a search page shows beside its rows: facet counts over a sample of matches, and each row's value.

Apart from ``search`` because these read rows the search already took through the sharing
policy; nothing here queries the store.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

DATE_BUCKETS = (1, 7, 30)  # days: "added in the last day / week / month"
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")

#: seq -> (type, owner, tlp, added, body), and whether there were more matches than sampled
Sample = tuple[dict[int, tuple[str, int | None, int, str, str]], bool]


@dataclass(frozen=True)
class DateBucket:
    days: int
    since: date
    count: int


@dataclass
class Facets:
    """Counts over the newest ``sampled`` visible matches (``capped``: there are more)."""

    types: list[tuple[str, int]] = field(default_factory=list)
    owners: list[tuple[int | None, int]] = field(default_factory=list)
    tlps: list[tuple[int, int]] = field(default_factory=list)
    labels: list[tuple[str, int]] = field(default_factory=list)
    dates: list[DateBucket] = field(default_factory=list)
    sampled: int = 0
    capped: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": dict(self.types),
            "owner": {str(k): v for k, v in self.owners},
            "tlp": dict(self.tlps),
            "label": dict(self.labels),
            "added_within_days": {str(b.days): b.count for b in self.dates},
            "counted": self.sampled,
            "capped": self.capped,
        }


_LABELS = re.compile(r'"labels":(\[[^\]]*\])')


def facets_of(taken: Sample, now: datetime) -> Facets:
    """Facet counts over a sample of visible matches: the sample is already filtered by the policy."""
    sample, capped = taken
    types: Counter[str] = Counter()
    owners: Counter[int | None] = Counter()
    tlps: Counter[int] = Counter()
    labels: Counter[str] = Counter()
    stamps: list[str] = []
    for typ, owner, tlp, when, body in sample.values():
        types[typ] += 1
        owners[owner] += 1
        tlps[tlp] += 1
        stamps.append(when)
        found = _LABELS.search(body)  # bodies are stored compact with sorted keys: no full parse needed
        if found:
            try:
                values = orjson.loads(found.group(1))
            except orjson.JSONDecodeError:
                values = orjson.loads(body).get("labels")
            if isinstance(values, list):
                labels.update({v for v in values if isinstance(v, str)})
    today = now.astimezone(UTC).date()
    dates = []
    for days in DATE_BUCKETS:
        since = today - timedelta(days=days)
        dates.append(DateBucket(days, since, sum(1 for a in stamps if a >= since.isoformat())))
    return Facets(
        types=types.most_common(),
        owners=owners.most_common(),
        tlps=sorted(tlps.items()),
        labels=labels.most_common(12),
        dates=dates,
        sampled=len(sample),
        capped=capped,
    )


def row_value(body: dict[str, Any]) -> str:
    """What a result row shows beside the name: an indicator's values, an SCO's value, an ATT&CK id."""
    pattern = body.get("pattern")
    if isinstance(pattern, str):
        values = [m.replace("\\'", "'") for m in _QUOTED.findall(pattern)]
        text = ", ".join(values[:3]) + (" …" if len(values) > 3 else "") if values else pattern
        return text[:300]
    value = body.get("value")
    if isinstance(value, str | int):
        return str(value)[:300]
    hashes = body.get("hashes")
    if isinstance(hashes, dict) and hashes:
        return str(next(iter(hashes.values())))[:300]
    for ref in body.get("external_references") or ():
        if isinstance(ref, dict) and isinstance(ref.get("external_id"), str):
            return str(ref["external_id"])[:120]
    return ""
