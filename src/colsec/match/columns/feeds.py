"""The tables of every non-EVE format: which source field fills which key, as its reader does."""

from __future__ import annotations

import re

import polars as pl

from colsec.match.engine import MatchEngine
from colsec.match.events import canonical_hash_name
from colsec.match.readers import FieldMapping, ReaderFormat
from colsec.match.readers.text import DEFAULT_JSON_FIELDS
from colsec.match.vector import indexed_keys

from .table import (
    ADDR,
    DOMAIN,
    DST,
    HASHES,
    HTTP,
    PROTO,
    SRC,
    URL,
    X509,
    Feed,
    Table,
    after_backslash,
    basename,
    domain,
    email,
    fingerprint,
    hash_value,
    lower,
    query_results,
    raw,
    strip,
    sysmon_hash,
)


def _zeek_feeds() -> list[Feed]:
    """``readers.network.zeek_event``, every log kind at once (a field means one thing in Zeek)."""
    x509 = [
        Feed("fingerprint", ((X509, f"hashes.{h}"),), fingerprint) for h in ("MD5", "SHA-1", "SHA-256")
    ] + [
        Feed("cert_chain_fps", ((X509, f"hashes.{h}"),), fingerprint, True)
        for h in ("MD5", "SHA-1", "SHA-256")
    ]
    return [
        Feed("id.orig_h", SRC, strip),
        Feed("id.resp_h", DST, strip),
        Feed("proto", PROTO, lower),
        Feed("host", DOMAIN, domain),
        Feed("host", ((("network-traffic", HTTP + "request_header.Host")),)),
        Feed("host", ADDR, strip),
        Feed("user_agent", (("network-traffic", HTTP + "request_header.User-Agent"),)),
        Feed("method", (("network-traffic", HTTP + "request_method"),)),
        Feed("uri", (("network-traffic", HTTP + "request_value"),)),
        Feed("uri", URL),
        Feed("#url", URL),  # "http://" + host + uri, made by the splitter
        Feed("query", DOMAIN, domain),
        # an answer is read as an address or as a name: each index is given its own half
        Feed("answers", ADDR, strip, True, addresses=True),
        Feed("answers", DOMAIN, domain, True, addresses=False),
        Feed("server_name", DOMAIN, domain),
        *x509,
        Feed("subject", ((X509, "subject"), ("email-message", "subject"))),
        Feed("issuer", ((X509, "issuer"),)),
        Feed("certificate.serial", ((X509, "serial_number"),)),
        Feed("certificate.subject", ((X509, "subject"),)),
        Feed("certificate.issuer", ((X509, "issuer"),)),
        Feed("serial", ((X509, "serial_number"),)),
        Feed("issuer_subject", ((X509, "issuer"),)),
        Feed("san.dns", DOMAIN, domain, True),
        Feed("san.ip", ADDR, strip, True),
        Feed("md5", (("file", "hashes.MD5"),), hash_value),
        Feed("sha1", (("file", "hashes.SHA-1"),), hash_value),
        Feed("sha256", (("file", "hashes.SHA-256"),), hash_value),
        Feed("filename", (("file", "name"),), basename),
        Feed("mime_type", (("file", "mime_type"),)),
        Feed("tx_hosts", ADDR, strip, True),
        Feed("rx_hosts", ADDR, strip, True),
        Feed("mailfrom", (("email-addr", "value"), ("email-message", "from_ref.value")), email),
        Feed("from", (("email-addr", "value"), ("email-message", "from_ref.value")), email),
        Feed("rcptto", (("email-addr", "value"), ("email-message", "to_refs[*].value")), email, True),
        Feed("to", (("email-addr", "value"), ("email-message", "to_refs[*].value")), email, True),
        Feed("path", ADDR, strip, True),
        Feed("x_originating_ip", ADDR, strip, True),
        Feed("src", SRC, strip),
        Feed("dst", DST, strip),
        Feed("name", (("software", "name"),)),
        Feed("unparsed_version", (("software", "version"),)),
        Feed("username", (("user-account", "user_id"), ("user-account", "account_login"))),
        Feed("server_dns_computer_name", DOMAIN, domain),
        Feed("server_tree_name", DOMAIN, domain),
    ]


