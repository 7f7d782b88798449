"""Every non-EVE telemetry format through one table-driven column path (polars).

Each format has a table (``table_for``): source field -> the STIX (object type, path) keys the
reader fills from it and the normalisation the reader applies (lower-cased domains, base
names, canonical hash names...).  A file is cut into chunks; a per-format *splitter* turns a
chunk into one string column per source field (``read_ndjson`` for the JSON formats,
``str.split_exact`` for Zeek TSV and CSV, a vectorised key=value split for CEF, regex
extraction for syslog), row ``i`` being physical line ``i`` of the chunk.  The table's
columns go to the engine's indexes exactly as EVE's do (``vector.hit_rows``).

The columns only *propose* rows: a column may offer a value the reader would not make (a
Sysmon ``Image`` on an event the reader reads no process from), never miss one it makes.
Every proposed row is then read by the format's own reader and matched by the engine, so an
alert is always the event path's alert; the differential tests plant an indicator on every
(path, value) each reader makes from real samples and require identical alerts.  Keys a
format's reader can fill that no column gives (``uncovered``) send a run through the event
path, as does any indicator anchored on a type alone.  A chunk polars refuses (one odd line)
takes the event path for that chunk only.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np
import polars as pl

from colsec.gcpause import young_gc_only
from colsec.match.addresses import canonical_ipv6
from colsec.match.engine import Alert, MatchEngine
from colsec.match.events import Event, canonical_hash_name
from colsec.match.readers import (
    DECODERS,
    FieldMapping,
    ReaderFormat,
    ReaderStats,
    decode_line,
)
from colsec.match.readers.cef import CEF_FULL_NAMES
from colsec.match.readers.text import DEFAULT_JSON_FIELDS
from colsec.match.vector import PreparedFrame, VectorResult, hit_rows, indexed_keys

__all__ = [
    "COLUMN_FORMATS",
    "ColumnResult",
    "Feed",
    "Table",
    "match_columns_file",
    "table_for",
    "uses_columns",
]

Key = tuple[str, str]
Transform = Callable[[pl.Expr], pl.Expr]

# -- transforms: each mirrors one EventBuilder method (values only; refusals are left to the reader)


def _raw(v: pl.Expr) -> pl.Expr:
    return v


def _strip(v: pl.Expr) -> pl.Expr:
    """``EventBuilder.ip`` and ``url``: the text stripped (IPv6 made canonical afterwards)."""
    return v.str.strip_chars()


def _domain(v: pl.Expr) -> pl.Expr:
    return v.str.strip_chars().str.strip_chars_end(".").str.to_lowercase()


def _lower(v: pl.Expr) -> pl.Expr:
    return v.str.to_lowercase()


def _hash(v: pl.Expr) -> pl.Expr:
    return v.str.strip_chars().str.to_lowercase()


def _basename(v: pl.Expr) -> pl.Expr:
    return v.str.replace(r"^.*[/\\]", "")


def _after_backslash(v: pl.Expr) -> pl.Expr:
    return v.str.replace(r"^.*\\", "")


def _email(v: pl.Expr) -> pl.Expr:
    text = v.str.strip_chars()
    inner = text.str.extract(r"<([^<]*)>$", 1)
    return pl.coalesce(inner, text).str.strip_chars().str.to_lowercase()


def _fingerprint(v: pl.Expr) -> pl.Expr:
    return v.str.replace_all(":", "", literal=True).str.to_lowercase()


def _sysmon_hash(algo: str) -> Transform:
    """One algorithm out of Sysmon's ``SHA1=..,MD5=..,SHA256=..``."""

    def transform(v: pl.Expr) -> pl.Expr:
        return v.str.extract(rf"(?i)(?:^|,)\s*{algo}\s*=([^,]*)", 1).str.strip_chars().str.to_lowercase()

    return transform


def _query_results(v: pl.Expr) -> pl.Expr:
    """Sysmon 22 ``QueryResults``: the addresses among the ``;``-separated answers."""
    return v.str.split(";").list.eval(pl.element().str.strip_chars())


