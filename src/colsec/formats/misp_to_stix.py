"""MISP event → STIX 2.1, streaming, equal to misp-stix on the common attribute kinds.

misp-stix is the reference mapping but runs at ~650 attributes/s and needs ~1 GB at
50k attributes.  Plain attributes of the common types (IPs, domains, URLs, hashes,
e-mail addresses, file names, mutexes, AS numbers, registry keys) are converted
here as plain dicts with exactly the ids and properties misp-stix produces (a
differential test holds us to it), one attribute at a time as they arrive;
everything else in the event (MISP objects, galaxies, rare attribute types,
sightings, analyst notes, event reports) is handed to misp-stix in a reduced copy
of the event once the attributes have passed, and the two halves are merged under
one report/grouping, which comes last.

The pieces: ``misp_values`` (which attributes go the fast way), ``misp_observables``
and ``misp_attribute`` (the mapping), ``misp_reference`` (misp-stix),
``misp_split`` (a large document parsed a chunk of attributes at a time).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from colsec.formats.misp_attribute import Built, Converter
from colsec.formats.misp_facts import BuiltFacts, built_facts, canonical_uuid
from colsec.formats.misp_reference import misp_stix, reference_attributes, reference_convert
from colsec.formats.misp_types import misp_types
from colsec.formats.misp_validate import attribute_kept, validate_event, validate_frame
from colsec.formats.misp_values import FAST_TYPES, MARKINGS, is_fast_attribute
from colsec.formats.registry_keys import expand_hives_in
from colsec.stix.tlp import TLP

__all__ = [
    "FAST_TYPES",
    "MARKINGS",
    "MispEventInfo",
    "convert_attributes",
    "convert_event",
    "event_info",
    "is_fast_attribute",
    "misp_stix",
    "reference_convert",
    "validate_event",
]


class MispEventInfo:
    """Sharing facts of one event, for the store: distribution, sharing group, TLP tags."""

    __slots__ = ("distribution", "org_name", "org_uuid", "sharing_group", "tags", "uuid")

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.uuid = str(event.get("uuid", ""))
        orgc = event.get("Orgc") if isinstance(event.get("Orgc"), Mapping) else {}
        self.org_name = str(orgc.get("name", "")) if orgc else ""
        self.org_uuid = str(orgc.get("uuid", "")) if orgc else ""
        try:
            self.distribution = int(event.get("distribution", 1))
        except (TypeError, ValueError):
            self.distribution = 1
        sg = event.get("SharingGroup")
        self.sharing_group: dict[str, Any] | None = dict(sg) if isinstance(sg, Mapping) else None
        tags = event.get("Tag")
        # Hostile or broken exports put anything in a tag's name: only text names count.
        self.tags = [
            t["name"]
            for t in (tags if isinstance(tags, list) else [])
            if isinstance(t, Mapping) and isinstance(t.get("name"), str)
        ]

    @property
    def tlp(self) -> TLP | None:
        from colsec.stix.tlp import TLP_BY_NAME

        found = [
            TLP_BY_NAME[t.split(":", 1)[1].lower()]
            for t in self.tags
            if t.lower().startswith("tlp:") and t.split(":", 1)[1].lower() in TLP_BY_NAME
        ]
        if found:
            return max(found)
        # MISP distribution: 0 organisation only, 1 community, 2 connected, 3 all, 4 sharing group
        return {0: TLP.RED, 1: TLP.AMBER, 2: TLP.GREEN, 3: TLP.CLEAR, 4: TLP.AMBER}.get(self.distribution)


def event_info(event: Mapping[str, Any]) -> MispEventInfo:
    return MispEventInfo(event)


def _needs_reference(event: Mapping[str, Any], rare: list[Any]) -> bool:
    return bool(
        rare
        or event.get("Object")
        or event.get("Galaxy")
        or event.get("EventReport")
        or event.get("Note")
        or event.get("Opinion")
        or event.get("Relationship")
    )


def convert_event(
    wrapper: Mapping[str, Any],
    notes: list[str] | None = None,
    *,
    attributes: Iterable[Any] | None = None,
    built: BuiltFacts | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield the STIX 2.1 objects for one MISP event; the report/grouping comes last.

    Elements the reference cannot map are left out and named in ``notes``; registry
    hives are spelled out as STIX requires (misp-stix keeps ``HKLM``).  ``attributes``
    replaces the event's own (an event split from its document by ``misp_split``):
    each is converted as it arrives, so the event is never held whole.  ``built`` is told
    the facts of each object the fast path built in a proven shape (``misp_facts``).
    """
    if built is None:
        for obj, _ in _convert_event(wrapper, notes, attributes):
            yield obj
        return
    claim = built.claim
    for obj, facts in _convert_event(wrapper, notes, attributes):
        claim(obj, facts)
        yield obj


