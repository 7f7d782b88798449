"""The write gate's limits: bytes per object, characters per string, objects per unit, clock skew.

Checked on every object before any rule about who may write it (``gate.py``): a limit is about
the object alone, so it is answered the same to every writer.  The defaults are ``Settings``'s,
so a caller that has no settings (a test, a bench, a job) is still bounded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from colsec.settings import Settings
from colsec.stix.ids import format_timestamp
from colsec.stix.validate import ObjectFacts

__all__ = ["WriteLimits", "limit_problem"]


def _default(name: str) -> int:
    value = Settings.model_fields[name].default
    assert isinstance(value, int)
    return value


@dataclass(frozen=True, slots=True)
class WriteLimits:
    """The gate's caps; defaults are ``Settings``'s, so a caller without settings is still bounded."""

    max_object_bytes: int = _default("max_object_bytes")
    max_string_length: int = _default("max_string_length")
    max_objects_per_unit: int = _default("max_objects_per_unit")
    max_clock_skew_seconds: int = _default("max_clock_skew_seconds")

    @classmethod
    def from_settings(cls, settings: Settings) -> WriteLimits:
        return cls(
            max_object_bytes=settings.max_object_bytes,
            max_string_length=settings.max_string_length,
            max_objects_per_unit=settings.max_objects_per_unit,
            max_clock_skew_seconds=settings.max_clock_skew_seconds,
        )

    def horizon(self) -> str:
        """The latest ``created``/``modified`` accepted now (canonical, so strings compare)."""
        return format_timestamp(datetime.now(UTC) + timedelta(seconds=self.max_clock_skew_seconds))


def _longest_string(obj: Any) -> int:
    longest = 0
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            longest = max(longest, len(item))
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return longest


def _oversize(body: bytes, obj: Mapping[str, Any], limits: WriteLimits) -> str | None:
    """Why the body is too big, or None.

    A report or grouping of a large MISP event lists every object of the event: its
    ``object_refs`` are ids (validated elsewhere), as many as a unit may hold, so they are
    bounded by the unit cap and not counted against the per-object byte cap; everything
    else in the object is.
    """
    if len(body) <= limits.max_object_bytes:
        return None
    refs = obj.get("object_refs")
    if isinstance(refs, list) and refs and all(isinstance(r, str) for r in refs):
        if len(refs) > limits.max_objects_per_unit:
            return f"{len(refs)} object_refs, over the limit of {limits.max_objects_per_unit} per object"
        rest = len(body) - sum(len(r.encode()) + 3 for r in refs)  # '"id",' each, with a space at most
        if rest <= limits.max_object_bytes:
            return None
        return f"{rest} bytes besides its object_refs, over the limit of {limits.max_object_bytes} bytes per object"
    return f"{len(body)} bytes, over the limit of {limits.max_object_bytes} bytes per object"


def limit_problem(
    facts: ObjectFacts, body: bytes, obj: Mapping[str, Any], limits: WriteLimits, horizon: str
) -> str | None:
    """Why this object breaks a limit (naming it and the limit), or None."""
    oversize = _oversize(body, obj, limits)
    if oversize:
        return f"{facts.id}: {oversize}"
    if len(body) > limits.max_string_length:  # no string can be longer than the whole body
        n = _longest_string(obj)
        if n > limits.max_string_length:
            return (
                f"{facts.id}: holds a string of {n} characters, over the limit of "
                f"{limits.max_string_length} characters"
            )
    for name, value in (("created", facts.created), ("modified", facts.modified)):
        if value and value > horizon:
            return (
                f"{facts.id}: '{name}' {value} is ahead of this node's clock by more than "
                f"{limits.max_clock_skew_seconds} seconds"
            )
    return None
