"""MISP event → STIX 2.1, streaming, equal to misp-stix on the common attribute kinds.

misp-stix is the reference mapping but runs at ~650 attributes/s and needs ~1 GB at
50k attributes.  Plain attributes of the common types (IPs, domains, URLs, hashes,
e-mail addresses, file names, mutexes, AS numbers, registry keys) are converted
here as plain dicts with exactly the ids and properties misp-stix produces (a
differential test holds us to it); everything else in the event (MISP objects,
galaxies, rare attribute types, sightings, analyst notes, event reports) is handed
to misp-stix in a reduced copy of the event, and the two halves are merged under
one report/grouping.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from colsec.errors import InvalidInput
from colsec.formats.misp_types import misp_types
from colsec.formats.misp_validate import validate_event
from colsec.stix.tlp import TLP, marking_object

__all__ = [
    "FAST_TYPES",
    "MispEventInfo",
    "convert_attributes",
    "convert_event",
    "event_info",
    "is_fast_attribute",
    "misp_stix",
    "reference_convert",
    "validate_event",
]

_NS = uuid.UUID("76beed5f-7251-457e-8c2a-b45f7b589d3d")  # misp-stix's namespace for derived ids

_TLP1: dict[str, dict[str, Any]] = {
    f"tlp:{name}": {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": mid,
        "created": "2017-01-20T00:00:00.000Z",
        "definition_type": "tlp",
        "name": f"TLP:{name.upper()}",
        "definition": {"tlp": name},
    }
    for name, mid in (
        ("white", "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"),
        ("green", "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"),
        ("amber", "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"),
        ("red", "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"),
    )
}
_TLP2 = {"tlp:clear": marking_object(TLP.CLEAR), "tlp:amber+strict": marking_object(TLP.AMBER_STRICT)}
MARKINGS: dict[str, dict[str, Any]] = {**_TLP1, **_TLP2}
_CONFIDENCE = {
    'misp:confidence-level="completely-confident"': 100,
    'misp:confidence-level="usually-confident"': 75,
    'misp:confidence-level="fairly-confident"': 50,
    'misp:confidence-level="rarely-confident"': 25,
    'misp:confidence-level="unconfident"': 0,
}

_HASHES = {"md5": ("MD5", 32), "sha1": ("SHA-1", 40), "sha256": ("SHA-256", 64), "sha512": ("SHA-512", 128)}
# more digests misp-stix writes as plain file hashes: (hashes key, pattern path, hex length or None)
_EXTRA_HASHES = {
    "sha224": ("SHA224", "'SHA-224'", 56),
    "sha384": ("SHA384", "'SHA-384'", 96),
    "imphash": ("IMPHASH", "IMPHASH", 32),
    "ssdeep": ("SSDEEP", "SSDEEP", None),
}
_CUSTOM_TYPES = frozenset({"text", "comment", "other"})  # misp-stix keeps these as x-misp-attribute
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_AS = re.compile(r"^(?:AS|as)?(\d{1,10})$")
FAST_TYPES = frozenset(
    {
        "ip-src", "ip-dst", "ip-src|port", "ip-dst|port", "domain", "hostname", "domain|ip", "url",
        "link", "md5", "sha1", "sha256", "sha512", "filename", "filename|md5", "filename|sha1",
        "filename|sha256", "filename|sha512", "email", "email-src", "email-dst", "mutex", "AS", "regkey",
        "sha224", "sha384", "imphash", "ssdeep", "hostname|port", "vulnerability", "text", "comment", "other",
    }
)  # fmt: skip


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _ts_from_epoch(value: object) -> datetime:
    try:
        return datetime.fromtimestamp(int(str(value)), UTC)
    except (OverflowError, OSError, ValueError):  # beyond what a clock can say, or not a number
        raise InvalidInput(f"timestamp {str(value)[:40]!r} is not a time in epoch seconds") from None


def _fmt_milli(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _fmt_any(dt: datetime) -> str:
    base = dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        return f"{base}.{dt.microsecond:06d}".rstrip("0") + "Z"
    return base + "Z"


@lru_cache(maxsize=4096, typed=True)
def _epoch_texts(value: str | int) -> tuple[datetime, str, str]:
    """An attribute timestamp and its two spellings; cached, as an event's attributes share few."""
    ts = _ts_from_epoch(value)
    return ts, _fmt_milli(ts), _fmt_any(ts)