def _convert_event(
    wrapper: Mapping[str, Any], notes: list[str] | None, attributes: Iterable[Any] | None
) -> Iterator[Built]:
    """Each object, registry hives spelled out, with the store's facts of it where the fast path
    built it in a proven shape with ids the validator takes (``misp_facts``), else None."""
    from colsec.formats.misp_salvage import convert_salvaging, prepared, prepared_attribute

    event = validate_frame(wrapper, notes)
    own = event.pop("Attribute", None) or []
    event = prepared(event)
    conv = Converter(event)
    referenced: set[str] = set()
    for obj in event.get("Object") or []:
        for ref in obj.get("ObjectReference") or []:
            if isinstance(ref, Mapping) and ref.get("referenced_uuid"):
                referenced.add(str(ref["referenced_uuid"]))
    types = misp_types()
    refs: list[str] = []
    rare: list[Any] = []
    rare_at: list[int] = []  # each rare attribute's place in the event, for its note
    emitted: set[str] = set()
    kept = 0
    # Ids the validator takes: the creator's, the event's, every fast attribute's (the report lists them).
    ids_ok = conv.identity_id is None or canonical_uuid(conv.identity_id.split("--", 1)[1])
    report_ok = ids_ok and canonical_uuid(str(event["uuid"]))
    for i, attr in enumerate(own if attributes is None else attributes):
        if not attribute_kept(attr, i, notes, types):
            continue
        kept += 1
        given, attr = attr, prepared_attribute(attr)
        if notes is not None and attr.get("type") != given.get("type"):
            notes.append(_not_a_url(i, given))
        if not is_fast_attribute(attr, referenced):
            rare.append(attr)  # for misp-stix, once every attribute has passed
            rare_at.append(i)
            continue
        if conv.identity_id and conv.identity_id not in emitted:
            emitted.add(conv.identity_id)
            identity = conv.identity()
            yield identity, built_facts(identity) if ids_ok else None
        ours = ids_ok and canonical_uuid(str(attr["uuid"]))
        report_ok = report_ok and ours
        yield from conv.attribute(attr, refs, ours)
    report: dict[str, Any] | None = None
    if _needs_reference(event, rare) or not kept:
        made: set[str] = set()  # the uuids misp-stix made an object of
        for obj in convert_salvaging({**event, "Attribute": rare}, reference_convert, notes):
            made.add(obj["id"].split("--", 1)[1])
            if obj["type"] in ("report", "grouping") and obj["id"].split("--", 1)[1] == str(event["uuid"]):
                report = obj
            elif obj["id"] not in emitted:  # our identity, or a marking both halves use
                emitted.add(obj["id"])
                yield expand_hives_in(obj), None
        if notes is not None:
            notes.extend(_dropped(rare, rare_at, made))
    del rare
    for mid, marking in list(conv.markings_used.items()):
        if mid not in emitted:
            emitted.add(mid)
            yield marking, None
    if report is None:
        report = conv.report(refs)
        for mid, marking in conv.markings_used.items():  # the event's own tags
            if mid not in emitted:
                yield marking, None
        yield report, built_facts(report) if report_ok else None
        return
    merged = list(report.get("object_refs", []))
    empty = [r for r in merged if r.startswith("note--") and r.endswith(str(event["uuid"]))]
    if empty and refs:  # misp-stix's "empty event" note is not needed once our half adds content
        merged = [r for r in merged if r not in empty]
    merged.extend(refs)
    refs.clear()
    report["object_refs"] = merged
    yield report, None  # misp-stix's report, our references merged in


def _dropped(rare: list[Any], at: list[int], made: set[str]) -> list[str]:
    """Notes for the attributes misp-stix dropped without a word (a value its validation refuses,
    such as an ``ip-dst`` that is no address: it only logs them): no object bears their uuid."""
    out = []
    for i, attr in zip(at, rare, strict=True):
        uuid = str(attr.get("uuid") or "")
        if uuid and uuid not in made and not attr.get("deleted"):
            kind, value = attr.get("type"), str(attr.get("value") or "")[:80]
            out.append(f"Attribute #{i}: {kind} value {value!r} is not valid for its type: left out")
    return out


def _not_a_url(i: int, attr: Any) -> str:
    """The note for a ``url``/``link`` attribute whose value is no URL (``misp_urls``): its value
    is kept as an ``other`` attribute, which no indicator is made of."""
    kind, value = attr.get("type"), str(attr.get("value") or "")[:80]
    return f"Attribute #{i}: {kind} value {value!r} is not a URL: kept as text, no indicator"


def convert_attributes(attributes: list[Any]) -> Iterator[dict[str, Any]]:
    """STIX for a bare attribute collection (MISP ``/attributes`` REST output): no report, no identity."""
    for obj in _convert_attributes(attributes):
        yield expand_hives_in(obj)


def _convert_attributes(attributes: list[Any]) -> Iterator[dict[str, Any]]:
    from colsec.formats.misp_urls import conform_url_attributes

    fake = conform_url_attributes(
        validate_event({"Event": {"uuid": str(uuid.uuid4()), "info": "attributes", "Attribute": attributes}})
    )
    conv = Converter({})
    attrs = fake["Attribute"]
    fast = [is_fast_attribute(a) for a in attrs]
    emitted: set[str] = set()
    rare = [a for a, quick in zip(attrs, fast, strict=True) if not quick]
    if rare:
        for data in reference_attributes(rare):
            emitted.add(data["id"])
            yield data
    refs: list[str] = []
    for attr, quick in zip(attrs, fast, strict=True):
        if quick:
            yield from (obj for obj, _ in conv.attribute(attr, refs))
    for mid, marking in conv.markings_used.items():
        if mid not in emitted:
            yield marking
