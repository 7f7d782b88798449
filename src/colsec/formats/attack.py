"""MITRE ATT&CK bundles (enterprise, ICS, mobile): techniques, groups, software, mitigations.

ATT&CK keeps deprecated (``x_mitre_deprecated``) and revoked objects so that
workflows naming them do not break, and points from a revoked object to its
replacement with a ``revoked-by`` relationship (USAGE.md, "Working with deprecated
and revoked objects").  We store them as published (revoked objects stay revoked,
so current views leave them out) unless ``current_only`` asks to drop them and the
relationships that touch them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

__all__ = ["AttackStats", "attack_objects", "is_outdated", "resolve_revoked"]

AttackStats = Counter[str]


def is_outdated(obj: Mapping[str, Any]) -> bool:
    return bool(obj.get("revoked")) or bool(obj.get("x_mitre_deprecated"))


def attack_objects(
    objects: Iterable[Mapping[str, Any]], *, current_only: bool = False, stats: AttackStats | None = None
) -> Iterator[Mapping[str, Any]]:
    """Pass ATT&CK objects through, counting kinds; ``current_only`` needs two passes, so it buffers."""
    stats = stats if stats is not None else Counter()
    if not current_only:
        for obj in objects:
            _count(obj, stats)
            yield obj
        return
    items = list(objects)
    outdated = {str(o["id"]) for o in items if is_outdated(o)}
    for obj in items:
        if obj["id"] in outdated:
            stats["dropped"] += 1
            continue
        if obj.get("type") == "relationship" and (
            obj.get("source_ref") in outdated or obj.get("target_ref") in outdated
        ):
            stats["dropped"] += 1
            continue
        _count(obj, stats)
        yield obj


_KINDS = {
    "attack-pattern": "techniques",
    "intrusion-set": "groups",
    "malware": "software",
    "tool": "software",
    "course-of-action": "mitigations",
    "relationship": "relationships",
    "x-mitre-tactic": "tactics",
    "campaign": "campaigns",
}


def _count(obj: Mapping[str, Any], stats: AttackStats) -> None:
    stats[_KINDS.get(str(obj.get("type")), "other")] += 1
    if obj.get("revoked"):
        stats["revoked"] += 1
    if obj.get("x_mitre_deprecated"):
        stats["deprecated"] += 1


def resolve_revoked(objects: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Map each revoked object id to its current replacement (following chains of ``revoked-by``)."""
    revoked_by = {
        str(o["source_ref"]): str(o["target_ref"])
        for o in objects
        if o.get("type") == "relationship" and o.get("relationship_type") == "revoked-by"
    }
    out: dict[str, str] = {}
    for start in revoked_by:
        cur, seen = start, {start}
        while cur in revoked_by and revoked_by[cur] not in seen:
            cur = revoked_by[cur]
            seen.add(cur)
        out[start] = cur
    return out
