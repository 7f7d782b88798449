"""Text and generic logs: CEF, syslog, JSON lines and CSV with a field mapping.

A field mapping names, for each source field, the STIX object path it fills
(``{"src": "ipv4-addr:value", "request": "url:value"}``); it is how a
national CERT plugs in a log format nobody wrote a reader for.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from colsec.match.events import Event, EventBuilder, parse_time
from colsec.match.readers.cef import cef_event

__all__ = [
    "DEFAULT_JSON_FIELDS",
    "QUAD_JOINED",
    "SNORT_CSV_LINE",
    "FieldMapping",
    "cef_event",
    "mapped_event",
    "snort_csv_event",
    "syslog_event",
    "syslog_time",
]

# Fixed, trusted token patterns for free text (never user-supplied).
#: IPv4 addresses: each maximal run of digits and dots that is a dotted quad as a whole (the
#: bounded pattern ``(?<![\d.])quad(?![\d.])`` tried at every position cost twice as much),
#: and a token by itself: a run against an ASCII letter, '_' or '-' (a range such as
#: ``10.0.0.0-10.255.255.255``, a name such as ``10.0.0.1abc``) is no observed address
_RUN = re.compile(r"[\d.]{7,}")
QUAD_JOINED = "A-Za-z_-"  # a regex class's characters, as the columns' pattern takes them
_JOINED = re.compile(rf"[{QUAD_JOINED}]")
_QUAD = re.compile(r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}")
_URL = re.compile(r"\bhttps?://[^\s\"'<>]+", re.IGNORECASE)
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}\Z", re.IGNORECASE)
_SYSLOG_TS = re.compile(r"^(?:<\d{1,3}>)?(?:1 )?([A-Z][a-z]{2}\s+\d{1,2}(?: \d{4})? \d\d:\d\d:\d\d):?\s")
_ISO_TS = re.compile(
    r"^(?:<\d{1,3}>)?(?:1 )?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
)
_EPOCH_TS = re.compile(r"^(\d{9,10}(?:\.\d+)?)\s")


def syslog_time(line: str, year: int) -> int | None:
    m = _ISO_TS.match(line)
    if m:
        return parse_time(m.group(1))
    m = _EPOCH_TS.match(line)
    if m:
        return parse_time(m.group(1))
    m = _SYSLOG_TS.match(line)
    if m:
        return _syslog_stamp(m.group(1), year)
    return None


@functools.lru_cache(maxsize=4096)
def _syslog_stamp(text: str, year: int) -> int | None:
    """A BSD syslog time; cached, as a log repeats each second's stamp on many lines and
    ``strptime`` costs more than the rest of the line's reading."""
    fmt = "%b %d %Y %H:%M:%S" if len(text.split()) == 4 else "%Y %b %d %H:%M:%S"
    try:
        dt = datetime.strptime(text if "%b %d %Y" in fmt else f"{year} {text}", fmt)
        dt = dt.replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(dt.timestamp() * 1_000_000)


def _extract_free_text(b: EventBuilder, text: str) -> None:
    for url in _URL.findall(text) if "://" in text else ():  # a URL holds "://"
        b.url(url.rstrip(".,;)"))
        host = url.split("//", 1)[1].split("/", 1)[0].split(":", 1)[0]
        if _DOMAIN.match(host):
            b.domain(host)
    for m in _RUN.finditer(text):
        run = m.group()
        if _QUAD.fullmatch(run) and not _joined(text, m.start(), m.end()):
            b.ip(run)
    for token in text.split():
        if "." in token and not token[-1].isdigit() and _DOMAIN.match(token):
            b.domain(token)


def _joined(text: str, start: int, end: int) -> bool:
    """Whether the run ``text[start:end]`` is part of a longer token (``QUAD_JOINED``)."""
    return bool((start > 0 and _JOINED.match(text, start - 1)) or _JOINED.match(text, end))


def syslog_event(line: str, line_no: int, year: int) -> Event | None:
    """Any syslog-style text line: addresses, URLs and host names found in it."""
    ts = syslog_time(line, year)
    if ts is None:
        return None
    b = EventBuilder()
    _extract_free_text(b, line)
    return b.event(ts, "syslog", line_no, line)


# -- Snort alert_csv ---------------------------------------------------------

#: A Snort alert_csv line starts with its packet time: ``MM/DD[/YY]-hh:mm:ss.ffffff``.
SNORT_CSV_LINE = re.compile(r"^\s*(\d\d/\d\d(?:/\d\d)?-\d\d:\d\d:\d\d(?:\.\d+)?)\s*,")
_MAC = re.compile(r"^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}\Z")