_ZEEK_TYPES = frozenset(
    {
        "network-traffic", "ipv4-addr", "ipv6-addr", "domain-name", "url", X509, "file",
        "email-addr", "email-message", "software", "user-account",
    }
)  # fmt: skip


def _windows_feeds() -> list[Feed]:
    """``readers.host.windows_event``, every event id at once."""
    images = ("Image", "ParentImage", "ImageLoaded", "TargetFilename", "NewProcessName", "ProcessName")
    hashes = []
    for algo in ("MD5", "SHA1", "SHA256", "SHA512", "IMPHASH"):
        name = canonical_hash_name(algo)
        keys = (("file", f"hashes.{name}"), ("process", f"image_ref.hashes.{name}"))
        hashes.append(Feed("Hashes", keys, sysmon_hash(algo)))
    return [
        *(Feed(u, (("user-account", "user_id"),)) for u in ("User", "TargetUserName", "SubjectUserName")),
        *(
            Feed(u, (("user-account", "account_login"),), after_backslash)
            for u in ("User", "TargetUserName", "SubjectUserName")
        ),
        *(Feed(i, (("file", "name"), ("process", "image_ref.name")), basename) for i in images),
        Feed("CommandLine", (("process", "command_line"),)),
        Feed("ParentCommandLine", (("process", "command_line"),)),
        *hashes,
        Feed("SourceIp", SRC, strip),
        Feed("SourceAddress", SRC, strip),
        Feed("DestinationIp", DST, strip),
        Feed("DestAddress", DST, strip),
        Feed("Protocol", PROTO, lower),
        Feed("DestinationHostname", DOMAIN, domain),
        Feed("QueryName", DOMAIN, domain),
        Feed("QueryResults", ADDR, query_results),
        Feed("TargetObject", (("windows-registry-key", "key"),)),
        Feed("TargetObject", (("windows-registry-key", "values[*].name"),), after_backslash),
        Feed("Details", (("windows-registry-key", "values[*].data"),)),
    ]


_WINDOWS_TYPES = frozenset(
    {"user-account", "process", "file", "network-traffic", "ipv4-addr", "ipv6-addr", "domain-name",
     "windows-registry-key"}
)  # fmt: skip
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9_-]+\Z")


def _mapped_feeds(fields: dict[str, str]) -> tuple[list[Feed], frozenset[str]]:
    """``readers.text.mapped_event`` for a field mapping (JSON lines and CSV)."""
    feeds: list[Feed] = []
    types: set[str] = set()
    for name, target in fields.items():
        obj_type, _, path = target.partition(":")
        types.add(obj_type)
        if obj_type == "network-traffic":
            types.update(("ipv4-addr", "ipv6-addr"))
            if path == "src_ref.value":
                feeds.append(Feed(name, SRC, strip))
            elif path == "dst_ref.value":
                feeds.append(Feed(name, DST, strip))
            elif path in ("protocols[*]", "protocols"):
                feeds.append(Feed(name, PROTO, lower))
        elif target in ("ipv4-addr:value", "ipv6-addr:value"):
            types.update(("ipv4-addr", "ipv6-addr"))
            feeds.append(Feed(name, ADDR, strip))
        elif target == "domain-name:value":
            feeds.append(Feed(name, DOMAIN, domain))
        elif target == "url:value":
            feeds.append(Feed(name, URL, strip))
        elif target == "email-addr:value":
            feeds.append(Feed(name, (("email-addr", "value"),), email))
        elif obj_type == "file" and path.startswith("hashes."):
            algo = canonical_hash_name(path.split(".", 1)[1].strip("'"))
            feeds.append(Feed(name, (("file", f"hashes.{algo}"),), hash_value))
        elif target == "file:name":
            feeds.append(Feed(name, (("file", "name"),), basename))
        elif _PLAIN_PATH.match(path):
            feeds.append(Feed(name, ((obj_type, path),)))
    return feeds, frozenset(types)


_CEF_HASH_KEYS = tuple(("file", f"hashes.{h}") for h in HASHES)


