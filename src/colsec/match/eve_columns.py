"""Which EVE fields feed which STIX object paths, as polars expressions.

One table (``_EVE_VALUES``) drives both the parse schema (only the fields some index needs are
parsed) and the value columns the vectorised matcher hands to the indexes; values are made as
the EVE reader (``readers.network``) makes them, so both paths see the same strings.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

__all__ = [
    "ADDRESS_COLUMNS",
    "NULLABLE",
    "Key",
    "Transform",
    "canonical_ipv6",
    "eve_expressions",
    "eve_schema",
    "ipv4_number",
]


def _has(df: pl.DataFrame, *names: str) -> bool:
    if names[0] not in df.columns:
        return False
    dtype: Any = df.schema[names[0]]
    for n in names[1:]:
        if not isinstance(dtype, pl.Struct):
            return False
        fields = {f.name: f.dtype for f in dtype.fields}
        if n not in fields:
            return False
        dtype = fields[n]
    return bool(dtype == pl.String)


def _col(*names: str) -> pl.Expr:
    e = pl.col(names[0])
    for n in names[1:]:
        e = e.struct.field(n)
    return e


def ipv4_number(e: pl.Expr) -> pl.Expr:
    parts = e.str.split_exact(".", 3)
    octets = [parts.struct.field(f"field_{i}").cast(pl.UInt32, strict=False) for i in range(4)]
    valid = pl.all_horizontal([o.is_not_null() & (o < 256) for o in octets])
    number = octets[0] * 16_777_216 + octets[1] * 65_536 + octets[2] * 256 + octets[3]
    return pl.when(valid).then(number).otherwise(None)


Transform = Callable[[pl.Expr], pl.Expr] | None
Key = tuple[str, str]

_ADDR: tuple[Key, ...] = (("ipv4-addr", "value"), ("ipv6-addr", "value"))
_URL: Key = ("url", "value")


def _domain(v: pl.Expr) -> pl.Expr:
    return v.str.to_lowercase().str.strip_chars_end(".")


def _lower(v: pl.Expr) -> pl.Expr:
    return v.str.to_lowercase()


def _basename(v: pl.Expr) -> pl.Expr:
    return v.str.replace(r"^.*[/\\]", "")


# EVE field -> the STIX paths it feeds, its column name ("" for a numbered one), its transform
_EVE_VALUES: tuple[tuple[tuple[str, ...], tuple[Key, ...], str, Transform], ...] = (
    (("src_ip",), (*_ADDR, ("network-traffic", "src_ref.value")), "src", None),
    (("dest_ip",), (*_ADDR, ("network-traffic", "dst_ref.value")), "dst", None),
    (("dns", "rdata"), _ADDR, "rdata", None),
    (("dns", "rrname"), (("domain-name", "value"),), "", _domain),
    (("http", "hostname"), (("domain-name", "value"),), "", _domain),
    (("tls", "sni"), (("domain-name", "value"),), "", _domain),
    (("fileinfo", "md5"), (("file", "hashes.MD5"),), "", _lower),
    (("fileinfo", "sha1"), (("file", "hashes.SHA-1"),), "", _lower),
    (("fileinfo", "sha256"), (("file", "hashes.SHA-256"),), "", _lower),
    (("fileinfo", "filename"), (("file", "name"),), "", _basename),
)
_URL_FIELDS = (("http", "hostname"), ("http", "url"))  # url:value is built from both


def _url_value(url: pl.Expr) -> pl.Expr:
    """``http.url`` made absolute with ``http.hostname``, as the EVE reader does; null (dropped)
    where a relative URL has no host.  ``url`` holds the non-null URLs, so the host is taken
    from the same rows."""
    host = _col("http", "hostname").filter(_col("http", "url").is_not_null()).replace("", None)
    absolute = url.str.starts_with("http://") | url.str.starts_with("https://")
    # one level of when/otherwise: polars 2.1 panics on a nested one over filtered columns
    return pl.when(absolute).then(url).otherwise(pl.concat_str([pl.lit("http://"), host, url]))


NULLABLE = (_url_value,)  # transforms that may give null for a value


def eve_schema(keys: set[Key] | None = None) -> dict[str, Any]:
    """The EVE fields worth parsing for indexes over ``keys`` (all of them when None).

    Parsing fewer fields is cheaper (the parse is most of a run); alerts take the whole record
    from the raw line, so nothing else is lost.
    """
    fields: list[tuple[str, ...]] = [
        path for path, feeds, _, _ in _EVE_VALUES if keys is None or any(k in keys for k in feeds)
    ]
    if keys is None or _URL in keys:
        fields.extend(_URL_FIELDS)
    schema: dict[str, Any] = {}  # not even the timestamp: alerts read it from the raw line
    nested: dict[str, dict[str, Any]] = {}
    for path in fields:
        if len(path) == 1:
            schema[path[0]] = pl.String
        else:
            nested.setdefault(path[0], {})[path[1]] = pl.String
            schema.setdefault(path[0], None)
    for name, inner in nested.items():
        schema[name] = pl.Struct(inner)
    return schema


def eve_expressions(df: pl.DataFrame) -> list[tuple[Key, str, pl.Expr, Transform]]:
    """(STIX object type, path key), column name, field, transform for every value column EVE offers.

    The transform (lower-casing, stripping, URL building) runs on the field's non-null values
    only, which costs half of running it over a mostly-null column; where it gives null (a
    relative URL without a host), the row has no value.
    A column feeding several keys keeps one name (``src`` is both ``ipv4-addr:value`` and
    ``network-traffic:src_ref.value``), so it is hashed once.  Address columns are not split by
    family: an IPv6 text never equals an IPv4 indicator value nor passes the dotted-quad check of
    the CIDR path, and vice versa.
    """
    shape = tuple(df.schema.items())
    cached = _EXPRESSIONS.get(shape)
    if cached is not None:
        return cached
    out: list[tuple[Key, str, pl.Expr, Transform]] = []
    n = 0
    for path, feeds, name, transform in _EVE_VALUES:
        if _has(df, *path):
            if not name:
                name, n = f"v{n}", n + 1
            out.extend((key, name, _col(*path), transform) for key in feeds)
    if all(_has(df, *f) for f in _URL_FIELDS):
        out.append((_URL, f"v{n}", _col("http", "url"), _url_value))
    if len(_EXPRESSIONS) > 64:  # chunks of one file share a schema; a long-lived process sees few
        _EXPRESSIONS.clear()
    _EXPRESSIONS[shape] = out
    return out


_EXPRESSIONS: dict[tuple[tuple[str, Any], ...], list[tuple[Key, str, pl.Expr, Transform]]] = {}


def canonical_ipv6(s: pl.Series) -> pl.Series:
    """Compress IPv6 texts as the event readers do (rare rows, so plain Python)."""
    pos = np.nonzero(s.str.contains(":", literal=True).fill_null(False).to_numpy())[0]
    if not len(pos):
        return s
    fixed: list[str | None] = []
    for text in s.gather(pos.tolist()).to_list():
        try:
            addr = ipaddress.IPv6Address(text.split("%", 1)[0])
            fixed.append(str(addr.ipv4_mapped) if addr.ipv4_mapped else addr.compressed)
        except (ValueError, AttributeError):
            fixed.append(text)
    return s.scatter(pos.tolist(), pl.Series(fixed, dtype=pl.String))


ADDRESS_COLUMNS = ("src", "dst", "rdata")  # value columns that may hold IPv6 texts