def _snort_time(text: str, year: int) -> int | None:
    whole, _, frac = text.partition(".")
    if whole.count("/") == 1:  # Snort without -y logs no year: the reader's current one
        whole = f"{whole[:5]}/{year % 100:02d}{whole[5:]}"
    try:
        dt = datetime.strptime(whole, "%m/%d/%y-%H:%M:%S")
    except ValueError:
        return None
    micros = int((frac + "000000")[:6]) if frac.isdigit() else 0
    return int(dt.replace(tzinfo=UTC).timestamp()) * 1_000_000 + micros


def _split_ap(text: str) -> tuple[str, str | None]:
    """Snort 3 ``addr:port``; an IPv6 address is bracketed or has its port after the last colon."""
    if text.startswith("["):
        addr, _, port = text[1:].partition("]:")
        return addr, port or None
    addr, sep, port = text.rpartition(":")
    return (addr, port) if sep and port.isdigit() else (text, None)


def snort_csv_event(line: str, line_no: int, year: int) -> Event | None:
    """Snort's ``alert_csv`` output in its default field order.

    Snort 2: timestamp, sig_generator, sig_id, sig_rev, msg, proto, src, srcport, dst, dstport,
    ethsrc, ethdst, ... (27 fields); Snort 3: timestamp, pkt_num, proto, pkt_gen, pkt_len, dir,
    src_ap, dst_ap, rule, action. Times are taken as UTC (run Snort with ``-U``).
    """
    m = SNORT_CSV_LINE.match(line)
    if m is None:
        return None
    ts = _snort_time(m.group(1), year)
    row = next(csv.reader([line.strip()]), [])
    if ts is None or len(row) < 10:
        return None
    b = EventBuilder()
    raw: dict[str, Any]
    sport: str | None
    dport: str | None
    if len(row) >= 12:
        proto, src, sport, dst, dport = row[5], row[6], row[7], row[8], row[9]
        for mac in (row[10], row[11]):
            if _MAC.match(mac.strip()):
                b.add({"type": "mac-addr", "value": mac.strip().lower()})
        raw = {"rule": ":".join(row[1:4]), "msg": row[4], "fields": row}
    else:
        proto = row[2]
        (src, sport), (dst, dport) = _split_ap(row[6].strip()), _split_ap(row[7].strip())
        raw = {"rule": row[8].strip(), "action": row[9].strip(), "fields": row}
    b.traffic(src.strip(), dst.strip(), sport, dport, proto.strip().lower() or None)
    return b.event(ts, "snort", line_no, raw)


# -- field mappings ---------------------------------------------------------

#: Fields recognised in JSON lines without a mapping (ECS and common names).
DEFAULT_JSON_FIELDS: dict[str, str] = {
    "src_ip": "network-traffic:src_ref.value",
    "source.ip": "network-traffic:src_ref.value",
    "srcip": "network-traffic:src_ref.value",
    "dst_ip": "network-traffic:dst_ref.value",
    "dest_ip": "network-traffic:dst_ref.value",
    "destination.ip": "network-traffic:dst_ref.value",
    "dstip": "network-traffic:dst_ref.value",
    "src_port": "network-traffic:src_port",
    "source.port": "network-traffic:src_port",
    "dst_port": "network-traffic:dst_port",
    "dest_port": "network-traffic:dst_port",
    "destination.port": "network-traffic:dst_port",
    "ip": "ipv4-addr:value",
    "client.ip": "ipv4-addr:value",
    "server.ip": "ipv4-addr:value",
    "domain": "domain-name:value",
    "hostname": "domain-name:value",
    "dns.question.name": "domain-name:value",
    "url.domain": "domain-name:value",
    "url": "url:value",
    "url.full": "url:value",
    "url.original": "url:value",
    "md5": "file:hashes.MD5",
    "sha1": "file:hashes.SHA-1",
    "sha256": "file:hashes.SHA-256",
    "file.hash.md5": "file:hashes.MD5",
    "file.hash.sha1": "file:hashes.SHA-1",
    "file.hash.sha256": "file:hashes.SHA-256",
    "file.name": "file:name",
    "filename": "file:name",
    "email": "email-addr:value",
    "user_agent.original": "x-user-agent:value",
}