def _cef_feeds() -> list[Feed]:
    """``readers.cef.cef_event`` (extension keys, by their short names), then syslog's for the
    lines without a CEF header (the reader reads those as syslog)."""
    custom = [
        feed
        for n in range(1, 7)
        for feed in (
            Feed(f"cs{n}", URL, strip),
            Feed(f"cs{n}", DOMAIN, domain),
            Feed(f"cs{n}", _CEF_HASH_KEYS, hash_value),
            Feed(f"cs{n}", ADDR, strip),
        )
    ]
    return [
        Feed("src", SRC, strip),
        Feed("dst", DST, strip),
        Feed("proto", PROTO, lower),
        Feed("requestMethod", (("network-traffic", HTTP + "request_method"),)),
        Feed("request", (("network-traffic", HTTP + "request_value"),)),
        Feed("request", URL, strip),
        Feed(
            "requestClientApplication",
            (("network-traffic", HTTP + "request_header.User-Agent"), ("x-user-agent", "value")),
        ),
        *(
            Feed(k, DOMAIN, domain)
            for k in (
                "shost",
                "dhost",
                "dvchost",
                "sourceDnsDomain",
                "destinationDnsDomain",
                "deviceDnsDomain",
            )
        ),
        *custom,
        Feed("fileHash", _CEF_HASH_KEYS, hash_value),
        Feed("fname", (("file", "name"),), basename),
        Feed("suser", (("user-account", "user_id"),)),
        Feed("duser", (("user-account", "user_id"),)),
        *_syslog_feeds(),
    ]


def _syslog_feeds() -> list[Feed]:
    """``readers.text.syslog_event``: URLs, dotted quads and dotted tokens found in the text."""
    return [
        Feed("#urls", URL, lambda v: v.str.strip_chars_end(".,;)").str.strip_chars(), True),
        # a URL here starts with its scheme's '//': its host is the text after it, up to a '/'
        # or ':' (split on literals: a third of the regex extract's CPU)
        Feed("#urls", DOMAIN, lambda v: domain(_after_scheme(v)), True),
        Feed("#quads", ADDR, raw, True),
        Feed("#tokens", DOMAIN, domain, True),
    ]


def _after_scheme(v: pl.Expr) -> pl.Expr:
    """What ``//([^/:]*)`` extracts from a URL that starts with ``scheme://``."""
    return v.str.splitn("/", 4).struct.field("field_2").str.splitn(":", 2).struct.field("field_0")


_TEXT_TYPES = frozenset({"url", "ipv4-addr", "ipv6-addr", "domain-name"})
_CEF_TYPES = _TEXT_TYPES | {"network-traffic", "file", "user-account", "x-user-agent"}

#: formats with a column path (EVE has its own, ``eve_columns``; Snort CSV is event by event)
COLUMN_FORMATS = frozenset(
    {
        ReaderFormat.ZEEK_JSON,
        ReaderFormat.ZEEK_TSV,
        ReaderFormat.WINDOWS,
        ReaderFormat.CEF,
        ReaderFormat.SYSLOG,
        ReaderFormat.JSON,
        ReaderFormat.CSV,
    }
)


def table_for(fmt: ReaderFormat, mapping: FieldMapping | None = None) -> Table:
    """The column table of a format (for JSON and CSV, of its field mapping)."""
    if fmt in (ReaderFormat.ZEEK_JSON, ReaderFormat.ZEEK_TSV):
        return Table(fmt, _zeek_feeds(), _ZEEK_TYPES)
    if fmt is ReaderFormat.WINDOWS:
        return Table(fmt, _windows_feeds(), _WINDOWS_TYPES)
    if fmt is ReaderFormat.CEF:
        return Table(fmt, _cef_feeds(), _CEF_TYPES)
    if fmt is ReaderFormat.SYSLOG:
        return Table(fmt, _syslog_feeds(), _TEXT_TYPES)
    if fmt in (ReaderFormat.JSON, ReaderFormat.CSV):
        fields = mapping.fields if mapping is not None else DEFAULT_JSON_FIELDS
        feeds, types = _mapped_feeds(fields)
        return Table(fmt, feeds, types)
    raise ValueError(f"no column table for {fmt.value}")


def uses_columns(engine: MatchEngine, table: Table) -> bool:
    """Whether the columns can answer every indicator of the engine for this format."""
    return not engine.scan and not table.uncovered(indexed_keys(engine))
