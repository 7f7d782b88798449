"""One fast-path MISP attribute as misp-stix writes it: observed-data, SCOs, indicator and the
``based-on`` relationship between them; and the event's identity and report around them.

Relationships are emitted right after their indicator (misp-stix lists them at the end;
the order carries no meaning), so nothing per attribute is held until the event ends.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from colsec.formats.misp_facts import MAX_PATTERN_LENGTH, canonical_or_none, plain_texts, sco_facts, sdo_facts
from colsec.formats.misp_observables import observables
from colsec.formats.misp_types import misp_types
from colsec.formats.misp_values import (
    CONFIDENCE,
    CUSTOM_TYPES,
    MARKINGS,
    epoch_texts,
    fmt_any,
    fmt_milli,
    parse_seen,
    ts_from_epoch,
)
from colsec.formats.registry_keys import expand_hives_in
from colsec.stix.validate import ObjectFacts

__all__ = ["Built", "Converter", "relationship", "uuid5_text"]

_NS = uuid.UUID("76beed5f-7251-457e-8c2a-b45f7b589d3d")  # misp-stix's namespace for derived ids


def uuid5_text(namespace: uuid.UUID, name: str) -> str:
    """``str(uuid.uuid5(namespace, name))`` without building a ``UUID`` (a third of the cost of
    a relationship, profiled); a test holds the two equal."""
    prefix = _NS_BYTES if namespace is _NS else namespace.bytes
    h = hashlib.sha1(prefix + name.encode(), usedforsecurity=False).hexdigest()
    # version 5 in the 13th digit, the RFC 4122 variant in the 17th
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_NS_BYTES = _NS.bytes
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


def relationship(source: str, rel_type: str, target: str, created: str) -> dict[str, Any]:
    rid = uuid5_text(_NS, f"{source} - {rel_type} - {target}")
    return {
        "type": "relationship",
        "spec_version": "2.1",
        "id": f"relationship--{rid}",
        "created": created,
        "modified": created,
        "relationship_type": rel_type,
        "source_ref": source,
        "target_ref": target,
    }


Built = tuple[dict[str, Any], ObjectFacts | None]  # an object and the store's facts of it, if proven
_TagEffects = tuple[list[str], int | None, list[str]]  # labels, confidence, marking refs
_NO_TAGS: _TagEffects = ([], None, [])


def _time_ok(text: str) -> bool:
    return canonical_or_none(text) is not None


class Converter:
    """What the attributes of one event share: its creator identity and the markings they use."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event
        self.types = misp_types()
        orgc = event.get("Orgc")
        self.identity_id: str | None = None
        if isinstance(orgc, Mapping) and orgc.get("name") is not None and orgc.get("uuid") is not None:
            self.identity_id = f"identity--{orgc['uuid']}"
        self.markings_used: dict[str, dict[str, Any]] = {}
        self._categories: dict[tuple[str, str | None], tuple[str, tuple[str, str]]] = {}

    def _tags(self, tags: list[Mapping[str, Any]], obj: dict[str, Any]) -> None:
        self._apply(self._tag_effects(tags), obj)

    def _tag_effects(self, tags: list[Mapping[str, Any]]) -> _TagEffects:
        """What a tag list adds to an object: labels, confidence, marking refs (markings noted as used)."""
        labels: list[str] = []
        refs: list[str] = []
        scores: list[int] = []
        for tag in tags:
            name = tag["name"]
            marking = MARKINGS.get(name)
            if marking is not None:
                if marking["id"] not in refs:
                    refs.append(marking["id"])
                self.markings_used.setdefault(marking["id"], marking)
                continue
            score = CONFIDENCE.get(name)
            if score is not None:
                scores.append(score)
            labels.append(name)
        return labels, min(scores) if scores else None, refs

    @staticmethod
    def _apply(effects: _TagEffects, obj: dict[str, Any]) -> None:
        labels, confidence, refs = effects
        obj["labels"].extend(labels)
        if confidence is not None:
            obj["confidence"] = confidence
        if refs:
            obj["object_marking_refs"] = list(refs)

    def _category(self, attr_type: str, category: object) -> tuple[str, tuple[str, str]]:
        """The attribute's category and its two labels, worked out once per type and category."""
        key = (attr_type, category if isinstance(category, str) else None)
        known = self._categories.get(key)
        if known is None:
            chosen = self.types.category_for(attr_type, category)
            known = chosen, (f'misp:type="{attr_type}"', f'misp:category="{chosen}"')
            self._categories[key] = known
        return known

    def _sdo(
        self, attr: Mapping[str, Any], attr_type: str, category: str, value: str, uid: str, created: str
    ) -> dict[str, Any]:
        """A vulnerability, or an x-misp-attribute for text, comment and other."""
        sdo: dict[str, Any] = {
            "spec_version": "2.1",
            "created": created,
            "modified": created,
            "labels": [f'misp:type="{attr_type}"', f'misp:category="{category}"'],
        }
        if self.identity_id:
            sdo["created_by_ref"] = self.identity_id
        if attr_type == "vulnerability":
            sdo.update(type="vulnerability", id=f"vulnerability--{uid}", name=value)
            sdo["external_references"] = [{"source_name": "cve", "external_id": value}]
        else:
            sdo.update(type="x-misp-attribute", id=f"x-misp-attribute--{uid}", x_misp_category=category)
            if attr.get("comment"):
                sdo["x_misp_comment"] = attr["comment"]
            sdo.update(x_misp_type=attr_type, x_misp_value=value)
        self._tags(attr.get("Tag") or [], sdo)
        return sdo

    def attribute(self, attr: Mapping[str, Any], refs: list[str], ours: bool = False) -> list[Built]:
        """The attribute's objects, each with the store's facts of it when ``ours`` (its ids are
        ones the validator takes) and its shape is proven (``misp_facts``), else None; each id
        is added to ``refs`` (the report's object_refs)."""
        attr_type = str(attr["type"])
        uid = str(attr["uuid"])
        value = str(attr["value"])
        category, labels = self._category(attr_type, attr.get("category"))
        raw_ts = attr.get("timestamp")
        if raw_ts and isinstance(raw_ts, str | int):
            ts, created, ts_text = epoch_texts(raw_ts)
        else:
            ts = ts_from_epoch(raw_ts) if raw_ts else datetime.now(UTC)
            created, ts_text = fmt_milli(ts), fmt_any(ts)
        identity_id = self.identity_id
        tags = attr.get("Tag") or []
        effects = self._tag_effects(tags) if tags else _NO_TAGS
        # The validator's spelling of the creation time, None when it would refuse it or a label
        # (no facts for the objects that carry them); their other times are checked as written.
        stamp = canonical_or_none(created) if ours else None
        if stamp is not None and tags and not plain_texts(effects[0]):
            stamp = None
        if attr_type == "vulnerability" or attr_type in CUSTOM_TYPES:
            sdo = self._sdo(attr, attr_type, category, value, uid, created)
            refs.append(sdo["id"])
            return [(sdo, None if stamp is None else sdo_facts(sdo["id"], sdo["type"], stamp, identity_id))]
        scos, pattern, atoms = observables(attr_type, value, uid)
        first = last = ts
        seen_first, seen_last = attr.get("first_seen"), attr.get("last_seen")
        if seen_first or seen_last:
            first = parse_seen(seen_first) or ts
            last = parse_seen(seen_last) or ts
            if first > last:
                if seen_last:
                    first = last
                else:
                    last = first
        ts_ok = stamp is not None and canonical_or_none(ts_text) is not None
        sco_ids: list[str] = []
        observed_id = f"observed-data--{uid}"
        observed: dict[str, Any] = {
            "type": "observed-data",
            "spec_version": "2.1",
            "id": observed_id,
            "created": created,
            "modified": created,
            "first_observed": ts_text if first is ts else fmt_any(first),
            "last_observed": ts_text if last is ts else fmt_any(last),
            "number_observed": 1,
            "object_refs": sco_ids,  # filled below
            "labels": list(labels),
        }
        if identity_id:
            observed["created_by_ref"] = identity_id
        if tags:
            self._apply(effects, observed)
        refs.append(observed_id)
        facts = None
        if (
            stamp is not None
            and (ts_ok if first is ts else _time_ok(observed["first_observed"]))
            and (ts_ok if last is ts else _time_ok(observed["last_observed"]))
        ):
            facts = sdo_facts(observed_id, "observed-data", stamp, identity_id)
        out: list[Built] = [(observed, facts)]
        for sco in scos:
            if attr_type == "regkey":
                expand_hives_in(sco)
            sco_id = sco["id"]
            sco_ids.append(sco_id)
            refs.append(sco_id)
            out.append((sco, sco_facts(sco_id, sco["type"]) if ours else None))
        if not self._to_ids(attr, attr_type):
            return out
        indicator_id = f"indicator--{uid}"
        indicator: dict[str, Any] = {
            "type": "indicator",
            "spec_version": "2.1",
            "id": indicator_id,
            "created": created,
            "modified": created,
            "pattern": f"[{pattern}]",
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": ts_text,
            "kill_chain_phases": [{"kill_chain_name": "misp-category", "phase_name": category}],
            "labels": list(labels),
        }
        if identity_id:
            indicator["created_by_ref"] = identity_id
        if attr.get("comment"):
            indicator["description"] = attr["comment"]
        if tags:
            self._apply(effects, indicator)
        expand_hives_in(indicator)
        refs.append(indicator_id)
        facts = None
        if stamp is not None and ts_ok and len(indicator["pattern"]) <= MAX_PATTERN_LENGTH:
            facts = sdo_facts(indicator_id, "indicator", stamp, identity_id, atoms)
        out.append((indicator, facts))
        rel = relationship(indicator_id, "based-on", observed_id, created)
        rel_id = rel["id"]
        refs.append(rel_id)
        out.append((rel, None if stamp is None else sdo_facts(rel_id, "relationship", stamp, None)))
        return out

    def _to_ids(self, attr: Mapping[str, Any], attr_type: str) -> bool:
        to_ids = attr.get("to_ids")
        if to_ids is None:
            return bool(self.types.default_to_ids.get(attr_type, False))
        if isinstance(to_ids, str):
            return to_ids.strip().lower() in ("1", "true")
        return bool(to_ids)

    def identity(self) -> dict[str, Any]:
        orgc = self.event["Orgc"]
        ts = self.event_ts()
        return {
            "type": "identity",
            "spec_version": "2.1",
            "id": self.identity_id,
            "created": fmt_milli(ts),
            "modified": fmt_milli(ts),
            "name": orgc["name"],
            "identity_class": "organization",
        }

    def event_ts(self) -> datetime:
        ts = self.event.get("timestamp")
        return ts_from_epoch(ts) if ts else datetime.now(UTC)

    def report(self, refs: list[str]) -> dict[str, Any]:
        ts = fmt_milli(self.event_ts())
        ev = self.event
        report: dict[str, Any] = {
            "spec_version": "2.1",
            "created": ts,
            "modified": ts,
            "name": ev.get("info", "MISP Event exported to STIX 2.1 with misp-stix."),
            "labels": ["Threat-Report", 'misp:tool="MISP-STIX-Converter"'],
        }
        if self.identity_id:
            report["created_by_ref"] = self.identity_id
        self._tags(ev.get("Tag") or [], report)
        if ev.get("published") and ev.get("publish_timestamp"):
            report.update(
                type="report",
                id=f"report--{ev['uuid']}",
                published=fmt_any(ts_from_epoch(ev["publish_timestamp"])),
            )
        else:
            report.update(type="grouping", id=f"grouping--{ev['uuid']}", context="suspicious-activity")
        report["object_refs"] = refs
        return report
