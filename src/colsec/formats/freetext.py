"""Indicators from free text (reports, e-mails): extract, refang, review, then import.

``extract_candidates`` finds IPs, domains, URLs, hashes, e-mail addresses and CVE
ids, undoing the usual defanging (``hxxp``, ``[.]``, ``(dot)``, ``[@]``).  The
analyst reviews the candidates (the UI later); ``import_candidates`` turns the
accepted ones into STIX indicators (and vulnerabilities for CVE ids).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from colsec.errors import InvalidInput
from colsec.stix.ids import new_id, now_timestamp

__all__ = ["Candidate", "candidate_objects", "extract_candidates", "import_candidates", "refang"]

MAX_TEXT = 20 * 1024 * 1024

_REFANG = [
    (re.compile(r"\bhxxp(s?)://", re.I), r"http\1://"),
    (re.compile(r"\bhxxp(s?)\[:\]//", re.I), r"http\1://"),
    (re.compile(r"\bh\[tt\]p(s?)://", re.I), r"http\1://"),
    (re.compile(r"\bfxp://", re.I), "ftp://"),
    (re.compile(r"\[:\]//"), "://"),
    (re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\{dot\}|\s\[dot\]\s", re.I), "."),
    (re.compile(r"\[@\]|\(@\)|\{@\}|\[at\]|\(at\)", re.I), "@"),
]

# TLDs are checked by shape only (2-24 letters or punycode); common file extensions are excluded.
_NOT_TLDS = frozenset(
    "exe dll sys bat cmd ps1 vbs js jar zip rar 7z gz tar doc docx xls xlsx ppt pptx pdf txt log ini cfg "
    "tmp bin dat png jpg jpeg gif bmp htm html php asp aspx py sh json xml csv lnk hta scr msi iso img".split()
)
_HASH_KINDS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}
_URL_RE = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`{}|\\^\[\]]+", re.I)
_EMAIL_RE = re.compile(r"\b[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}\b")
_IPV4_RE = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?![\d.]*\d)")
_IPV6_RE = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){2,7}:?[0-9A-Fa-f:]{0,39}(?![\w:])")
_PREFIX_RE = re.compile(r"/(?:12[0-8]|1[01]\d|\d{1,2})(?![\w/])")
_DOMAIN_RE = re.compile(
    r"\b(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,24}|xn--[a-z0-9-]{2,59})\b"
)
_HASH_RE = re.compile(r"\b(?:[A-Fa-f0-9]{128}|[A-Fa-f0-9]{64}|[A-Fa-f0-9]{40}|[A-Fa-f0-9]{32})\b")
_CVE_RE = re.compile(r"\bCVE-\d{4}-\d{4,7}\b", re.I)


@dataclass(frozen=True, slots=True)
class Candidate:
    kind: str  # ipv4, ipv6, cidr4, cidr6, domain, url, email, md5, sha1, sha256, sha512, cve
    value: str
    context: str  # the line it came from, trimmed, for the reviewer


def refang(text: str) -> str:
    for pattern, repl in _REFANG:
        text = pattern.sub(repl, text)
    return text


def _context(line: str) -> str:
    line = line.strip()
    return line if len(line) <= 200 else line[:197] + "..."


def extract_candidates(text: str) -> list[Candidate]:
    """Unique candidates in order of first appearance; values inside URLs/e-mails are not repeated."""
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"text longer than {MAX_TEXT} characters")
    found: dict[tuple[str, str], Candidate] = {}

    def add(kind: str, value: str, line: str) -> None:
        found.setdefault((kind, value), Candidate(kind, value, _context(line)))

    for raw_line in text.splitlines():
        line = refang(raw_line)
        consumed: list[tuple[int, int]] = []
        for m in _URL_RE.finditer(line):
            add("url", m.group(0).rstrip(".,;:!?)"), raw_line)
            consumed.append(m.span())
        for m in _EMAIL_RE.finditer(line):
            if not any(a <= m.start() < b for a, b in consumed):
                add("email", m.group(0).lower(), raw_line)
            consumed.append(m.span())
        for m in _CVE_RE.finditer(line):
            add("cve", m.group(0).upper(), raw_line)
        for m in _HASH_RE.finditer(line):
            if not any(a <= m.start() < b for a, b in consumed):
                add(_HASH_KINDS[len(m.group(0))], m.group(0).lower(), raw_line)
        for m in _IPV4_RE.finditer(line):
            if any(a <= m.start() < b for a, b in consumed):
                continue
            text_ip = m.group(0)
            try:
                net = ipaddress.ip_network(text_ip, strict=False)
            except ValueError:
                continue
            if "/" in text_ip and net.num_addresses > 1:
                add("cidr4", str(net), raw_line)
            else:
                add("ipv4", str(net.network_address), raw_line)
        for m in _IPV6_RE.finditer(line):
            if any(a <= m.start() < b for a, b in consumed):
                continue
            prefix = _PREFIX_RE.match(line, m.end())  # a network, "2001:db8::/32": not its first address
            try:
                net = ipaddress.IPv6Network(m.group(0) + (prefix.group(0) if prefix else ""), strict=False)
            except ValueError:
                continue
            if prefix and net.num_addresses > 1:
                add("cidr6", str(net), raw_line)
            else:
                add("ipv6", str(net.network_address), raw_line)
        for m in _DOMAIN_RE.finditer(line):
            if any(a <= m.start() < b for a, b in consumed):
                continue
            domain = m.group(0).lower().rstrip(".")
            tld = domain.rsplit(".", 1)[-1]
            if tld in _NOT_TLDS or tld.isdigit():
                continue
            add("domain", domain, raw_line)
    return list(found.values())


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


_PATTERNS = {
    "ipv4": "ipv4-addr:value = '{v}'",
    "cidr4": "ipv4-addr:value ISSUBSET '{v}'",
    "ipv6": "ipv6-addr:value = '{v}'",
    "cidr6": "ipv6-addr:value ISSUBSET '{v}'",
    "domain": "domain-name:value = '{v}'",
    "url": "url:value = '{v}'",
    "email": "email-addr:value = '{v}'",
    "md5": "file:hashes.MD5 = '{v}'",
    "sha1": "file:hashes.'SHA-1' = '{v}'",
    "sha256": "file:hashes.'SHA-256' = '{v}'",
    "sha512": "file:hashes.'SHA-512' = '{v}'",
}


def candidate_objects(
    candidates: Iterable[Candidate | tuple[str, str]],
    *,
    source: str = "free text",
    labels: Iterable[str] = (),
) -> Iterator[dict[str, Any]]:
    """STIX objects for accepted candidates: one indicator each, a vulnerability per CVE id."""
    ts = now_timestamp()
    extra = list(labels)
    for cand in candidates:
        kind, value = (cand.kind, cand.value) if isinstance(cand, Candidate) else cand
        if kind == "cve":
            yield {
                "type": "vulnerability",
                "spec_version": "2.1",
                "id": new_id("vulnerability"),
                "created": ts,
                "modified": ts,
                "name": value.upper(),
                "external_references": [{"source_name": "cve", "external_id": value.upper()}],
            }
            continue
        template = _PATTERNS.get(kind)
        if template is None:
            raise InvalidInput(f"unknown candidate kind {kind!r}")
        obj: dict[str, Any] = {
            "type": "indicator",
            "spec_version": "2.1",
            "id": new_id("indicator"),
            "created": ts,
            "modified": ts,
            "name": value,
            "description": f"Extracted from {source}",
            "indicator_types": ["malicious-activity"],
            "pattern": "[" + template.format(v=_quote(value)) + "]",
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": ts,
        }
        if extra:
            obj["labels"] = extra
        yield obj


def import_candidates(
    db: Any,
    *,
    actor: Any,
    candidates: Iterable[Candidate | tuple[str, str]],
    source: str = "free text",
    owner_org_id: int | None = None,
    default_tlp: Any = None,
) -> Any:
    """Store the reviewed candidates as one unit; returns the store's ImportResult."""
    from colsec.store.service import import_objects

    kwargs: dict[str, Any] = {}
    if default_tlp is not None:
        kwargs["default_tlp"] = default_tlp
    return import_objects(
        db,
        actor=actor,
        objects=candidate_objects(candidates, source=source),
        owner_org_id=owner_org_id,
        origin="freetext",
        **kwargs,
    )