_ADDR: tuple[Key, ...] = (("ipv4-addr", "value"), ("ipv6-addr", "value"))
_SRC = (*_ADDR, ("network-traffic", "src_ref.value"))
_DST = (*_ADDR, ("network-traffic", "dst_ref.value"))
_PROTO: tuple[Key, ...] = (("network-traffic", "protocols[*]"),)
_DOMAIN: tuple[Key, ...] = (("domain-name", "value"),)
_URL: tuple[Key, ...] = (("url", "value"),)
_HTTP = "extensions.http-request-ext."
_X509 = "x509-certificate"
_HASHES = ("MD5", "SHA-1", "SHA-256", "SHA-512")
#: keys whose values may be IPv6 texts (made canonical as ``EventBuilder.ip`` makes them)
_ADDRESS_KEYS = frozenset(
    {*_ADDR, ("network-traffic", "src_ref.value"), ("network-traffic", "dst_ref.value")}
)


@dataclass(frozen=True)
class Feed:
    """A source field, the keys the reader fills from it, and how it normalises the value.

    ``listed``: the field may hold a list of values (JSON array, Zeek set), each a value.
    """

    field: str
    keys: tuple[Key, ...]
    transform: Transform = _raw
    listed: bool = False


@dataclass
class Table:
    """One format's columns: the feeds, and every object type its reader can make (an index on
    a key of those types that no feed gives makes the run take the event path)."""

    fmt: ReaderFormat
    feeds: list[Feed]
    types: frozenset[str]
    covered: frozenset[Key] = field(init=False)

    def __post_init__(self) -> None:
        self.covered = frozenset(k for f in self.feeds for k in f.keys)

    def uncovered(self, keys: set[Key]) -> set[Key]:
        return {k for k in keys if k[0] in self.types and k not in self.covered}

    def fields(self, keys: set[Key] | None = None) -> list[str]:
        """The source fields worth reading for indexes over ``keys`` (all when None)."""
        return list(dict.fromkeys(f.field for f in self.feeds if keys is None or not keys.isdisjoint(f.keys)))


def _zeek_feeds() -> list[Feed]:
    """``readers.network.zeek_event``, every log kind at once (a field means one thing in Zeek)."""
    x509 = [
        Feed("fingerprint", ((_X509, f"hashes.{h}"),), _fingerprint) for h in ("MD5", "SHA-1", "SHA-256")
    ] + [
        Feed("cert_chain_fps", ((_X509, f"hashes.{h}"),), _fingerprint, True)
        for h in ("MD5", "SHA-1", "SHA-256")
    ]
    return [
        Feed("id.orig_h", _SRC, _strip),
        Feed("id.resp_h", _DST, _strip),
        Feed("proto", _PROTO, _lower),
        Feed("host", _DOMAIN, _domain),
        Feed("host", ((("network-traffic", _HTTP + "request_header.Host")),)),
        Feed("host", _ADDR, _strip),
        Feed("user_agent", (("network-traffic", _HTTP + "request_header.User-Agent"),)),
        Feed("method", (("network-traffic", _HTTP + "request_method"),)),
        Feed("uri", (("network-traffic", _HTTP + "request_value"),)),
        Feed("uri", _URL),
        Feed("#url", _URL),  # "http://" + host + uri, made by the splitter
        Feed("query", _DOMAIN, _domain),
        Feed("answers", _ADDR, _strip, True),
        Feed("answers", _DOMAIN, _domain, True),
        Feed("server_name", _DOMAIN, _domain),
        *x509,
        Feed("subject", ((_X509, "subject"), ("email-message", "subject"))),
        Feed("issuer", ((_X509, "issuer"),)),
        Feed("certificate.serial", ((_X509, "serial_number"),)),
        Feed("certificate.subject", ((_X509, "subject"),)),
        Feed("certificate.issuer", ((_X509, "issuer"),)),
        Feed("serial", ((_X509, "serial_number"),)),
        Feed("issuer_subject", ((_X509, "issuer"),)),
        Feed("san.dns", _DOMAIN, _domain, True),
        Feed("san.ip", _ADDR, _strip, True),
        Feed("md5", (("file", "hashes.MD5"),), _hash),
        Feed("sha1", (("file", "hashes.SHA-1"),), _hash),
        Feed("sha256", (("file", "hashes.SHA-256"),), _hash),
        Feed("filename", (("file", "name"),), _basename),
        Feed("mime_type", (("file", "mime_type"),)),
        Feed("tx_hosts", _ADDR, _strip, True),
        Feed("rx_hosts", _ADDR, _strip, True),
        Feed("mailfrom", (("email-addr", "value"), ("email-message", "from_ref.value")), _email),
        Feed("from", (("email-addr", "value"), ("email-message", "from_ref.value")), _email),
        Feed("rcptto", (("email-addr", "value"), ("email-message", "to_refs[*].value")), _email, True),
        Feed("to", (("email-addr", "value"), ("email-message", "to_refs[*].value")), _email, True),
        Feed("path", _ADDR, _strip, True),
        Feed("x_originating_ip", _ADDR, _strip, True),
        Feed("src", _SRC, _strip),
        Feed("dst", _DST, _strip),
        Feed("name", (("software", "name"),)),
        Feed("unparsed_version", (("software", "version"),)),
        Feed("username", (("user-account", "user_id"), ("user-account", "account_login"))),
        Feed("server_dns_computer_name", _DOMAIN, _domain),
        Feed("server_tree_name", _DOMAIN, _domain),
    ]