def _parse_seen(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _ip_kind(value: str) -> str | None:
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    return "ipv4-addr" if net.version == 4 else "ipv6-addr"


def _valid_value(attr_type: str, value: str) -> bool:
    """True when the fast path maps this value exactly as misp-stix would (else: reference path)."""
    if "|" in attr_type:
        if value.count("|") != 1:
            return False
        left, right = value.split("|")
        if attr_type.startswith("filename|"):
            algo, size = _HASHES[attr_type.split("|")[1]]
            return bool(left) and len(right) == size and bool(_HEX.match(right))
        if attr_type == "hostname|port":
            return bool(left) and right.isdigit() and right.isascii() and int(right) < 65536
        if attr_type == "domain|ip":
            return bool(left) and _ip_kind(right) is not None and "/" not in right
        return _ip_kind(left) is not None and right.isdigit() and right.isascii() and int(right) < 65536
    if attr_type in _HASHES:
        return len(value) == _HASHES[attr_type][1] and bool(_HEX.match(value))
    if attr_type in _EXTRA_HASHES:
        digest_len = _EXTRA_HASHES[attr_type][2]
        if digest_len is None:
            return bool(value) and "'" not in value and "\\" not in value
        return len(value) == digest_len and bool(_HEX.match(value))
    if attr_type == "vulnerability":
        return bool(_CVE.match(value))
    if attr_type in ("ip-src", "ip-dst"):
        return _ip_kind(value) is not None
    if attr_type == "AS":
        return bool(_AS.match(value))
    return bool(value)


def is_fast_attribute(attr: Mapping[str, Any], referenced: frozenset[str] | set[str] = frozenset()) -> bool:
    attr_type = attr.get("type")
    value = attr.get("value")
    if attr_type not in FAST_TYPES or not isinstance(value, str):
        return False
    if attr.get("uuid") in referenced or attr.get("data"):
        return False
    for key in ("Galaxy", "Sighting", "Note", "Opinion", "Relationship", "ShadowAttribute"):
        if attr.get(key):
            return False
    for key in ("first_seen", "last_seen"):
        if attr.get(key) and (
            _parse_seen(attr[key]) is None or attr_type in _CUSTOM_TYPES or attr_type == "vulnerability"
        ):
            return False
    tags = attr.get("Tag") or []
    if not all(isinstance(t, Mapping) and isinstance(t.get("name"), str) for t in tags):
        return False
    return _valid_value(str(attr_type), value)


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


# (indicator id, observed-data id, created): the relationship is built when emitted, at the end
# as misp-stix orders it; a 200,000-attribute event would otherwise hold ~130,000 dicts meanwhile.
_Based = tuple[str, str, str]


def _based_on(pending: list[_Based]) -> Iterator[dict[str, Any]]:
    for source, target, created in pending:
        yield _Converter.relationship(source, "based-on", target, created)


class _Converter:
    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event
        self.types = misp_types()
        orgc = event.get("Orgc")
        self.identity_id: str | None = None
        if isinstance(orgc, Mapping) and orgc.get("name") is not None and orgc.get("uuid") is not None:
            self.identity_id = f"identity--{orgc['uuid']}"
        self.markings_used: dict[str, dict[str, Any]] = {}

    def _tags(self, tags: list[Mapping[str, Any]], obj: dict[str, Any]) -> None:
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
            score = _CONFIDENCE.get(name)
            if score is not None:
                scores.append(score)
            obj["labels"].append(name)
        if scores:
            obj["confidence"] = min(scores)
        if refs:
            obj["object_marking_refs"] = refs

    def _scos(self, attr_type: str, value: str, uid: str) -> tuple[list[dict[str, Any]], str]:
        """SCOs (first one is what observed-data refers to first) and the pattern body."""
        sv = "2.1"
        sco: dict[str, Any]
        if attr_type in ("ip-src", "ip-dst", "ip-src|port", "ip-dst|port"):
            direction = "src" if attr_type.startswith("ip-src") else "dst"
            ip, port = (value.split("|") + [""])[:2] if "|" in attr_type else (value, "")
            kind = _ip_kind(ip)
            ip_id = f"{kind}--{uid}"
            nt: dict[str, Any] = {
                "type": "network-traffic",
                "spec_version": sv,
                "id": f"network-traffic--{uid}",
            }
            nt[f"{direction}_ref"] = ip_id
            pattern = f"network-traffic:{direction}_ref.type = '{kind}' AND network-traffic:{direction}_ref.value = '{_esc(ip)}'"
            if port:
                nt[f"{direction}_port"] = int(port)
                pattern += f" AND network-traffic:{direction}_port = '{port}'"
            nt["protocols"] = ["tcp"]
            return [nt, {"type": kind, "spec_version": sv, "id": ip_id, "value": ip}], pattern
        if attr_type in ("domain", "hostname"):
            sco = {"type": "domain-name", "spec_version": sv, "id": f"domain-name--{uid}", "value": value}
            return [sco], f"domain-name:value = '{_esc(value)}'"
        if attr_type == "domain|ip":
            domain, ip = value.split("|")
            kind = _ip_kind(ip)
            ip_id = f"{kind}--{uid}"
            dn = {
                "type": "domain-name",
                "spec_version": sv,
                "id": f"domain-name--{uid}",
                "value": domain,
                "resolves_to_refs": [ip_id],
            }
            pattern = f"domain-name:value = '{_esc(domain)}' AND domain-name:resolves_to_refs[*].value = '{_esc(ip)}'"
            return [dn, {"type": kind, "spec_version": sv, "id": ip_id, "value": ip}], pattern
        if attr_type in ("url", "link"):
            return [
                {"type": "url", "spec_version": sv, "id": f"url--{uid}", "value": value}
            ], f"url:value = '{_esc(value)}'"
        if attr_type in _HASHES:
            algo = _HASHES[attr_type][0]
            path = algo if "-" not in algo else f"'{algo}'"
            sco = {
                "type": "file",
                "spec_version": sv,
                "id": f"file--{uid}",
                "hashes": {algo: value},
            }
            return [sco], f"file:hashes.{path} = '{_esc(value)}'"
        if attr_type in _EXTRA_HASHES:
            key, path, _size = _EXTRA_HASHES[attr_type]
            sco = {"type": "file", "spec_version": sv, "id": f"file--{uid}", "hashes": {key: value}}
            return [sco], f"file:hashes.{path} = '{_esc(value)}'"
        if attr_type == "hostname|port":
            host, port = value.split("|")
            dn = {"type": "domain-name", "spec_version": sv, "id": f"domain-name--{uid}", "value": host}
            nt = {"type": "network-traffic", "spec_version": sv, "id": f"network-traffic--{uid}"}
            nt.update(dst_ref=dn["id"], dst_port=int(port), protocols=["tcp"])
            return [dn, nt], f"domain-name:value = '{_esc(host)}' AND network-traffic:dst_port = '{port}'"
        if attr_type.startswith("filename|"):
            name, digest = value.split("|")
            algo = _HASHES[attr_type.split("|")[1]][0]
            path = algo if "-" not in algo else f"'{algo}'"
            sco = {"type": "file", "spec_version": sv, "id": f"file--{uid}", "hashes": {algo: digest}}
            sco["name"] = name
            return [sco], f"file:name = '{_esc(name)}' AND file:hashes.{path} = '{_esc(digest)}'"
        if attr_type == "filename":
            sco = {"type": "file", "spec_version": sv, "id": f"file--{uid}", "name": value}
            return [sco], f"file:name = '{_esc(value)}'"
        if attr_type in ("email-src", "email-dst"):
            addr_id = f"email-addr--{uid}"
            msg: dict[str, Any] = {
                "type": "email-message",
                "spec_version": sv,
                "id": f"email-message--{uid}",
                "is_multipart": False,
            }
            if attr_type == "email-src":
                msg["from_ref"] = addr_id
                pattern = f"email-message:from_ref.value = '{_esc(value)}'"
            else:
                msg["to_refs"] = [addr_id]
                pattern = f"email-message:to_refs[*].value = '{_esc(value)}'"
            return [msg, {"type": "email-addr", "spec_version": sv, "id": addr_id, "value": value}], pattern
        if attr_type == "email":
            sco = {"type": "email-addr", "spec_version": sv, "id": f"email-addr--{uid}", "value": value}
            return [sco], f"email-addr:value = '{_esc(value)}'"
        if attr_type == "mutex":
            return [
                {"type": "mutex", "spec_version": sv, "id": f"mutex--{uid}", "name": value}
            ], f"mutex:name = '{_esc(value)}'"
        if attr_type == "AS":
            m = _AS.match(value)
            assert m is not None
            number = int(m.group(1))
            sco = {"type": "autonomous-system", "spec_version": sv, "id": f"autonomous-system--{uid}"}
            sco["number"] = number
            return [sco], f"autonomous-system:number = '{number}'"
        if attr_type == "regkey":
            sco = {
                "type": "windows-registry-key",
                "spec_version": sv,
                "id": f"windows-registry-key--{uid}",
                "key": value,
            }
            return [sco], f"windows-registry-key:key = '{_esc(value)}'"
        raise AssertionError(attr_type)

    def attribute(
        self, attr: Mapping[str, Any], refs: list[str], relationships: list[_Based]
    ) -> Iterator[dict[str, Any]]:
        attr_type = str(attr["type"])
        uid = str(attr["uuid"])
        value = str(attr["value"])
        category = self.types.category_for(attr_type, attr.get("category"))
        raw_ts = attr.get("timestamp")
        if raw_ts and isinstance(raw_ts, str | int):
            ts, created, ts_text = _epoch_texts(raw_ts)
        else:
            ts = _ts_from_epoch(raw_ts) if raw_ts else datetime.now(UTC)
            created, ts_text = _fmt_milli(ts), _fmt_any(ts)
        labels = [f'misp:type="{attr_type}"', f'misp:category="{category}"']
        tags = attr.get("Tag") or []
        if attr_type == "vulnerability" or attr_type in _CUSTOM_TYPES:
            sdo: dict[str, Any] = {
                "spec_version": "2.1",
                "created": created,
                "modified": created,
                "labels": list(labels),
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
            self._tags(tags, sdo)
            refs.append(sdo["id"])
            yield sdo
            return
        scos, pattern = self._scos(attr_type, value, uid)
        first = _parse_seen(attr.get("first_seen")) or ts
        last = _parse_seen(attr.get("last_seen")) or ts
        if first > last:
            if attr.get("last_seen"):
                first = last
            else:
                last = first
        observed: dict[str, Any] = {
            "type": "observed-data",
            "spec_version": "2.1",
            "id": f"observed-data--{uid}",
            "created": created,
            "modified": created,
            "first_observed": ts_text if first is ts else _fmt_any(first),
            "last_observed": ts_text if last is ts else _fmt_any(last),
            "number_observed": 1,
            "object_refs": [s["id"] for s in scos],
            "labels": list(labels),
        }
        if self.identity_id:
            observed["created_by_ref"] = self.identity_id
        self._tags(tags, observed)
        refs.append(observed["id"])
        yield observed
        for sco in scos:
            refs.append(sco["id"])
            yield sco
        to_ids = attr.get("to_ids")
        if to_ids is None:
            flag = self.types.default_to_ids.get(attr_type, False)
        elif isinstance(to_ids, str):
            flag = to_ids.strip().lower() in ("1", "true")
        else:
            flag = bool(to_ids)
        if flag:
            indicator: dict[str, Any] = {
                "type": "indicator",
                "spec_version": "2.1",
                "id": f"indicator--{uid}",
                "created": created,
                "modified": created,
                "pattern": f"[{pattern}]",
                "pattern_type": "stix",
                "pattern_version": "2.1",
                "valid_from": ts_text,
                "kill_chain_phases": [{"kill_chain_name": "misp-category", "phase_name": category}],
                "labels": list(labels),
            }
            if self.identity_id:
                indicator["created_by_ref"] = self.identity_id
            if attr.get("comment"):
                indicator["description"] = attr["comment"]
            self._tags(tags, indicator)
            refs.append(indicator["id"])
            yield indicator
            relationships.append((indicator["id"], observed["id"], created))

    @staticmethod
    def relationship(source: str, rel_type: str, target: str, created: str) -> dict[str, Any]:
        rid = uuid.uuid5(_NS, f"{source} - {rel_type} - {target}")
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

    def identity(self) -> dict[str, Any]:
        orgc = self.event["Orgc"]
        ts = self.event_ts()
        return {
            "type": "identity",
            "spec_version": "2.1",
            "id": self.identity_id,
            "created": _fmt_milli(ts),
            "modified": _fmt_milli(ts),
            "name": orgc["name"],
            "identity_class": "organization",
        }

    def event_ts(self) -> datetime:
        ts = self.event.get("timestamp")
        return _ts_from_epoch(ts) if ts else datetime.now(UTC)

    def report(self, refs: list[str]) -> dict[str, Any]:
        ts = _fmt_milli(self.event_ts())
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
                published=_fmt_any(_ts_from_epoch(ev["publish_timestamp"])),
            )
        else:
            report.update(type="grouping", id=f"grouping--{ev['uuid']}", context="suspicious-activity")
        report["object_refs"] = refs
        return report


def _needs_reference(event: Mapping[str, Any], rare: list[Mapping[str, Any]]) -> bool:
    return bool(
        rare
        or event.get("Object")
        or event.get("Galaxy")
        or event.get("EventReport")
        or event.get("Note")
        or event.get("Opinion")
        or event.get("Relationship")
    )


def misp_stix() -> Any:
    """The misp-stix package, imported quietly (its STIX 1 dependencies warn on import)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import misp_stix_converter

    _modernise_six_importers()
    return misp_stix_converter


def _modernise_six_importers() -> None:
    """Give the old vendored ``six`` meta-path finders (mixbox, via misp-stix's STIX 1 side) the
    ``find_spec`` API, so that every later import in the process stops raising ImportWarning."""
    import importlib.util
    import sys

    for finder in sys.meta_path:
        cls: Any = type(finder)
        if cls.__name__ != "_SixMetaPathImporter" or "find_spec" in cls.__dict__:
            continue

        def find_spec(self: Any, fullname: str, path: Any = None, target: Any = None) -> Any:
            if fullname in self.known_modules:
                return importlib.util.spec_from_loader(fullname, self)
            return None

        def create_module(self: Any, spec: Any) -> Any:
            return self.load_module(spec.name)

        def exec_module(self: Any, module: Any) -> None:
            return None

        cls.find_spec = find_spec
        cls.create_module = create_module
        cls.exec_module = exec_module


def reference_convert(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    """misp-stix's own conversion of a whole event (the reference, and the path for rare kinds)."""
    parser = misp_stix().MISPtoSTIX21Parser()
    try:
        parser.parse_misp_event({"Event": dict(event)})
        return [orjson.loads(o.serialize()) for o in parser.stix_objects]
    except Exception as exc:  # the reference converter's own errors on input it cannot map
        raise InvalidInput(
            f"MISP event {event.get('uuid')}: cannot be converted ({type(exc).__name__}: {exc})"
        ) from None


def convert_event(wrapper: Mapping[str, Any], notes: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Yield the STIX 2.1 objects for one MISP event; the report/grouping comes last.

    Elements the reference cannot map are left out and named in ``notes``; registry
    hives are spelled out as STIX requires (misp-stix keeps ``HKLM``).
    """
    from colsec.formats.registry_keys import expand_hives_in

    for obj in _convert_event(wrapper, notes):
        yield expand_hives_in(obj)


def _convert_event(wrapper: Mapping[str, Any], notes: list[str] | None) -> Iterator[dict[str, Any]]:
    from colsec.formats.misp_salvage import convert_salvaging, prepared

    event = prepared(validate_event(wrapper, notes if notes is not None else []))
    conv = _Converter(event)
    referenced: set[str] = set()
    for obj in event.get("Object") or []:
        for ref in obj.get("ObjectReference") or []:
            if isinstance(ref, Mapping) and ref.get("referenced_uuid"):
                referenced.add(str(ref["referenced_uuid"]))
    attrs = event.get("Attribute") or []
    fast = [is_fast_attribute(a, referenced) for a in attrs]  # once: it is a fifth of the conversion
    rare = [a for a, quick in zip(attrs, fast, strict=True) if not quick]
    refs: list[str] = []
    relationships: list[_Based] = []
    report: dict[str, Any] | None = None
    emitted: set[str] = set()
    if _needs_reference(event, rare) or not attrs:
        reduced = {k: v for k, v in event.items() if k != "Attribute"}
        reduced["Attribute"] = rare
        for obj in convert_salvaging(reduced, reference_convert, notes):
            if obj["type"] in ("report", "grouping") and obj["id"].split("--", 1)[1] == str(event["uuid"]):
                report = obj
                continue
            emitted.add(obj["id"])
            if obj["type"] == "marking-definition":
                conv.markings_used.pop(obj["id"], None)
            yield obj
    elif conv.identity_id:
        emitted.add(conv.identity_id)
        yield conv.identity()
    for attr, quick in zip(attrs, fast, strict=True):
        if quick:
            yield from conv.attribute(attr, refs, relationships)
    for rel in _based_on(relationships):
        refs.append(rel["id"])
        yield rel
    for mid, marking in list(conv.markings_used.items()):
        if mid not in emitted:
            emitted.add(mid)
            yield marking
    if report is None:
        report = conv.report(refs)
        for mid, marking in conv.markings_used.items():
            if mid not in emitted:
                yield marking
    else:
        report["object_refs"] = list(report.get("object_refs", [])) + refs
        notes = [
            r for r in report["object_refs"] if r.startswith("note--") and r.endswith(str(event["uuid"]))
        ]
        if notes and refs:  # misp-stix's "empty event" note is not needed once our half adds content
            report["object_refs"] = [r for r in report["object_refs"] if r not in notes]
    yield report


def convert_attributes(attributes: list[Any]) -> Iterator[dict[str, Any]]:
    """STIX for a bare attribute collection (MISP ``/attributes`` REST output): no report, no identity."""
    from colsec.formats.registry_keys import expand_hives_in

    for obj in _convert_attributes(attributes):
        yield expand_hives_in(obj)


def _convert_attributes(attributes: list[Any]) -> Iterator[dict[str, Any]]:
    from colsec.formats.misp_urls import conform_url_attributes

    fake = conform_url_attributes(
        validate_event({"Event": {"uuid": str(uuid.uuid4()), "info": "attributes", "Attribute": attributes}})
    )
    conv = _Converter({})
    attrs = fake["Attribute"]
    rare = [a for a in attrs if not is_fast_attribute(a)]
    emitted: set[str] = set()
    if rare:
        parser = misp_stix().MISPtoSTIX21Parser()
        try:
            parser.parse_misp_attributes([dict(a) for a in rare])
            converted = [orjson.loads(obj.serialize()) for obj in parser.stix_objects]
        except Exception as exc:  # the reference converter's own errors on input it cannot map
            raise InvalidInput(
                f"attribute collection cannot be converted ({type(exc).__name__}: {exc})"
            ) from None
        for data in converted:
            emitted.add(data["id"])
            yield data
    refs: list[str] = []
    relationships: list[_Based] = []
    for attr in attrs:
        if is_fast_attribute(attr):
            yield from conv.attribute(attr, refs, relationships)
    yield from _based_on(relationships)
    for mid, marking in conv.markings_used.items():
        if mid not in emitted:
            yield marking
