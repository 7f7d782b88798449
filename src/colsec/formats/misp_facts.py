"""The store's facts of the objects the fast MISP converter builds, so it need not validate them again.

The converter builds its objects from a few fixed shapes (``misp_attribute``); what can vary is
the attribute's uuid, its timestamps and its value.  Where each of those is one the validator
is known to accept (a canonical RFC 4122 uuid, a timestamp it reads, a pattern within its
length), the facts are read straight off the object; anything else gets none and the store
validates it as any other object.  tests/formats/test_misp_facts.py runs the full validator
over the converter's output for every MISP type, odd values included, and requires exactly
these facts: a shape that drifts from what the validator accepts fails there.

The facts carry the object's observable index pairs where the converter knows them without
reading the object again: an indicator's from the atoms it wrote into the pattern (the store
would parse the pattern back), none for the kinds that state none.  The same test holds them
equal to what the store extracts from the object, for every type and odd value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from colsec.stix.ids import canonical_str
from colsec.stix.observables import atom_observable
from colsec.stix.pattern import MAX_PATTERN_LENGTH
from colsec.stix.validate import SCO_TYPES, ObjectFacts

__all__ = [
    "MAX_PATTERN_LENGTH",
    "BuiltFacts",
    "built_facts",
    "canonical_or_none",
    "canonical_uuid",
    "plain_texts",
    "sco_facts",
    "sdo_facts",
]

# What the validator's identifier rule takes after the type: the canonical spelling, RFC 4122 variant.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}")
_TIMES = ("first_observed", "last_observed", "valid_from", "published")
# What the converter builds of these kinds names no value the observables index keeps.
_STATES_NONE = frozenset(
    {"observed-data", "relationship", "identity", "report", "grouping", "x-misp-attribute"}
)


def canonical_uuid(value: object) -> bool:
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def built_facts(
    obj: dict[str, Any], atoms: Iterable[tuple[str, str, str]] | None = None
) -> ObjectFacts | None:
    """Facts of one converter-built object whose ids the converter checked, or None to validate it;
    ``atoms`` are an indicator's pattern comparisons as the converter wrote them."""
    kind = obj["type"]
    if kind in SCO_TYPES:  # their values are read as stored
        return _new_facts(ObjectFacts, (obj["id"], kind, "2.1", None, "", None, False, None))
    stamp = obj["created"]
    try:  # the validator's spellings (cached there); a time it would refuse: no facts
        created = canonical_str(stamp)
        for prop in _TIMES:
            if prop in obj:
                canonical_str(obj[prop])
    except ValueError:
        return None
    if obj["modified"] != stamp:
        return None
    if kind == "indicator" and len(obj["pattern"]) > MAX_PATTERN_LENGTH:
        return None
    for label in obj.get("labels", ()):
        if type(label) is not str:
            return None
    observed: tuple[tuple[str, str], ...] | None = None
    if kind in _STATES_NONE:
        observed = ()
    elif kind == "indicator" and atoms is not None:
        observed = tuple(norm for atom in atoms if (norm := atom_observable(*atom)) is not None)
    return _new_facts(
        ObjectFacts, (obj["id"], kind, "2.1", created, created, obj.get("created_by_ref"), False, observed)
    )


def canonical_or_none(stamp: str) -> str | None:
    """The validator's spelling of a timestamp, None where it would refuse it."""
    try:
        return canonical_str(stamp)
    except ValueError:
        return None


def plain_texts(values: Iterable[object]) -> bool:
    """Whether every value is a plain ``str`` (the labels ``built_facts`` takes)."""
    return all(type(value) is str for value in values)


def sco_facts(obj_id: str, kind: str) -> ObjectFacts | None:
    """``built_facts`` of a converter-built SCO: its values are read as stored."""
    if kind not in SCO_TYPES:
        return None
    return _new_facts(ObjectFacts, (obj_id, kind, "2.1", None, "", None, False, None))


def sdo_facts(
    obj_id: str,
    kind: str,
    stamp: str,
    creator: str | None,
    atoms: Iterable[tuple[str, str, str]] | None = None,
) -> ObjectFacts:
    """``built_facts`` of an object built for one attribute (``misp_attribute``) whose times,
    labels and pattern length the converter checked as ``built_facts`` does: ``stamp`` is the
    validator's spelling of its creation (and modification) time, ``atoms`` an indicator's."""
    observed: tuple[tuple[str, str], ...] | None = None
    if kind in _STATES_NONE:
        observed = ()
    elif kind == "indicator" and atoms is not None:
        observed = tuple(norm for atom in atoms if (norm := atom_observable(*atom)) is not None)
    return _new_facts(ObjectFacts, (obj_id, kind, "2.1", stamp, stamp, creator, False, observed))


# Built as a plain tuple of the class: its keyword constructor is a Python call per object.
_new_facts = tuple.__new__


class BuiltFacts:
    """The facts of the object the converter yielded last; the store asks for each object it receives.

    Only that very object (``is``, not an equal copy) gets them, once: anything else the store
    sees (misp-stix's half of an event, an object changed on the way) is validated.
    """

    __slots__ = ("_facts", "_obj")

    def __init__(self) -> None:
        self._obj: object = None
        self._facts: ObjectFacts | None = None

    def claim(self, obj: dict[str, Any], facts: ObjectFacts | None) -> None:
        self._obj, self._facts = obj, facts

    def __call__(self, obj: object) -> ObjectFacts | None:
        if obj is not self._obj:
            return None
        facts, self._obj, self._facts = self._facts, None, None
        return facts