_ZEEK_TYPES = frozenset(
    {
        "network-traffic", "ipv4-addr", "ipv6-addr", "domain-name", "url", _X509, "file",
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
        hashes.append(Feed("Hashes", keys, _sysmon_hash(algo)))
    return [
        *(Feed(u, (("user-account", "user_id"),)) for u in ("User", "TargetUserName", "SubjectUserName")),
        *(
            Feed(u, (("user-account", "account_login"),), _after_backslash)
            for u in ("User", "TargetUserName", "SubjectUserName")
        ),
        *(Feed(i, (("file", "name"), ("process", "image_ref.name")), _basename) for i in images),
        Feed("CommandLine", (("process", "command_line"),)),
        Feed("ParentCommandLine", (("process", "command_line"),)),
        *hashes,
        Feed("SourceIp", _SRC, _strip),
        Feed("SourceAddress", _SRC, _strip),
        Feed("DestinationIp", _DST, _strip),
        Feed("DestAddress", _DST, _strip),
        Feed("Protocol", _PROTO, _lower),
        Feed("DestinationHostname", _DOMAIN, _domain),
        Feed("QueryName", _DOMAIN, _domain),
        Feed("QueryResults", _ADDR, _query_results),
        Feed("TargetObject", (("windows-registry-key", "key"),)),
        Feed("TargetObject", (("windows-registry-key", "values[*].name"),), _after_backslash),
        Feed("Details", (("windows-registry-key", "values[*].data"),)),
    ]


_WINDOWS_TYPES = frozenset(
    {"user-account", "process", "file", "network-traffic", "ipv4-addr", "ipv6-addr", "domain-name",
     "windows-registry-key"}
)  # fmt: skip
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9_-]+$")


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
                feeds.append(Feed(name, _SRC, _strip))
            elif path == "dst_ref.value":
                feeds.append(Feed(name, _DST, _strip))
            elif path in ("protocols[*]", "protocols"):
                feeds.append(Feed(name, _PROTO, _lower))
        elif target in ("ipv4-addr:value", "ipv6-addr:value"):
            types.update(("ipv4-addr", "ipv6-addr"))
            feeds.append(Feed(name, _ADDR, _strip))
        elif target == "domain-name:value":
            feeds.append(Feed(name, _DOMAIN, _domain))
        elif target == "url:value":
            feeds.append(Feed(name, _URL, _strip))
        elif target == "email-addr:value":
            feeds.append(Feed(name, (("email-addr", "value"),), _email))
        elif obj_type == "file" and path.startswith("hashes."):
            algo = canonical_hash_name(path.split(".", 1)[1].strip("'"))
            feeds.append(Feed(name, (("file", f"hashes.{algo}"),), _hash))
        elif target == "file:name":
            feeds.append(Feed(name, (("file", "name"),), _basename))
        elif _PLAIN_PATH.match(path):
            feeds.append(Feed(name, ((obj_type, path),)))
    return feeds, frozenset(types)


_CEF_HASH_KEYS = tuple(("file", f"hashes.{h}") for h in _HASHES)


def _cef_feeds() -> list[Feed]:
    """``readers.cef.cef_event`` (extension keys, by their short names), then syslog's for the
    lines without a CEF header (the reader reads those as syslog)."""
    custom = [
        feed
        for n in range(1, 7)
        for feed in (
            Feed(f"cs{n}", _URL, _strip),
            Feed(f"cs{n}", _DOMAIN, _domain),
            Feed(f"cs{n}", _CEF_HASH_KEYS, _hash),
            Feed(f"cs{n}", _ADDR, _strip),
        )
    ]
    return [
        Feed("src", _SRC, _strip),
        Feed("dst", _DST, _strip),
        Feed("proto", _PROTO, _lower),
        Feed("requestMethod", (("network-traffic", _HTTP + "request_method"),)),
        Feed("request", (("network-traffic", _HTTP + "request_value"),)),
        Feed("request", _URL, _strip),
        Feed(
            "requestClientApplication",
            (("network-traffic", _HTTP + "request_header.User-Agent"), ("x-user-agent", "value")),
        ),
        *(
            Feed(k, _DOMAIN, _domain)
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
        Feed("fileHash", _CEF_HASH_KEYS, _hash),
        Feed("fname", (("file", "name"),), _basename),
        Feed("suser", (("user-account", "user_id"),)),
        Feed("duser", (("user-account", "user_id"),)),
        *_syslog_feeds(),
    ]


def _syslog_feeds() -> list[Feed]:
    """``readers.text.syslog_event``: URLs, dotted quads and dotted tokens found in the text."""
    return [
        Feed("#urls", _URL, lambda v: v.str.strip_chars_end(".,;)").str.strip_chars(), True),
        Feed("#urls", _DOMAIN, lambda v: _domain(v.str.extract(r"//([^/:]*)", 1)), True),
        Feed("#quads", _ADDR, _raw, True),
        Feed("#tokens", _DOMAIN, _domain, True),
    ]


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


# -- splitters: a chunk's lines -> one string column per source field -------------------------

#: field -> its values row by row (a Series, null where absent), or sparse: (rows, values)
Columns = dict[str, "pl.Series | tuple[np.ndarray, pl.Series]"]


class Refused(Exception):
    """polars could not read a chunk as the format: the chunk takes the event path."""


class _Lines:
    """A chunk's physical lines, each decoded only when asked for (the reader reads the few
    rows the columns propose); ``series`` gives them all as one polars column."""

    def __init__(self, chunk: bytes) -> None:
        self.chunk = chunk
        self.ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)
        self.n = len(self.ends) + (0 if chunk.endswith(b"\n") or not chunk else 1)

    def __len__(self) -> int:
        return self.n

    def _one(self, i: int) -> str:
        start = int(self.ends[i - 1]) + 1 if i > 0 else 0
        stop = int(self.ends[i]) if i < len(self.ends) else len(self.chunk)
        return self.chunk[start:stop].decode("utf-8", errors="replace")

    def __getitem__(self, i: int) -> str:
        return self._one(i)

    def offset(self, i: int) -> int:
        """Where line ``i`` starts (the chunk's length for the line after the last)."""
        return int(self.ends[i - 1]) + 1 if i > 0 else 0

    def slice(self, start: int, stop: int | None = None) -> list[str]:
        return [self._one(i) for i in range(start, min(self.n, self.n if stop is None else stop))]

    def series(self) -> pl.Series:
        text = self.chunk.decode("utf-8", errors="replace")
        lines = pl.Series("l", [text], dtype=pl.String).str.split("\n").explode()
        return lines.head(self.n)


def _json_columns(chunk: bytes, names: list[str], physical: int) -> dict[str, pl.Series]:
    """The fields by their literal names, and a dotted name also as a path into objects (as
    ``readers.text._lookup`` reads them); a list is kept as its JSON text, split later."""
    tops = list(dict.fromkeys([*names, *(n.split(".", 1)[0] for n in names if "." in n)]))
    try:
        df = pl.read_ndjson(chunk, schema=dict.fromkeys(tops, pl.String))
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise Refused(str(exc)) from exc
    if len(df) != physical:  # blank lines: row numbers would not be line numbers
        raise Refused("blank lines")
    out: dict[str, pl.Series] = {}
    for name in names:
        col = df[name]
        if "." in name:
            top, rest = name.split(".", 1)
            path = "$" + "".join(f"['{p}']" for p in rest.split("."))
            nested = df[top].str.json_path_match(path)
            col = pl.select(pl.coalesce(pl.lit(col), pl.lit(nested))).to_series()
        out[name] = col
    return out


def _json_list(values: pl.Series) -> pl.Series:
    """A JSON field that may hold an array, as one list per row (a scalar is a list of one)."""
    mask = values.str.starts_with("[").fill_null(False)
    if not mask.any():
        return values.to_frame("v").select(pl.concat_list(pl.col("v"))).to_series()
    try:
        decoded = values.filter(mask).str.json_decode(pl.List(pl.String))
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise Refused(str(exc)) from exc
    rows = pl.int_range(len(values), dtype=pl.Int64, eager=True)
    listed = pl.DataFrame({"row": rows.filter(mask), "l": decoded})
    full = pl.DataFrame({"row": rows, "v": values}).join(listed, on="row", how="left", maintain_order="left")
    return full.select(pl.coalesce(pl.col("l"), pl.concat_list(pl.col("v")))).to_series()


@dataclass
class _Zeek:
    """A Zeek TSV header: the settings the reader takes from it."""

    fields: list[str]
    sets: set[str]
    sep: str = "\t"
    set_sep: str = ","
    empty: str = "(empty)"
    unset: str = "-"


def _delimited(
    lines: _Lines, start: int, stop: int, sep: str, fields: list[str], names: list[str], quote: str | None
) -> dict[str, pl.Series]:
    """Lines ``start``..``stop`` read by polars' CSV reader, as columns over all the chunk's
    lines (null outside); refused unless every line gives one row (a blank line, a quoted
    line end)."""
    wanted = [n for n in dict.fromkeys(names) if n in fields]
    if not wanted or stop <= start:
        return {}
    begin = lines.offset(start)
    data = lines.chunk[begin : lines.offset(stop)]
    try:
        df = pl.read_csv(
            data,
            separator=sep,
            has_header=False,
            columns=[fields.index(n) for n in wanted],
            infer_schema=False,
            quote_char=quote,
            encoding="utf8-lossy",
            truncate_ragged_lines=True,
        )
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise Refused(str(exc)) from exc
    if len(df) != stop - start:
        raise Refused("not one row a line")
    df.columns = sorted(wanted, key=fields.index)
    before = pl.Series([None] * start, dtype=pl.String)
    after = pl.Series([None] * (len(lines) - stop), dtype=pl.String)
    return {n: pl.concat([before, df[n], after]) for n in wanted}


def _tsv_columns(lines: _Lines, start: int, names: list[str], head: _Zeek) -> dict[str, pl.Series]:
    """Zeek TSV data lines from ``start`` (after the header) up to a closing comment block."""
    stop = len(lines)
    body = lines.chunk[lines.offset(start) :]
    cut = body.find(b"\n#") + 1 if not body.startswith(b"#") else 0
    if cut or body.startswith(b"#"):  # "#close" and the like may end a file; nothing else may follow
        tail = body[cut:]
        if any(not line.startswith(b"#") for line in tail.split(b"\n") if line):
            raise Refused("Zeek TSV comment inside the data")
        stop = start + body[:cut].count(b"\n")
    frame = _delimited(lines, start, stop, head.sep, head.fields, names, None)
    out: dict[str, pl.Series] = {}
    for name, col in frame.items():
        col = pl.select(pl.when(pl.lit(col) != head.unset).then(pl.lit(col))).to_series()
        if name in head.sets:
            col = pl.select(
                pl.when(pl.lit(col) != head.empty).then(pl.lit(col).str.split(head.set_sep))
            ).to_series()
        out[name] = col
    return out


def _csv_columns(lines: _Lines, start: int, names: list[str], columns: list[str], delimiter: str) -> Columns:
    """CSV rows from ``start`` (after a header), quoted as ``csv.reader`` quotes."""
    return dict(_delimited(lines, start, len(lines), delimiter, columns, names, '"'))


_CEF_SHORT = {**CEF_FULL_NAMES}


def _cef_columns(lines: pl.Series, names: list[str]) -> Columns:
    """The extension's key=value pairs of every CEF line, split in one vectorised pass.

    A key starts after whitespace and ends at ``=`` (as ``readers.cef`` reads it); every pair
    is kept, so a key given twice (short and full name) offers both values.
    """
    cef = lines.str.splitn("CEF:", 2).struct.field("field_1")
    head = cef.str.splitn("|", 8).struct.unnest()
    ext = head["field_7"]
    escaped = pl.select(
        pl.any_horizontal(head[f"field_{i}"].str.contains("\\", literal=True) for i in range(7))
    )
    rows = np.flatnonzero(escaped.to_series().fill_null(False).to_numpy())
    if len(rows):  # a header with escapes: split as ``parse_cef`` does (rare, and slower)
        exact = cef.gather(rows).str.extract(r"^(?:(?:[^|\\]|\\.)*\|){7}(.*)$", 1)
        ext = ext.scatter(rows.tolist(), exact)
    marked = ext.str.replace_all(r"(?:^|\s+)([A-Za-z_][\w.\[\]-]*)=", "\x00${1}\x01")
    frame = (
        pl.DataFrame({"row": pl.int_range(len(lines), dtype=pl.Int64, eager=True), "x": marked})
        .with_columns(pl.col("x").str.split("\x00"))
        .explode("x")
        .filter(pl.col("x").str.contains("\x01", literal=True))
        .with_columns(pl.col("x").str.split_exact("\x01", 1).alias("kv"))
        .unnest("kv")
    )
    wanted = [n for n in names if not n.startswith("#")]
    frame = frame.select(
        pl.col("row"),
        pl.col("field_0").replace(_CEF_SHORT).alias("k"),
        pl.col("field_1").str.strip_chars().str.replace_all(r"\\([=\\|])", "$1").alias("v"),
    ).filter(pl.col("k").is_in(wanted))
    out: Columns = {}
    for (name,), part in frame.partition_by("k", as_dict=True, maintain_order=True).items():
        out[str(name)] = (part["row"].to_numpy(), part["v"])  # a key given twice offers both values
    return out


_URLS = r"(?i)\bhttps?://[^\s\"'<>]+"
_QUADS = r"[\d.]*\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}[\d.]*"
#: every URL has "://", every dotted quad and host name a '.': tokens with neither offer nothing
_TOKENS = r"\S*(?:\.|://)\S*"


def _syslog_columns(lines: pl.Series, names: list[str]) -> Columns:
    """The whitespace-separated tokens with a '.' or ':' (one regex pass over the text), then
    URLs and dotted quads found inside them: a match never spans whitespace."""
    tokens = (
        pl.DataFrame(
            {"row": pl.int_range(len(lines), dtype=pl.Int64, eager=True), "t": lines.str.extract_all(_TOKENS)}
        )
        .explode("t")
        .drop_nulls("t")
    )
    rows, texts = tokens["row"].to_numpy(), tokens["t"]
    out: Columns = {}
    if "#tokens" in names:
        out["#tokens"] = (rows, texts)
    for name, pattern, marker in (("#urls", _URLS, "://"), ("#quads", _QUADS, ".")):
        if name in names:
            has = texts.str.contains(marker, literal=True).to_numpy()
            found = pl.DataFrame(
                {"row": rows[has], "v": texts.filter(pl.Series(has)).str.extract_all(pattern)}
            )
            found = found.explode("v").drop_nulls("v")
            out[name] = (found["row"].to_numpy(), found["v"])
    return out


# -- the shared half: columns -> prepared values -> rows to read -----------------------------


def prepare(engine: MatchEngine, table: Table, cols: Columns, rows: int) -> PreparedFrame:
    """The table's columns as the indexes' value columns: non-null values and their rows."""
    keys = indexed_keys(engine)
    positions: dict[str, np.ndarray] = {}
    values: dict[str, pl.Series] = {}
    columns: list[tuple[Key, str]] = []
    for n, feed in enumerate(table.feeds):
        wanted = [k for k in feed.keys if k in keys]
        col = cols.get(feed.field)
        if not wanted or col is None:
            continue
        name = f"c{n}"
        if isinstance(col, tuple):
            pos, flat = col
        elif col.dtype == pl.List(pl.String):
            flat_frame = (
                pl.DataFrame({"row": pl.int_range(len(col), dtype=pl.Int64, eager=True), "v": col})
                .explode("v")
                .drop_nulls("v")
            )
            pos, flat = flat_frame["row"].to_numpy(), flat_frame["v"]
        else:
            mask = col.is_not_null()
            pos = np.flatnonzero(mask.to_numpy())
            flat = col.filter(mask)
        if not len(flat):
            continue
        out = flat.to_frame("v").select(feed.transform(pl.col("v"))).to_series()
        if out.dtype == pl.List(pl.String):
            size = out.list.len().fill_null(0).to_numpy()
            pos = np.repeat(pos, np.maximum(size, 1))  # explode keeps a null for an empty list
            out = out.explode()
        keep = out.is_not_null() & (out != "")
        keep_np = keep.fill_null(False).to_numpy()
        if not keep_np.all():
            pos, out = pos[keep_np], out.filter(pl.Series(keep_np))
        if not len(out):
            continue
        if any(k in _ADDRESS_KEYS for k in wanted) and out.str.contains(":", literal=True).any():
            out = canonical_ipv6(out)
        positions[name], values[name] = pos, out
        columns.extend((k, name) for k in wanted)
    return PreparedFrame(rows, columns, positions, values)


# -- files -------------------------------------------------------------------------------------


@dataclass
class ColumnResult(VectorResult):
    """Totals of a run; ``refused``: chunks polars could not read, matched event by event."""

    refused: int = 0


@dataclass
class _Run:
    engine: MatchEngine
    fmt: ReaderFormat
    table: Table
    mapping: FieldMapping | None
    stats: ReaderStats
    decoder: Any
    alerts: list[Alert] = field(default_factory=list)
    rows: int = 0
    hits: int = 0
    zeek: _Zeek | None = None
    zeek_skip: int = 0
    csv_skip: int = 0
    csv_columns: list[str] | None = None
    pending: list[Event] = field(default_factory=list)
    refused: int = 0

    def events(self, lines: _Lines | list[str], first_line: int, rows: list[int] | None = None) -> None:
        """Lines through the format's reader (all of them, or only ``rows``), matched in order;
        each with its line end, as the reader gets it from a file."""
        for r in rows if rows is not None else range(len(lines)):
            ev = decode_line(self.decoder, lines[r] + "\n", first_line + r, self.stats)
            if ev is not None:
                self.pending.append(ev)
                if len(self.pending) >= 5_000:
                    self.flush()

    def flush(self) -> None:
        if self.pending:
            got = self.engine.match(self.pending)
            self.alerts.extend(got)
            self.hits += len({id(a.events[-1]) for a in got})
            self.pending = []


def _open(path: Path) -> BinaryIO:
    if path.suffix == ".gz":
        return cast(BinaryIO, gzip.open(path, "rb"))
    return open(path, "rb")  # noqa: SIM115


def _chunks(f: BinaryIO, batch_bytes: int) -> Iterator[bytes]:
    size = max(batch_bytes // 8, 1 << 16)
    while True:
        chunk = f.read(size)
        if not chunk:
            return
        rest = f.readline()
        yield chunk + rest if rest else chunk
        size = min(size * 2, batch_bytes)


def _zeek_header(lines: _Lines) -> tuple[_Zeek | None, int]:
    """The header at the top of a Zeek TSV file, and how many lines it takes."""
    from colsec.match.readers.network import zeek_tsv_header

    n = 0
    while n < len(lines) and lines[n].startswith("#"):
        n += 1
    meta = zeek_tsv_header(lines.slice(0, n))
    if "fields" not in meta:
        return None, n
    types = meta.get("types") or [""] * len(meta["fields"])
    sets = {f for f, t in zip(meta["fields"], types, strict=False) if t.startswith(("set[", "vector["))}
    return _Zeek(meta["fields"], sets, meta["sep"], meta["set_sep"], meta["empty"], meta["unset"]), n


_HEADER_LINE = re.compile(r"^#(?:separator|fields|types|set_separator|empty_field|unset_field|path)\b", re.M)
_WRAPPED = re.compile(rb'(?m)^\s*\{\s*"[^"]*"\s*:\s*\{')


def _chunk_columns(run: _Run, chunk: bytes, lines: _Lines, first: bool) -> Columns:
    names = run.table.fields(indexed_keys(run.engine))
    if "#url" in names:  # made from both
        names = list(dict.fromkeys([*names, "host", "uri"]))
    fmt = run.fmt
    if fmt in (ReaderFormat.ZEEK_JSON, ReaderFormat.WINDOWS, ReaderFormat.JSON):
        if fmt is ReaderFormat.ZEEK_JSON and _WRAPPED.search(chunk):
            raise Refused("Zeek records wrapped by log type")
        json_names = [n for n in names if not n.startswith("#")]
        found: dict[str, pl.Series]
        if fmt is ReaderFormat.ZEEK_JSON:
            found = _json_literal(chunk, json_names, len(lines))
        else:
            found = _json_columns(chunk, json_names, len(lines))
        for feed in run.table.feeds:
            if feed.listed and feed.field in found and found[feed.field].dtype == pl.String:
                found[feed.field] = _json_list(found[feed.field])
        return _with_url(found)
    if fmt is ReaderFormat.ZEEK_TSV:
        if first:
            for i, line in enumerate(lines.slice(0, run.zeek_skip)):
                run.decoder.feed(line, i + 1)
        start = run.zeek_skip if first else 0
        body = chunk[lines.offset(start) :]
        if run.zeek is None or (
            (body.startswith(b"#") or b"\n#" in body)
            and _HEADER_LINE.search(body.decode("utf-8", errors="replace"))
        ):
            raise Refused("Zeek TSV header inside the data")
        return _with_url(_tsv_columns(lines, start, names, run.zeek))
    if fmt is ReaderFormat.CSV:
        assert run.csv_columns is not None and run.mapping is not None
        return _csv_columns(
            lines, run.csv_skip if first else 0, names, run.csv_columns, run.mapping.delimiter
        )
    s = lines.series()
    if fmt is ReaderFormat.SYSLOG:
        return _syslog_columns(s, names)
    # CEF: CEF lines by their extension, the others as syslog
    if b"\x00" in chunk or b"\x01" in chunk:  # the pair markers of ``_cef_columns``
        raise Refused("control characters")
    is_cef = s.str.contains("CEF:", literal=True)
    cols = _cef_columns(pl.select(pl.when(is_cef).then(s)).to_series(), names)
    cols.update(_syslog_columns(pl.select(pl.when(~is_cef).then(s)).to_series(), names))
    return cols


def _with_url(cols: dict[str, pl.Series]) -> Columns:
    """Zeek's ``url:value`` for a relative ``uri``: ``http://`` + host + uri, as ``zeek_event``."""
    out: Columns = dict(cols)
    if "host" in cols and "uri" in cols:
        url = pl.concat_str([pl.lit("http://"), pl.lit(cols["host"]), pl.lit(cols["uri"])])
        out["#url"] = pl.select(url).to_series()
    return out


def _json_literal(chunk: bytes, names: list[str], physical: int) -> dict[str, pl.Series]:
    """Zeek JSON fields by their literal (dotted) names, as ``zeek_event`` reads them."""
    try:
        df = pl.read_ndjson(chunk, schema=dict.fromkeys(names, pl.String))
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise Refused(str(exc)) from exc
    if len(df) != physical:
        raise Refused("blank lines")
    return {name: df[name] for name in names}


def match_columns_file(
    engine: MatchEngine,
    path: str | Path,
    fmt: ReaderFormat,
    *,
    mapping: FieldMapping | None = None,
    stats: ReaderStats | None = None,
    batch_bytes: int = 16 << 20,
    year: int | None = None,
) -> ColumnResult:
    """Match a telemetry file of ``fmt`` through its column table; alerts as the event path's.

    ``stats`` counts what the reader read: the lines polars proposed and every line of a chunk
    that took the event path (a line not proposed is never read, so its errors go uncounted).
    """
    p = Path(path)
    table = table_for(fmt, mapping)
    stats = stats if stats is not None else ReaderStats()
    decoder = DECODERS[fmt](fmt, mapping)
    if year is not None and hasattr(decoder, "year"):
        decoder.year = year
    run = _Run(engine, fmt, table, mapping, stats, decoder)
    columns_ok = uses_columns(engine, table)
    line_no = 1
    with young_gc_only(), _open(p) as f:
        first = True
        for chunk in _chunks(f, batch_bytes):
            lines = _Lines(chunk)
            run.rows += len(lines)
            if not columns_ok:
                run.events(lines, line_no)
            else:
                _column_chunk(run, chunk, lines, line_no, first)
            first = False
            line_no += len(lines)
    run.flush()
    return ColumnResult(run.rows, run.hits, run.alerts, run.refused)


def _column_chunk(run: _Run, chunk: bytes, lines: _Lines, line_no: int, first: bool) -> None:
    skip = 0
    if first and run.fmt is ReaderFormat.ZEEK_TSV:
        run.zeek, run.zeek_skip = _zeek_header(lines)
    if first and run.fmt is ReaderFormat.CSV:
        assert run.mapping is not None
        run.csv_columns = run.mapping.columns
        if run.csv_columns is None:  # the first non-blank line is the header; the reader reads it
            while skip < len(lines) and not lines[skip].strip():
                skip += 1
            if skip < len(lines):
                run.events(lines.slice(0, skip + 1), line_no)
                run.csv_columns = run.mapping.columns
                skip += 1
    run.csv_skip = skip
    try:
        cols = _chunk_columns(run, chunk, lines, first)
    except Refused:
        run.refused += 1
        if first and run.fmt is ReaderFormat.ZEEK_TSV:
            run.events(lines.slice(run.zeek_skip), line_no + run.zeek_skip)
        else:
            run.events(lines.slice(skip), line_no + skip)
        return
    prepared = prepare(run.engine, run.table, cols, len(lines))
    rows = hit_rows(run.engine, prepared).tolist()
    if first and run.fmt is ReaderFormat.ZEEK_TSV:
        rows = [r for r in rows if r >= run.zeek_skip]
    elif skip:
        rows = [r for r in rows if r >= skip]
    run.events(lines, line_no, rows)
