"""CSV IOC lists in (a header row names the columns) and the cell guard of every CSV out.

Known layouts: ``type,value[,comment]`` (MISP-like types or our kinds),
``indicator,indicator_type`` (Zeek intel style), and single-kind columns such as
``ip``, ``domain``, ``url``, ``md5``, ``sha256``.  A file whose header matches no
layout is refused, naming the columns it found: guessing is how IOC lists go wrong.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from colsec.errors import InvalidInput
from colsec.formats.freetext import Candidate, candidate_objects, refang

__all__ = ["neutralise_cell", "parse_csv", "read_csv_candidates"]

MAX_ROWS = 2_000_000

# type column value → candidate kind
_TYPE_ALIASES: dict[str, str] = {
    "ip": "ip", "ip-src": "ip", "ip-dst": "ip", "ipv4": "ip", "ipv6": "ip", "ipv4-addr": "ip",
    "ipv6-addr": "ip", "addr": "ip", "intel::addr": "ip", "cidr": "ip", "subnet": "ip",
    "domain": "domain", "hostname": "domain", "fqdn": "domain", "domain-name": "domain", "intel::domain": "domain",
    "url": "url", "link": "url", "uri": "url", "intel::url": "url",
    "md5": "md5", "sha1": "sha1", "sha-1": "sha1", "sha256": "sha256", "sha-256": "sha256",
    "sha512": "sha512", "sha-512": "sha512", "hash": "hash", "intel::file_hash": "hash",
    "email": "email", "email-src": "email", "email-dst": "email", "email-addr": "email",
    "intel::email": "email", "cve": "cve", "vulnerability": "cve",
}  # fmt: skip
_TYPE_COLUMNS = ("type", "indicator_type", "ioc_type", "kind", "category_type", "attribute_type")
_VALUE_COLUMNS = ("value", "indicator", "ioc", "observable", "ioc_value")
_COMMENT_COLUMNS = ("comment", "description", "meta.desc", "notes", "note")
_HASH_KINDS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}


def _norm_header(name: str) -> str:
    return name.strip().lstrip("#").strip().lower().replace(" ", "_")


def _classify(kind: str, value: str) -> tuple[str, str] | None:
    value = refang(value.strip())
    if not value:
        return None
    if kind == "ip":
        try:
            net = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return None
        if net.num_addresses > 1:
            return ("cidr4" if net.version == 4 else "cidr6", str(net))
        return ("ipv4" if net.version == 4 else "ipv6", str(net.network_address))
    if kind == "hash":
        k = _HASH_KINDS.get(len(value))
        return (k, value.lower()) if k else None
    if kind in ("md5", "sha1", "sha256", "sha512"):
        return (kind, value.lower())
    if kind == "domain":
        return ("domain", value.lower().rstrip("."))
    if kind == "email":
        return ("email", value.lower())
    if kind == "cve":
        return ("cve", value.upper())
    return (kind, value)


def read_csv_candidates(text: str) -> Iterator[Candidate]:
    """Candidates from a CSV text; InvalidInput for an unknown layout, a bad row or broken quoting."""
    try:
        yield from _read_csv_candidates(text)
    except csv.Error as exc:  # e.g. a bare carriage return inside an unquoted field
        raise InvalidInput(f"CSV input is malformed: {exc}") from None


def _read_csv_candidates(text: str) -> Iterator[Candidate]:
    if "\x00" in text[:4096]:
        raise InvalidInput("CSV input contains binary data")
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header: list[str] | None = None
    for row in reader:
        if row and any(c.strip() for c in row):
            header = [_norm_header(c) for c in row]
            break
    if header is None:
        raise InvalidInput("CSV input is empty")
    type_col = next((header.index(c) for c in _TYPE_COLUMNS if c in header), None)
    value_col = next((header.index(c) for c in _VALUE_COLUMNS if c in header), None)
    comment_col = next((header.index(c) for c in _COMMENT_COLUMNS if c in header), None)
    fixed: list[tuple[int, str]] = [(i, _TYPE_ALIASES[h]) for i, h in enumerate(header) if h in _TYPE_ALIASES]
    if type_col is not None and value_col is not None:
        mode = "typed"
    elif fixed and type_col is None:
        mode = "columns"
    else:
        raise InvalidInput(
            "unknown CSV layout: columns "
            + ", ".join(repr(h) for h in header[:20])
            + "; expected 'type,value[,comment]', 'indicator,indicator_type' or value columns such as ip, domain, url, md5, sha256"
        )
    for n, row in enumerate(reader, start=2):
        if n > MAX_ROWS:
            raise InvalidInput(f"CSV input has more than {MAX_ROWS} rows")
        if not row or not any(c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        context = row[comment_col].strip() if comment_col is not None and comment_col < len(row) else ""
        if mode == "typed":
            assert type_col is not None and value_col is not None
            if max(type_col, value_col) >= len(row):
                raise InvalidInput(f"CSV row {n}: expected at least {max(type_col, value_col) + 1} columns")
            raw_kind = row[type_col].strip().lower()
            kind = _TYPE_ALIASES.get(raw_kind)
            if kind is None:
                raise InvalidInput(f"CSV row {n}: unknown indicator type {row[type_col].strip()!r}")
            got = _classify(kind, row[value_col])
            if got is None:
                raise InvalidInput(f"CSV row {n}: {row[value_col].strip()!r} is not a valid {raw_kind}")
            yield Candidate(got[0], got[1], context)
        else:
            for col, kind in fixed:
                if col < len(row) and row[col].strip():
                    got = _classify(kind, row[col])
                    if got is None:
                        raise InvalidInput(f"CSV row {n}: {row[col].strip()!r} is not a valid {header[col]}")
                    yield Candidate(got[0], got[1], context)


def parse_csv(data: bytes, *, source: str = "CSV") -> Iterator[dict[str, Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("CSV input is not UTF-8 text") from None
    seen: set[tuple[str, str]] = set()
    cands = []
    for c in read_csv_candidates(text):
        if (c.kind, c.value) not in seen:
            seen.add((c.kind, c.value))
            cands.append(c)
    return candidate_objects(cands, source=source)


# A spreadsheet evaluates a cell whose first visible character is = + - @, or that starts with
# a tab or CR; some importers also split cells at line breaks, so each line counts as a start.
_LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_INVISIBLE = "\x00-\x20\x7f\xa0\u1680\u2000-\u200f\u202f\u205f\u3000\ufeff"
_FORMULA = "=+\\-@\uff1d\uff0b\uff0d\uff20"  # and their full-width forms
_FORMULA_START = re.compile(
    rf"^(?=[{_INVISIBLE}]*[{_FORMULA}]|[\t\r\n])"
    rf"|(?<=[{_LINE_BREAKS}])(?![{_LINE_BREAKS}])(?=[{_INVISIBLE}]*[{_FORMULA}]|\t)"
)


def neutralise_cell(value: str) -> str:
    """Prefix ``'`` to the cell and to every line of it that a spreadsheet would run as a formula."""
    return _FORMULA_START.sub("'", value)
