"""The indicator values sensor exports share: (kind, value, indicator id, name) per fact.

Only what an indicator *asserts* goes to sensors: positive ``=`` comparisons of STIX
patterns (via ``colsec.stix.observables``), plus ``ISSUBSET`` CIDRs.  Revoked
indicators are left out (which ones are in force - validity, decay - is decided before,
by ``colsec.match.selection``: the set matching uses), and so are networks
broader than the minimum prefix (``0.0.0.0/0`` in a sensor rule alerts on, or a
blocklist drops, everything): those are handed back as skipped, for the export to say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from colsec.formats.network_equality import is_network_equality
from colsec.stix.ids import now_timestamp, parse_timestamp
from colsec.stix.observables import normalise, pattern_path_kind
from colsec.stix.pattern import PatternError, comparison_atoms

__all__ = [
    "MIN_PREFIX_V4",
    "MIN_PREFIX_V6",
    "SensorValue",
    "describe_skipped",
    "is_over_broad",
    "sensor_values",
]

MIN_PREFIX_V4 = 8
MIN_PREFIX_V6 = 32


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


def is_over_broad(kind: str, value: str, *, min_prefix_v4: int, min_prefix_v6: int) -> bool:
    if kind not in ("cidr4", "cidr6"):
        return False
    _, _, bits = value.partition("/")
    try:
        prefix = int(bits)
    except ValueError:
        return True  # not the canonical form normalise() gives: refuse rather than guess
    return prefix < (min_prefix_v4 if kind == "cidr4" else min_prefix_v6)


def describe_skipped(skipped: list[SensorValue], *, min_prefix_v4: int, min_prefix_v6: int) -> list[str]:
    """Comment lines for an export that left over-broad networks out."""
    if not skipped:
        return []
    lines = [
        f"skipped {len(skipped)} over-broad network(s), shorter than /{min_prefix_v4} (IPv4) "
        f"or /{min_prefix_v6} (IPv6):"
    ]
    lines += [f"  {v.value} ({v.indicator_id})" for v in skipped[:50]]
    if len(skipped) > 50:
        lines.append(f"  ... and {len(skipped) - 50} more")
    return lines


def sensor_values(
    objects: Iterable[Mapping[str, Any]],
    *,
    include_expired: bool = True,
    min_prefix_v4: int = MIN_PREFIX_V4,
    min_prefix_v6: int = MIN_PREFIX_V6,
    skipped: list[SensorValue] | None = None,
) -> Iterator[SensorValue]:
    """Unique (kind, value) facts from indicators, first indicator wins; over-broad networks go
    to ``skipped`` (when given) instead."""
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
            if is_network_equality(atom.op, atom.value, norm[0]):
                # no observed address equals it, so a sensor must not alert on the range either
                # (ISSUBSET asks for the range); an import notes it (``network_equality``)
                continue
            seen.add(norm)
            value = SensorValue(norm[0], norm[1], str(obj["id"]), name)
            if is_over_broad(norm[0], norm[1], min_prefix_v4=min_prefix_v4, min_prefix_v6=min_prefix_v6):
                if skipped is not None:
                    skipped.append(value)
                continue
            yield value
