"""Normalised observable values, the key of correlation, search and sensor exports.

One ``(kind, value)`` pair per fact: ``("ipv4", "198.51.100.7")``,
``("domain", "evil.example.com")``, ``("sha256", "ab12...")``.  Values are
normalised once here so that every producer (SCOs, indicator patterns, MISP,
free text) and every consumer agree.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any

from colsec.stix.pattern import PatternError, comparison_atoms

__all__ = ["HASH_KINDS", "Observable", "atom_observable", "extract", "normalise", "pattern_path_kind"]

Observable = tuple[str, str]

HASH_KINDS: dict[str, str] = {
    "md5": "md5",
    "sha-1": "sha1",
    "sha1": "sha1",
    "sha-256": "sha256",
    "sha256": "sha256",
    "sha-512": "sha512",
    "sha512": "sha512",
    "sha3-256": "sha3-256",
    "sha3-512": "sha3-512",
    "ssdeep": "ssdeep",
    "tlsh": "tlsh",
}

_PATH_KIND: dict[tuple[str, str], str] = {
    ("ipv4-addr", "value"): "ipv4",
    ("ipv6-addr", "value"): "ipv6",
    ("domain-name", "value"): "domain",
    ("url", "value"): "url",
    ("email-addr", "value"): "email",
    ("mac-addr", "value"): "mac",
    ("autonomous-system", "number"): "asn",
    ("file", "name"): "filename",
    ("windows-registry-key", "key"): "regkey",
    ("mutex", "name"): "mutex",
    ("user-agent", "value"): "user-agent",
    ("x509-certificate", "serial_number"): "x509-serial",
}


def pattern_path_kind(object_type: str, path: str) -> str | None:
    """Observable kind for a pattern object path, or None when it is not indexed."""
    kind = _PATH_KIND.get((object_type, path))
    if kind:
        return kind
    if path.startswith("hashes."):
        return HASH_KINDS.get(path.split(".", 1)[1].lower())
    if object_type == "network-traffic" and path in ("dst_ref.value", "src_ref.value"):
        return "ip"
    return None


# ``pattern_path_kind`` of the (object type, path) pairs seen: a bulk import's patterns share a
# few, and the hash paths' reading (split, lower) cost a fifth of an indicator's extraction.
# Bounded (cleared when full): paths come from outside.
_KINDS: dict[tuple[str, str], str | None] = {}
_MAX_KINDS = 4096


def _path_kind(object_type: str, path: str) -> str | None:
    key = (object_type, path)
    try:
        return _KINDS[key]
    except KeyError:
        if len(_KINDS) >= _MAX_KINDS:
            _KINDS.clear()
        kind = _KINDS[key] = pattern_path_kind(object_type, path)
        return kind


# An IPv4 address already in the form ``str(ipaddress.ip_address(...))`` gives: four ASCII decimal
# octets 0-255 without leading zeros.  Most addresses arrive so (indicators, MISP attributes,
# sensor events), and the ``ipaddress`` round trip costs more than the rest of their import step.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def normalise(kind: str, value: Any) -> tuple[str, str] | None:
    """Canonical (kind, value) or None when the value does not fit the kind."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or len(text) > 2048:
        return None
    if kind in ("ipv4", "ipv6", "ip"):
        if _DOTTED_QUAD.fullmatch(text):  # already canonical: what ``ipaddress`` would print back
            return ("ipv4", text)
        try:
            if "/" in text:
                net = ipaddress.ip_network(text, strict=False)
                if net.num_addresses == 1:
                    return ("ipv4" if net.version == 4 else "ipv6", str(net.network_address))
                return ("cidr4" if net.version == 4 else "cidr6", str(net))
            addr = ipaddress.ip_address(text)
        except ValueError:
            return None
        return ("ipv4" if addr.version == 4 else "ipv6", str(addr))
    if kind == "domain":
        text = text.rstrip(".").lower()
        try:
            text = text.encode("idna").decode("ascii") if not text.isascii() else text
        except UnicodeError:
            return None
        return (kind, text)
    if kind == "email":
        return (kind, text.lower())
    if kind in ("md5", "sha1", "sha256", "sha512", "sha3-256", "sha3-512"):
        return (kind, text.lower())
    if kind == "mac":
        return (kind, text.lower().replace("-", ":"))
    if kind == "url":
        return (kind, text)
    return (kind, text)


def atom_observable(object_type: str, path: str, value: Any) -> Observable | None:
    """The observable of one equality comparison of a pattern (object type, path, value), None
    when its path is not indexed or its value does not fit: of a parsed pattern here, or of one a
    converter wrote (``colsec.formats.misp_facts``), which need not be parsed again then."""
    kind = _path_kind(object_type, path)
    return normalise(kind, value) if kind else None


def extract(obj: Mapping[str, Any]) -> Iterator[Observable]:
    """Observables stated by an object: SCO values and equality atoms of STIX indicator patterns."""
    t = obj.get("type")
    if t == "indicator":
        pattern = obj.get("pattern")
        if obj.get("pattern_type") == "stix" and isinstance(pattern, str):
            try:
                atoms = comparison_atoms(pattern)  # the positive "=" ones below, as equality_atoms gives
            except PatternError:
                return
            for object_type, path, op, value in atoms:
                if op == "=":  # ``atom_observable``, inlined: one call less per atom
                    kind = _path_kind(object_type, path)
                    norm = normalise(kind, value) if kind else None
                    if norm:
                        yield norm
        return
    if t == "vulnerability":
        name = obj.get("name")
        if isinstance(name, str) and name.upper().startswith("CVE-"):
            yield ("cve", name.upper())
        return
    if not isinstance(t, str):
        return
    for key in ("value", "number", "name", "key", "serial_number"):
        kind = _PATH_KIND.get((t, key))
        if kind and key in obj:
            norm = normalise(kind, obj[key])
            if norm:
                yield norm
    hashes = obj.get("hashes")
    if isinstance(hashes, dict):
        for algo, digest in hashes.items():
            hk = HASH_KINDS.get(str(algo).lower())
            if hk:
                norm = normalise(hk, digest)
                if norm:
                    yield norm
