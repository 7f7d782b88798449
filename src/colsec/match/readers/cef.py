"""ArcSight CEF: header and extension read as the CEF Implementation Standard defines them.

Extension keys come in their short form or their full name (``dhost`` or
``destinationHostName``); both are read as the short key.  Values run until the
next `` key=``, so an unescaped ``=`` inside a URL (common in real feeds) stays in
the value; ``\\=``, ``\\\\``, ``\\n`` and ``\\r`` are unescaped in one pass.
``csN`` values are read by their ``csNLabel``.  ``sntdom``/``dntdom`` are Windows
NT domains, not DNS names, so they are kept in the record but not matched as domains.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from colsec.match.events import Event, EventBuilder, parse_time

__all__ = ["CEF_FULL_NAMES", "cef_event", "parse_cef", "unescape"]

#: full key name → short key (CEF Implementation Standard, "Extension Dictionary")
CEF_FULL_NAMES = {
    "deviceAction": "act", "applicationProtocol": "app", "deviceEventCategory": "cat",
    "baseEventCount": "cnt", "destinationHostName": "dhost", "destinationMacAddress": "dmac",
    "destinationNtDomain": "dntdom", "destinationProcessId": "dpid", "destinationUserPrivileges": "dpriv",
    "destinationProcessName": "dproc", "destinationPort": "dpt", "destinationAddress": "dst",
    "deviceTimeZone": "dtz", "destinationUserId": "duid", "destinationUserName": "duser",
    "deviceAddress": "dvc", "deviceHostName": "dvchost", "deviceMacAddress": "dvcmac",
    "deviceProcessId": "dvcpid", "endTime": "end", "fileName": "fname", "fileSize": "fsize",
    "bytesIn": "in", "message": "msg", "bytesOut": "out", "eventOutcome": "outcome",
    "transportProtocol": "proto", "requestUrl": "request", "receiptTime": "rt",
    "sourceHostName": "shost", "sourceMacAddress": "smac", "sourceNtDomain": "sntdom",
    "sourceProcessId": "spid", "sourceUserPrivileges": "spriv", "sourceProcessName": "sproc",
    "sourcePort": "spt", "sourceAddress": "src", "startTime": "start", "sourceUserId": "suid",
    "sourceUserName": "suser",
    **{f"deviceCustomString{n}": f"cs{n}" for n in range(1, 7)},
    **{f"deviceCustomString{n}Label": f"cs{n}Label" for n in range(1, 7)},
}  # fmt: skip

# a key starts after whitespace (or at the start) and ends at an unescaped '='
#: (spelled as "not after a non-space": the same keys, found faster than with an alternation)
_KEY = re.compile(r"(?<!\S)([A-Za-z_][\w.\[\]-]*)=")
_ESCAPES = {"=": "=", "\\": "\\", "n": "\n", "r": "\r", "|": "|"}
_ESCAPED = re.compile(r"\\([=\\nr|])")
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}\Z", re.IGNORECASE)
_HASH_BY_LENGTH = {32: "MD5", 40: "SHA-1", 64: "SHA-256", 128: "SHA-512"}
_DOMAIN_KEYS = ("shost", "dhost", "dvchost", "sourceDnsDomain", "destinationDnsDomain", "deviceDnsDomain")


def unescape(text: str) -> str:
    """``\\=``, ``\\\\``, ``\\n``, ``\\r`` and ``\\|`` read left to right; any other backslash stays."""
    if "\\" not in text:  # most values: nothing to unescape
        return text
    return _ESCAPED.sub(lambda m: _ESCAPES[m.group(1)], text)


def _extension(text: str) -> dict[str, str]:
    """Key, value, key, value... in one split at the keys (a value runs to the next key)."""
    parts = _KEY.split(text)
    ext: dict[str, str] = {}
    for i in range(1, len(parts), 2):
        key = parts[i]
        ext[CEF_FULL_NAMES.get(key, key)] = unescape(parts[i + 1].strip())
    return ext


def parse_cef(line: str) -> tuple[list[str], dict[str, str]] | None:
    """The seven header fields (``\\|`` and ``\\\\`` unescaped) and the extension, or None."""
    start = line.find("CEF:")
    if start < 0:
        return None
    text = line[start:]
    fast = text.split("|", 7)
    if len(fast) == 8 and not any("\\" in part for part in fast[:7]):  # no escape in the header
        return fast[:7], _extension(fast[7])
    parts: list[str] = []
    buf: list[str] = []
    i = 0
    while i < len(text) and len(parts) < 7:
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            buf.append(text[i + 1])
            i += 2
            continue
        if c == "|":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(c)
        i += 1
    if len(parts) < 7:
        return None
    return parts, _extension(text[i:])


def _labelled(ext: dict[str, str]) -> dict[str, str]:
    """``cs1=… cs1Label=Request URL`` → ``{"request url": …}``: custom strings by their label."""
    out = {}
    for n in range(1, 7):
        label, value = ext.get(f"cs{n}Label", ""), ext.get(f"cs{n}", "")
        if label and value:
            out[label.strip().lower()] = value
    return out


def _time(ext: dict[str, str], line: str, year: int) -> int | None:
    from colsec.match.readers.text import syslog_time

    ts = parse_time(ext.get("rt")) or parse_time(ext.get("end")) or syslog_time(line, year)
    if ts is None and "rt" in ext:
        for fmt in ("%b %d %Y %H:%M:%S", "%b %d %H:%M:%S"):
            try:
                dt = datetime.strptime(ext["rt"], fmt)
            except ValueError:
                continue
            ts = int(dt.replace(year=dt.year if "%Y" in fmt else year, tzinfo=UTC).timestamp() * 1e6)
            break
    return ts


def cef_event(line: str, line_no: int, year: int) -> Event | None:
    """ArcSight CEF, bare or behind a syslog header."""
    parsed = parse_cef(line)
    if parsed is None:
        return None
    parts, ext = parsed
    ts = _time(ext, line, year)
    if ts is None:
        return None
    b = EventBuilder()
    labelled = _labelled(ext)
    http = {
        k: v
        for k, v in (
            ("request_method", ext.get("requestMethod")),
            ("request_value", ext.get("request")),
            ("request_header", {"User-Agent": ext["requestClientApplication"]})
            if ext.get("requestClientApplication")
            else ("request_header", None),
        )
        if v
    }
    b.traffic(
        ext.get("src"),
        ext.get("dst"),
        ext.get("spt"),
        ext.get("dpt"),
        ext.get("proto"),
        {"http-request-ext": http} if http else None,
    )
    for key in _DOMAIN_KEYS:
        value = ext.get(key)
        if value and _DOMAIN.match(value):
            b.domain(value)
    for label, value in labelled.items():
        if "url" in label or label in ("uri", "request"):
            b.url(value)
        elif "domain" in label or "host" in label:
            b.domain(value) if _DOMAIN.match(value) else None
        elif "hash" in label or label in ("md5", "sha1", "sha256", "sha-1", "sha-256"):
            algo = _HASH_BY_LENGTH.get(len(value))
            b.file(None, {algo: value}) if algo else None
        elif label in ("ip", "address") or "ip address" in label:
            b.ip(value)
    if ext.get("request"):
        b.url(ext["request"])
    digest = ext.get("fileHash", "")
    algo = _HASH_BY_LENGTH.get(len(digest))
    if ext.get("fname") or algo:
        b.file(ext.get("fname"), {algo: digest} if algo else None)
    for key in ("suser", "duser"):
        if ext.get(key):
            b.add({"type": "user-account", "user_id": ext[key]})
    if ext.get("requestClientApplication"):
        b.add({"type": "x-user-agent", "value": ext["requestClientApplication"]})
    return b.event(ts, "cef", line_no, {"header": parts, "extension": ext})
