"""The indicator values sensor exports share: (kind, value, indicator id, name) per fact.

Only what an indicator *asserts* goes to sensors: positive ``=`` comparisons of STIX
patterns (via ``colsec.stix.observables``), plus ``ISSUBSET`` CIDRs.  Revoked
indicators are left out; which indicators are in force (validity, decay) is decided
before, by ``colsec.match.selection`` (the set matching uses).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from colsec.stix.ids import now_timestamp, parse_timestamp
from colsec.stix.observables import normalise, pattern_path_kind
from colsec.stix.pattern import PatternError, comparison_atoms

__all__ = ["SensorValue", "sensor_values"]


@dataclass(frozen=True, slots=True)
class SensorValue:
    kind: str  # ipv4, ipv6, cidr4, cidr6, domain, url, email, md5, sha1, sha256, sha512, ...
    value: str
    indicator_id: str
    name: str


def _active(obj: Mapping[str, Any], now: str) -> bool:
    if obj.get("revoked"):
        return False
    until = obj.get("valid_until")
    if isinstance(until, str):
        try:
            return parse_timestamp(until) > parse_timestamp(now)
        except ValueError:
            return True
    return True


def sensor_values(
    objects: Iterable[Mapping[str, Any]], *, include_expired: bool = True
) -> Iterator[SensorValue]:
    """Unique (kind, value) facts from indicators, first indicator wins."""
    now = now_timestamp()
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        if obj.get("type") != "indicator" or obj.get("pattern_type") != "stix":
            continue
        if not include_expired and not _active(obj, now):
            continue
        pattern = obj.get("pattern")
        if not isinstance(pattern, str):
            continue
        try:
            atoms = comparison_atoms(pattern)
        except PatternError:
            continue
        name = str(obj.get("name") or obj.get("description") or "")[:200]
        for atom in atoms:
            if atom.op not in ("=", "ISSUBSET"):
                continue
            kind = pattern_path_kind(atom.object_type, atom.path)
            if kind is None:
                continue
            norm = normalise(kind, atom.value)
            if norm is None or (norm in seen):
                continue
            seen.add(norm)
            yield SensorValue(norm[0], norm[1], str(obj["id"]), name)