class FieldMapping:
    """Source field -> STIX target; plus where the timestamp is and, for CSV, the columns."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        fields = spec.get("fields", {})
        if not isinstance(fields, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and ":" in v for k, v in fields.items()
        ):
            raise ValueError('mapping "fields" must map field names to "object-type:path" targets')
        self.fields: dict[str, str] = dict(fields)
        self.timestamp: str | None = spec.get("timestamp")
        self.time_format: str | None = spec.get("time_format")
        self.columns: list[str] | None = spec.get("columns")
        self.delimiter: str = spec.get("delimiter", ",")
        self.header: bool = bool(spec.get("header", self.columns is None))

    def time_of(self, rec: Mapping[str, Any]) -> int | None:
        value = _lookup(rec, self.timestamp) if self.timestamp else None
        if value is None:
            return None
        if self.time_format and isinstance(value, str):
            try:
                dt = datetime.strptime(value.strip(), self.time_format)
            except ValueError:
                return None
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            return int(dt.timestamp() * 1_000_000)
        return parse_time(value)

    def csv_record(self, line: str) -> dict[str, Any] | None:
        if self.columns is None:
            return None
        body = line[:-1] if line.endswith("\n") else line
        if self.delimiter not in _CSV_SPECIAL and not any(c in body for c in _CSV_SPECIAL):
            row: list[str] | None = body.split(self.delimiter)  # what ``csv.reader`` reads, 3x faster
        else:
            row = next(csv.reader([line], delimiter=self.delimiter), None)
        if row is None or len(row) < len(self.columns):
            return None
        return dict(zip(self.columns, row, strict=False))


#: characters that make ``csv.reader`` read a line otherwise than a split at the delimiter
#: (a quote, a line end inside the line, NUL)
_CSV_SPECIAL = ('"', "\r", "\n", "\x00")


def _lookup(rec: Mapping[str, Any], dotted: str) -> Any:
    if dotted in rec:
        return rec[dotted]
    cur: Any = rec
    for part in dotted.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    return cur


#: values ``mapped_event`` leaves out (a tuple: ``dict | list`` made a union at each field)
_NESTED = (dict, list)

#: what ``mapped_event`` does with a target
_TO_TRAFFIC, _TO_IP, _TO_DOMAIN, _TO_URL, _TO_EMAIL, _TO_HASH, _TO_NAME, _TO_OTHER = range(8)


@functools.lru_cache(maxsize=256)
def _plan(fields: tuple[tuple[str, str], ...]) -> tuple[tuple[str, int, str, str], ...]:
    """(field, action, object type, path or hash name) of each mapped field: the target told
    apart once per mapping, not once per field of every record."""
    plan = []
    for field_name, target in fields:
        obj_type, _, path = target.partition(":")
        if obj_type == "network-traffic":
            how = _TO_TRAFFIC
        elif target in ("ipv4-addr:value", "ipv6-addr:value"):
            how = _TO_IP
        elif target == "domain-name:value":
            how = _TO_DOMAIN
        elif target == "url:value":
            how = _TO_URL
        elif target == "email-addr:value":
            how = _TO_EMAIL
        elif obj_type == "file" and path.startswith("hashes."):
            how, path = _TO_HASH, path.split(".", 1)[1].strip("'")
        elif target == "file:name":
            how = _TO_NAME
        else:
            how = _TO_OTHER
        plan.append((field_name, how, obj_type, path))
    return tuple(plan)


def mapped_event(
    rec: Mapping[str, Any], line_no: int, fields: Mapping[str, str], ts: int | None, source: str
) -> Event | None:
    """Build an event from a record and a field -> target mapping."""
    if ts is None:
        return None
    return planned_event(rec, line_no, field_plan(fields), ts, source)


def field_plan(fields: Mapping[str, str]) -> tuple[tuple[str, int, str, str], ...]:
    """``mapped_event``'s plan of a mapping: a caller reading many records takes it once."""
    return _plan(tuple(fields.items()))


def planned_event(
    rec: Mapping[str, Any], line_no: int, plan: tuple[tuple[str, int, str, str], ...], ts: int, source: str
) -> Event:
    """``mapped_event`` under its mapping's plan (``field_plan``); the containers of targets a
    record does not fill are never made (most records fill two or three kinds)."""
    b = EventBuilder()
    traffic: dict[str, Any] | None = None
    generic: dict[str, dict[str, Any]] | None = None
    file_hashes: dict[str, Any] | None = None
    file_name: Any = None
    for field_name, how, obj_type, path in plan:
        value = rec[field_name] if field_name in rec else _lookup(rec, field_name)
        if value is None or value == "" or value == "-":
            continue
        if isinstance(value, _NESTED):
            continue  # a nested object's or a list's Python text is no address, URL or hash
        if how == _TO_TRAFFIC:
            if traffic is None:
                traffic = {}
            traffic[path] = value
        elif how == _TO_IP:
            b.ip(str(value))
        elif how == _TO_DOMAIN:
            b.domain(str(value))
        elif how == _TO_URL:
            b.url(str(value))
        elif how == _TO_EMAIL:
            b.email(str(value))
        elif how == _TO_HASH:
            if file_hashes is None:
                file_hashes = {}
            file_hashes[path] = str(value)
        elif how == _TO_NAME:
            file_name = value
        else:
            if generic is None:
                generic = {}
            generic.setdefault(obj_type, {"type": obj_type})[path] = value
    if traffic:
        get = traffic.get
        b.traffic(
            get("src_ref.value"),
            get("dst_ref.value"),
            get("src_port"),
            get("dst_port"),
            get("protocols[*]") or get("protocols"),
        )
    if file_hashes or file_name:
        b.file(file_name, file_hashes or {})
    if generic:
        for obj in generic.values():
            b.add(obj)
    return b.event(ts, source, line_no, rec)
