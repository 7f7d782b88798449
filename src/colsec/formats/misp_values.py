"""MISP attribute values the fast converter maps itself, and the spellings it shares with misp-stix.

``is_fast_attribute`` is the gate: only an attribute whose type and value this module
knows to map exactly as misp-stix does goes the fast way; anything else goes to
misp-stix (``colsec.formats.misp_reference``).  misp-stix first runs PyMISP's attribute
validation, which respells some values (case, a trailing dot, refanged ``hxxp``, IP and IDNA
forms, surrounding space) and refuses others (``exa mple..com`` as a domain): such a value is
left to misp-stix, so both paths agree, and one it drops is named in the import's notes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from colsec.errors import InvalidInput
from colsec.stix.tlp import TLP, marking_object

__all__ = [
    "AS_NUMBER",
    "CONFIDENCE",
    "CUSTOM_TYPES",
    "EXTRA_HASHES",
    "FAST_TYPES",
    "HASHES",
    "MARKINGS",
    "epoch_texts",
    "fmt_any",
    "fmt_milli",
    "ip_kind",
    "is_fast_attribute",
    "parse_seen",
    "ts_from_epoch",
]

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
CONFIDENCE = {
    'misp:confidence-level="completely-confident"': 100,
    'misp:confidence-level="usually-confident"': 75,
    'misp:confidence-level="fairly-confident"': 50,
    'misp:confidence-level="rarely-confident"': 25,
    'misp:confidence-level="unconfident"': 0,
}

HASHES = {"md5": ("MD5", 32), "sha1": ("SHA-1", 40), "sha256": ("SHA-256", 64), "sha512": ("SHA-512", 128)}
# more digests misp-stix writes as plain file hashes: (hashes key, pattern path, hex length or None)
EXTRA_HASHES = {
    "sha224": ("SHA224", "'SHA-224'", 56),
    "sha384": ("SHA384", "'SHA-384'", 96),
    "imphash": ("IMPHASH", "IMPHASH", 32),
    "ssdeep": ("SSDEEP", "SSDEEP", None),
}
CUSTOM_TYPES = frozenset({"text", "comment", "other"})  # misp-stix keeps these as x-misp-attribute
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}\Z")
_HEX = re.compile(r"^[0-9a-fA-F]+\Z")
AS_NUMBER = re.compile(r"^(?:AS|as)?(\d{1,10})\Z")
FAST_TYPES = frozenset(
    {
        "ip-src", "ip-dst", "ip-src|port", "ip-dst|port", "domain", "hostname", "domain|ip", "url",
        "link", "md5", "sha1", "sha256", "sha512", "filename", "filename|md5", "filename|sha1",
        "filename|sha256", "filename|sha512", "email", "email-src", "email-dst", "mutex", "AS", "regkey",
        "sha224", "sha384", "imphash", "ssdeep", "hostname|port", "vulnerability", "text", "comment", "other",
    }
)  # fmt: skip


def ts_from_epoch(value: object) -> datetime:
    try:
        return datetime.fromtimestamp(int(str(value)), UTC)
    except (OverflowError, OSError, ValueError):  # beyond what a clock can say, or not a number
        raise InvalidInput(f"timestamp {str(value)[:40]!r} is not a time in epoch seconds") from None


def fmt_milli(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def fmt_any(dt: datetime) -> str:
    base = dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        return f"{base}.{dt.microsecond:06d}".rstrip("0") + "Z"
    return base + "Z"


@lru_cache(maxsize=4096, typed=True)
def epoch_texts(value: str | int) -> tuple[datetime, str, str]:
    """An attribute timestamp and its two spellings; cached, as an event's attributes share few."""
    ts = ts_from_epoch(value)
    return ts, fmt_milli(ts), fmt_any(ts)


