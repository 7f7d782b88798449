"""MISP input: single events, lists of events, REST ``response`` collections, and feeds.

Each MISP event is one unit for the store (``import_objects`` is all-or-nothing per
call).  The event's distribution and sharing group become the sharing policy of
the objects that carry no TLP marking of their own, never wider than MISP allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from colsec.errors import InvalidInput
from colsec.formats.misp_facts import BuiltFacts
from colsec.formats.misp_to_stix import MispEventInfo, convert_attributes, convert_event, event_info
from colsec.stix.tlp import TLP

__all__ = ["MispUnit", "iter_misp_units", "looks_like_misp", "read_misp_units", "sharing_for"]


@dataclass
class MispUnit:
    """One MISP event (or attribute collection) ready for the store."""

    name: str
    objects: Iterator[dict[str, Any]]
    info: MispEventInfo | None = None
    notes: list[str] = field(default_factory=list)
    facts_for: BuiltFacts | None = None  # the store's facts of the objects built in a proven shape


def looks_like_misp(value: Any) -> bool:
    if isinstance(value, Mapping):
        if isinstance(value.get("Event"), Mapping):
            return True
        if "uuid" in value and any(k in value for k in ("Attribute", "Object", "Orgc", "info")):
            return True  # a bare event, as PyMISP writes it
        resp = value.get("response")
        if isinstance(resp, list):
            return all(isinstance(e, Mapping) and "Event" in e for e in resp[:5])
        return isinstance(resp, Mapping) and isinstance(resp.get("Attribute"), list)
    if isinstance(value, list) and value:
        return all(isinstance(e, Mapping) and "Event" in e for e in value[:5])
    return False


def read_misp_units(data: bytes) -> Iterator[MispUnit]:
    """Units for every event in a MISP JSON document; a single event is parsed as it is
    converted (``misp_split``), so a 200,000-attribute event is never held whole."""
    from colsec.formats.misp_split import split_event_document
    from colsec.jsonutil import loads

    split = split_event_document(data)
    if split is None:
        yield from iter_misp_units(loads(data, what="MISP document"))
    else:
        yield from iter_misp_units(split.document, attributes=split.attributes)


def iter_misp_units(value: Any, *, attributes: Iterable[Any] | None = None) -> Iterator[MispUnit]:
    """Units for every event in a parsed MISP JSON document; InvalidInput when it is not MISP.

    ``attributes`` are those of a single event whose document holds them apart (``misp_split``).
    """
    if not looks_like_misp(value):
        raise InvalidInput("not a MISP document: expected {'Event': ...}, a list of events or a 'response'")
    if isinstance(value, Mapping) and "Event" in value:
        events: list[Any] = [value]
    elif isinstance(value, Mapping) and "uuid" in value:
        events = [{"Event": value}]
    elif isinstance(value, Mapping) and isinstance(value.get("response"), Mapping):
        attrs = value["response"]["Attribute"]
        yield MispUnit(name="attribute collection", objects=convert_attributes(attrs))
        return
    elif isinstance(value, Mapping):
        events = list(value["response"])
    else:
        events = list(value)
    for wrapper in events:
        event = wrapper["Event"]
        info = event_info(event) if isinstance(event, Mapping) else None
        name = f"MISP event {event.get('uuid')}" if isinstance(event, Mapping) else "MISP event"
        notes: list[str] = []
        built = BuiltFacts()
        objects = convert_event(wrapper, notes, attributes=attributes, built=built)
        yield MispUnit(name=name, objects=objects, info=info, notes=notes, facts_for=built)


@dataclass(frozen=True)
class Sharing:
    default_tlp: TLP
    sharing_group_name: str | None = None
    note: str | None = None


def sharing_for(info: MispEventInfo | None, fallback: TLP) -> Sharing:
    """MISP distribution → sharing policy for objects without a TLP marking (never wider).

    0 your organisation only → TLP:RED; 1 this community → TLP:AMBER; 2 connected
    communities and 3 all communities → TLP:GREEN; 4 sharing group → TLP:AMBER limited
    to the group of the same name (TLP:AMBER+STRICT when no such group exists here).
    """
    if info is None:
        return Sharing(fallback)
    tag_tlp = info.tlp if any(t.lower().startswith("tlp:") for t in info.tags) else None
    if info.distribution == 4:
        name = str((info.sharing_group or {}).get("name") or "") or None
        return Sharing(tag_tlp if tag_tlp is not None and tag_tlp > TLP.AMBER else TLP.AMBER, name)
    by_distribution = {0: TLP.RED, 1: TLP.AMBER, 2: TLP.GREEN, 3: TLP.GREEN}.get(info.distribution, fallback)
    if tag_tlp is not None:
        return Sharing(tag_tlp)
    return Sharing(by_distribution)
