"""STIX → MISP events and MISP feed folders, through misp-stix (the reference mapping).

Objects that came from MISP carry misp-stix's labels (``misp:type=...``), so the
internal parser gives back the original attributes, objects and tags; other STIX
goes through misp-stix's external parser.  Tags misp-stix adds about itself
(``Threat-Report``, ``misp:tool=...``, producer galaxy tags) are removed: they were
never part of the source event.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from typing import Any

import orjson

from colsec.errors import InvalidInput
from colsec.formats.misp_to_stix import misp_stix
from colsec.stix.tlp import TLP, TLP_BY_NAME

__all__ = ["render_feed", "stix_to_misp_events"]

_NOISE_TAGS = ("Threat-Report", 'misp:tool="MISP-STIX-Converter"')


def _clean_tags(tags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        t
        for t in tags
        if t.get("name") not in _NOISE_TAGS and not str(t.get("name", "")).startswith("misp-galaxy:producer=")
    ]


def _tlp_level(name: str) -> TLP | None:
    if not name.lower().startswith("tlp:"):
        return None
    return TLP_BY_NAME.get(name.split(":", 1)[1].lower())


def _fold_store_tlp(event: dict[str, Any]) -> None:
    """Drop attribute TLP tags equal to the event's: the store marks every object explicitly,
    MISP states it once on the event."""
    levels = {lv for t in event.get("Tag", []) if (lv := _tlp_level(str(t.get("name", "")))) is not None}
    if len(levels) != 1:
        return
    level = levels.pop()
    attrs = list(event.get("Attribute", [])) + [
        a for o in event.get("Object", []) for a in o.get("Attribute", [])
    ]
    for attr in attrs:
        if attr.get("Tag"):
            attr["Tag"] = [t for t in attr["Tag"] if _tlp_level(str(t.get("name", ""))) != level]
            if not attr["Tag"]:
                del attr["Tag"]


def _unwrap_rule_patterns(event: dict[str, Any], group: list[dict[str, Any]]) -> None:
    """misp-stix writes non-STIX rules (yara, snort, sigma) as ``[rule]`` patterns and reads them
    back with the brackets; give back the rule text of MISP-origin indicators without them."""
    wrapped = {
        str(o["id"]).split("--", 1)[1]
        for o in group
        if o.get("type") == "indicator"
        and o.get("pattern_type") not in (None, "stix")
        and any(str(lab).startswith("misp:type=") for lab in o.get("labels", []))
    }
    for attr in event.get("Attribute", []):
        value = attr.get("value")
        if (
            str(attr.get("uuid")) in wrapped
            and isinstance(value, str)
            and value.startswith("[")
            and value.endswith("]")
        ):
            attr["value"] = value[1:-1]


def _groups(objects: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """One group per report/grouping (with what it refers to); loose objects form one more."""
    by_id = {o["id"]: o for o in objects}
    containers = [o for o in objects if o.get("type") in ("report", "grouping")]
    if not containers:
        return [objects]
    groups = []
    claimed: set[str] = set()
    for c in containers:
        ids = [c["id"], *c.get("object_refs", [])]
        extra = {o.get("created_by_ref") for o in objects if o["id"] in ids} | set()
        members = [by_id[i] for i in dict.fromkeys([*ids, *[e for e in extra if e]]) if i in by_id]
        markings = {m for o in members for m in o.get("object_marking_refs", [])}
        members += [by_id[m] for m in markings if m in by_id and by_id[m] not in members]
        claimed.update(o["id"] for o in members)
        groups.append(members)
    loose = [
        o
        for o in objects
        if o["id"] not in claimed and o.get("type") not in ("identity", "marking-definition")
    ]
    if loose:
        groups.append(loose)
    return groups


def stix_to_misp_events(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """MISP events (``{"Event": ...}`` dicts) for a selection of STIX objects."""
    from stix2.parsing import parse

    m = misp_stix()
    events = []
    for group in _groups(list(objects)):
        if not group:
            continue
        from_misp = any(
            isinstance(lab, str) and lab.startswith("misp:") for o in group for lab in o.get("labels", [])
        )
        bundle = parse(
            {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": group}, allow_custom=True
        )
        parser = m.InternalSTIX2toMISPParser() if from_misp else m.ExternalSTIX2toMISPParser()
        try:
            parser.load_stix_bundle(bundle)
            parser.parse_stix_bundle()
        except Exception as exc:  # the reference parser raises assorted errors on input it cannot map
            raise InvalidInput(f"cannot express the selection as a MISP event: {exc}") from None
        misp_events = getattr(parser, "misp_events", None)
        if isinstance(misp_events, list):
            found = misp_events
        else:
            found = [parser.misp_event]
        for ev in found:
            data = orjson.loads(ev.to_json())
            data["Tag"] = _clean_tags(data.get("Tag", []))
            _fold_store_tlp(data)
            _unwrap_rule_patterns(data, group)
            events.append({"Event": data})
    return events


def render_feed(objects: Iterable[dict[str, Any]]) -> dict[str, bytes]:
    """A MISP feed folder: ``manifest.json``, ``<uuid>.json`` per event and ``hashes.csv``."""
    files: dict[str, bytes] = {}
    manifest: dict[str, Any] = {}
    hashes: list[str] = []
    for wrapper in stix_to_misp_events(objects):
        ev = wrapper["Event"]
        ev_uuid = ev["uuid"]
        files[f"{ev_uuid}.json"] = orjson.dumps(wrapper)
        manifest[ev_uuid] = {
            "info": ev.get("info", ""),
            "date": ev.get("date", ""),
            "timestamp": str(ev.get("timestamp", "")),
            "threat_level_id": str(ev.get("threat_level_id", "4")),
            "analysis": str(ev.get("analysis", "0")),
            "Orgc": ev.get("Orgc", {}),
            "Tag": ev.get("Tag", []),
        }
        attrs = list(ev.get("Attribute", [])) + [
            a for o in ev.get("Object", []) for a in o.get("Attribute", [])
        ]
        for attr in attrs:
            for part in str(attr.get("value", "")).split("|"):
                hashes.append(f"{hashlib.md5(part.encode()).hexdigest()},{ev_uuid}")
    files["manifest.json"] = orjson.dumps(manifest)
    files["hashes.csv"] = ("\n".join(hashes) + ("\n" if hashes else "")).encode()
    return files