def parse_seen(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


# A plain dotted quad (no leading zeros), the commonest value by far: ``ipaddress`` accepts
# every such text as IPv4, so this answers it without building a network (a fifth of
# converting an IP attribute, profiled).  Anything else is asked of ``ipaddress``.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def ip_kind(value: str) -> str | None:
    if _DOTTED_QUAD.fullmatch(value):
        return "ipv4-addr"
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    return "ipv4-addr" if net.version == 4 else "ipv6-addr"


def _port(text: str) -> bool:
    return text.isdigit() and text.isascii() and int(text) < 65536


def _valid_value(attr_type: str, value: str) -> bool:
    """True when the fast path maps this value exactly as misp-stix would (else: reference path)."""
    if "|" in attr_type:
        if value.count("|") != 1:
            return False
        left, right = value.split("|")
        if attr_type.startswith("filename|"):
            size = HASHES[attr_type.split("|")[1]][1]
            return bool(left) and len(right) == size and bool(_HEX.match(right))
        if attr_type == "hostname|port":
            return bool(left) and _port(right)
        if attr_type == "domain|ip":
            return bool(left) and ip_kind(right) is not None and "/" not in right
        return ip_kind(left) is not None and _port(right)
    if attr_type in HASHES:
        return len(value) == HASHES[attr_type][1] and bool(_HEX.match(value))
    if attr_type in EXTRA_HASHES:
        digest_len = EXTRA_HASHES[attr_type][2]
        if digest_len is None:
            return bool(value) and "'" not in value and "\\" not in value
        return len(value) == digest_len and bool(_HEX.match(value))
    if attr_type == "vulnerability":
        return bool(_CVE.match(value))
    if attr_type in ("ip-src", "ip-dst"):
        return ip_kind(value) is not None
    if attr_type == "AS":
        return bool(AS_NUMBER.match(value))
    return bool(value)


# Shapes PyMISP's validation keeps as they are, answered without it (the commonest values);
# tests/formats/test_misp_reference_values.py holds every value the gate takes to PyMISP's answer.
_PLAIN_HOST = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.[a-z0-9-]{2,}")
_LOWER_HEX = re.compile(r"[0-9a-f]+")
_PLAIN_EMAIL = re.compile(r"[a-z0-9._%+-]+@[a-z0-9_-]+(?:\.[a-z0-9_-]+)+")
_PLAIN_TEXT_TYPES = frozenset({"filename", "mutex", "regkey", "text", "comment", "other"})
# filename|<hash>: PyMISP lower-cases the hash and wants its exact length (a tenth of a typical event)
_FILENAME_HASH_LENGTH = {
    f"filename|{name}": n
    for name, n in (("md5", 32), ("sha1", 40), ("sha224", 56), ("sha256", 64), ("sha384", 96),
                    ("sha512", 128), ("imphash", 32), ("authentihash", 64))
}  # fmt: skip
_DEFANGED_SCHEME = ("hxxp", "hxtp", "htxp", "meow", "h[tt")


@lru_cache(maxsize=1)
def _validation_tool() -> Any:
    """PyMISP's attribute validation, imported once it is needed."""
    from pymisp.tools.attributevalidationtool import AttributeValidationTool

    return AttributeValidationTool


def _reference_keeps(attr_type: str, value: str) -> bool:
    """Whether the value passes PyMISP's validation unchanged (an AS number: valid, as the fast
    path reads the number whatever its spelling)."""
    if value.isascii() and "\n" not in value and value.strip() == value:
        if attr_type in ("domain", "hostname"):
            if _PLAIN_HOST.fullmatch(value):
                return True
        elif attr_type in ("ip-src", "ip-dst"):
            if _DOTTED_QUAD.fullmatch(value):
                return True
        elif attr_type in HASHES or attr_type in ("sha224", "sha384", "imphash"):
            if _LOWER_HEX.fullmatch(value):
                return True
        elif attr_type in _PLAIN_TEXT_TYPES:
            return True
        elif attr_type in ("email", "email-src", "email-dst"):
            if _PLAIN_EMAIL.fullmatch(value):
                return True
        elif attr_type == "url" and "[" not in value and "(" not in value:
            if not value[:4].lower().startswith(_DEFANGED_SCHEME):
                return True
        elif attr_type in _FILENAME_HASH_LENGTH and value.count("|") == 1:
            name, digest = value.split("|")
            if name and len(digest) == _FILENAME_HASH_LENGTH[attr_type] and _LOWER_HEX.fullmatch(digest):
                return True
    tool = _validation_tool()
    try:
        changed = tool.modifyBeforeValidation(attr_type, value)
        valid = tool.validate(attr_type, changed) is True
    except Exception:  # what misp-stix takes for a refusal too (an IDNA label it cannot encode)
        return False
    return valid and (changed == value or attr_type == "AS")


def is_fast_attribute(attr: Mapping[str, Any], referenced: frozenset[str] | set[str] = frozenset()) -> bool:
    get = attr.get
    attr_type = get("type")
    value = get("value")
    if attr_type not in FAST_TYPES or not isinstance(value, str):
        return False
    if get("uuid") in referenced or get("data"):
        return False
    for key in _NOT_FAST_WITH:
        if get(key):
            return False
    for key in ("first_seen", "last_seen"):
        if get(key) and (
            parse_seen(attr[key]) is None or attr_type in CUSTOM_TYPES or attr_type == "vulnerability"
        ):
            return False
    tags = get("Tag")
    if tags and not all(
        (type(t) is dict or isinstance(t, Mapping)) and isinstance(t.get("name"), str) for t in tags
    ):
        return False
    return _valid_value(str(attr_type), value) and _reference_keeps(str(attr_type), value)


_NOT_FAST_WITH = ("Galaxy", "Sighting", "Note", "Opinion", "Relationship", "ShadowAttribute")
