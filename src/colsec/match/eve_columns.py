"""Which EVE fields feed which STIX object paths, as polars expressions.

One table (``_EVE_VALUES``) drives both the parse schema (only the fields some index needs are
parsed) and the value columns the vectorised matcher hands to the indexes; values are made as
the EVE reader (``readers.network.eve_event``) makes them, so both paths see the same strings.
The table covers every string path the reader produces but one (``READER_ONLY``), and a test
plants an indicator on every value the reader makes from real samples to hold the two equal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from colsec.match.addresses import ADDRESS_LIKE

__all__ = [
    "ADDRESS_COLUMNS",
    "COVERED",
    "NULLABLE",
    "ONCE",
    "READER_ONLY",
    "REJECTS",
    "Column",
    "Key",
    "Reject",
    "Transform",
    "eve_expressions",
    "eve_schema",
    "populated",
]

Transform = Callable[[pl.Expr], pl.Expr] | None
Key = tuple[str, str]
Path = tuple[str, ...]  # struct fields; "[]" steps into a list (then at most one field of its items)
# (STIX key, column name, field expression, transform on its values, the field's path)
Column = tuple[Key, str, pl.Expr, Transform, Path]


def _dtype(df: pl.DataFrame, path: Path) -> Any:
    """The dtype at ``path`` in the frame, None where the frame lacks it."""
    if path[0] not in df.columns:
        return None
    dtype: Any = df.schema[path[0]]
    for step in path[1:]:
        if step == "[]":
            if not isinstance(dtype, pl.List):
                return None
            dtype = dtype.inner
            continue
        if not isinstance(dtype, pl.Struct):
            return None
        fields = {f.name: f.dtype for f in dtype.fields}
        if step not in fields:
            return None
        dtype = fields[step]
    return dtype


def _has(df: pl.DataFrame, path: Path) -> bool:
    return bool(_dtype(df, path) == pl.String)


def _col(path: Path) -> pl.Expr:
    """The field as an expression: a string column, or a list of strings for a path with "[]"."""
    e = pl.col(path[0])
    for i, step in enumerate(path[1:], 1):
        if step == "[]":
            rest = path[i + 1 :]
            return e.list.eval(pl.element().struct.field(rest[0])) if rest else e
        e = e.struct.field(step)
    return e


# -- transforms: each mirrors one EventBuilder method -------------------------------------------
# A transform normalises values inside the query; what the builder refuses (empty texts, "-"
# placeholders) is found afterwards by its ``REJECTS`` test on the result: inside the query a
# second use of the transformed values would compute them again.  Nulls come from extractions,
# not when/otherwise: polars 2.1 panics on several of those over filtered columns (vector.py
# still falls back to events if it does).


Reject = Callable[[pl.Expr], pl.Expr]


def _placeholder(v: pl.Expr) -> pl.Expr:
    return (v == "") | (v == "-")


def _empty(v: pl.Expr) -> pl.Expr:
    return v == ""


def _not_a_name(v: pl.Expr) -> pl.Expr:
    return _placeholder(v) | v.str.contains(" ", literal=True)


def _domain(v: pl.Expr) -> pl.Expr:
    """``EventBuilder.domain``: stripped, no trailing dot, lower case (not empty, "-" or spaced)."""
    return v.str.strip_chars().str.strip_chars_end(".").str.to_lowercase()


def _rdata_ip(v: pl.Expr) -> pl.Expr:
    return v.str.extract(ADDRESS_LIKE, 1).str.strip_chars()


def _rdata_domain(v: pl.Expr) -> pl.Expr:
    return _domain(v.str.replace(ADDRESS_LIKE, ""))  # an address becomes "", which is no name


def _present(v: pl.Expr) -> pl.Expr:
    """A text kept as it is (unless empty or "-")."""
    return v


def _truthy(v: pl.Expr) -> pl.Expr:
    """A text kept as it is (unless empty)."""
    return v


def _lower(v: pl.Expr) -> pl.Expr:
    return v.str.to_lowercase()


def _hash(v: pl.Expr) -> pl.Expr:
    """``EventBuilder.file`` hashes: stripped and lower-cased (not empty or "-")."""
    return v.str.strip_chars().str.to_lowercase()


def _basename(v: pl.Expr) -> pl.Expr:
    return v.str.replace(r"^.*[/\\]", "")


def _fingerprint(length: int) -> Callable[[pl.Expr], pl.Expr]:
    """A certificate fingerprint as the hash its length names (40 hex digits: SHA-1, ...)."""

    def transform(v: pl.Expr) -> pl.Expr:
        text = v.str.replace_all(":", "", literal=True).str.to_lowercase()
        return text.str.extract(f"(?s)^(.{{{length}}})$", 1)

    return transform


def _email(v: pl.Expr) -> pl.Expr:
    """``EventBuilder.email``: the address inside <...>, lower case; null without an @."""
    text = v.str.strip_chars()
    inner = text.str.extract(r"<([^<]*)>$", 1)
    address = pl.coalesce(inner, text).str.strip_chars().str.to_lowercase()
    return address.str.extract(r"(?s)^(.*@.*)$", 1)


_FINGERPRINTS = (_fingerprint(40), _fingerprint(32), _fingerprint(64))
_ADDR: tuple[Key, ...] = (("ipv4-addr", "value"), ("ipv6-addr", "value"))
_DOMAIN: tuple[Key, ...] = (("domain-name", "value"),)
_URL: Key = ("url", "value")
_HTTP = "extensions.http-request-ext."
_X509 = "x509-certificate"

# EVE field -> the STIX paths it feeds, its column name ("" for a numbered one), its transform;
# the address fields in the reader's order (alerts list a CIDR block's addresses in it)
_EVE_VALUES: tuple[tuple[Path, tuple[Key, ...], str, Transform], ...] = (
    (("src_ip",), (*_ADDR, ("network-traffic", "src_ref.value")), "src", None),
    (("dest_ip",), (*_ADDR, ("network-traffic", "dst_ref.value")), "dst", None),
    (("proto",), (("network-traffic", "protocols[*]"),), "", _lower),
    (("dns", "rrname"), _DOMAIN, "", _domain),
    (("dns", "rdata"), _ADDR, "rdata", _rdata_ip),
    (("dns", "rdata"), _DOMAIN, "", _rdata_domain),
    (("dns", "answers", "[]", "rdata"), _ADDR, "answers", _rdata_ip),
    (("dns", "answers", "[]", "rdata"), _DOMAIN, "", _rdata_domain),
    (("dns", "queries", "[]", "rrname"), _DOMAIN, "", _domain),
    (("http", "hostname"), _DOMAIN, "", _domain),
    (("http", "hostname"), (("network-traffic", _HTTP + "request_header.Host"),), "", _truthy),
    (("http", "http_user_agent"), (("network-traffic", _HTTP + "request_header.User-Agent"),), "", _truthy),
    (("http", "http_method"), (("network-traffic", _HTTP + "request_method"),), "", _truthy),
    (("http", "url"), (("network-traffic", _HTTP + "request_value"),), "", _truthy),
    (("tls", "sni"), _DOMAIN, "", _domain),
    (("tls", "fingerprint"), ((_X509, "hashes.SHA-1"),), "", _FINGERPRINTS[0]),
    (("tls", "fingerprint"), ((_X509, "hashes.MD5"),), "", _FINGERPRINTS[1]),
    (("tls", "fingerprint"), ((_X509, "hashes.SHA-256"),), "", _FINGERPRINTS[2]),
    (("tls", "subject"), ((_X509, "subject"),), "", _present),
    (("tls", "issuerdn"), ((_X509, "issuer"),), "", _present),
    (("tls", "serial"), ((_X509, "serial_number"),), "", _present),
    (("fileinfo", "md5"), (("file", "hashes.MD5"),), "", _hash),
    (("fileinfo", "sha1"), (("file", "hashes.SHA-1"),), "", _hash),
    (("fileinfo", "sha256"), (("file", "hashes.SHA-256"),), "", _hash),
    (("fileinfo", "filename"), (("file", "name"),), "", _basename),
    (("fileinfo", "magic"), (("file", "mime_type"),), "", _present),
    (("email", "from"), (("email-addr", "value"), ("email-message", "from_ref.value")), "", _email),
    (("email", "to", "[]"), (("email-addr", "value"), ("email-message", "to_refs[*].value")), "", _email),
    (("email", "subject"), (("email-message", "subject"),), "", None),
)
_URL_FIELDS: tuple[Path, Path] = (("http", "hostname"), ("http", "url"))  # url:value is built from both


def _url_value(url: pl.Expr) -> pl.Expr:
    """``http.url`` made absolute with ``http.hostname``, as the EVE reader does; null (dropped)
    where a relative URL has no host.  ``url`` holds the non-null URLs, so the host is taken
    from the same rows."""
    host = _col(("http", "hostname")).filter(_col(("http", "url")).is_not_null()).replace("", None)
    absolute = url.str.starts_with("http://") | url.str.starts_with("https://")
    return pl.when(absolute).then(url).otherwise(pl.concat_str([pl.lit("http://"), host, url]))


# transforms that may give null for a value (those rows then have none)
NULLABLE: frozenset[Transform] = frozenset({_rdata_ip, _email, _url_value, *_FINGERPRINTS})
#: values a transform gives that the reader refuses, found on the result
REJECTS: dict[Transform, Reject] = {
    _domain: _not_a_name,
    _rdata_domain: _not_a_name,
    _present: _placeholder,
    _lower: _placeholder,
    _hash: _placeholder,
    _basename: _placeholder,
    _truthy: _empty,
}
#: Every (object type, path) the table gives values for.
COVERED: frozenset[Key] = frozenset({k for _, feeds, _, _ in _EVE_VALUES for k in feeds} | {_URL})
#: Paths the reader holds each value at most once per event: it makes one object per distinct
#: address, name, URL or e-mail address, where several fields (src_ip and dest_ip, a DNS name and
#: its answers) or list items may give the columns one value twice.
ONCE: frozenset[str] = frozenset(
    f"{t}:value" for t in ("ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr")
)
#: Paths the reader fills that columns do not (a domain's resolved addresses, the types of
#: referenced objects): an engine indexing any of them matches EVE event by event.
READER_ONLY: frozenset[Key] = frozenset(
    {
        ("domain-name", "resolves_to_refs[*].value"),
        ("domain-name", "resolves_to_refs[*].type"),
        ("network-traffic", "src_ref.type"),
        ("network-traffic", "dst_ref.type"),
        ("email-message", "from_ref.type"),
        ("email-message", "to_refs[*].type"),
    }
)


def eve_schema(keys: set[Key] | None = None) -> dict[str, Any]:
    """The EVE fields worth parsing for indexes over ``keys`` (all of them when None).

    Parsing fewer fields is cheaper (the parse is most of a run); alerts take the whole record
    from the raw line, so nothing else is lost.
    """
    fields: list[Path] = [
        path for path, feeds, _, _ in _EVE_VALUES if keys is None or any(k in keys for k in feeds)
    ]
    if keys is None or _URL in keys:
        fields.extend(_URL_FIELDS)
    tree: dict[str, Any] = {}  # not even the timestamp: alerts read it from the raw line
    for path in fields:
        _insert(tree, path)
    return {name: _dtype_of(spec) for name, spec in tree.items()}


def _insert(tree: dict[str, Any], path: Path) -> None:
    """Add a field to a schema tree: dicts are structs, a one-item list is a list of that item."""
    head, rest = path[0], path[1:]
    if not rest:
        tree[head] = pl.String
    elif rest[0] != "[]":
        _insert(tree.setdefault(head, {}), rest)
    elif len(rest) == 1:
        tree[head] = [pl.String]
    else:
        _insert(tree.setdefault(head, [{}])[0], rest[1:])


def _dtype_of(spec: Any) -> Any:
    if isinstance(spec, dict):
        return pl.Struct({k: _dtype_of(v) for k, v in spec.items()})
    if isinstance(spec, list):
        return pl.List(_dtype_of(spec[0]))
    return spec


def eve_expressions(df: pl.DataFrame) -> list[Column]:
    """(STIX object type, path key), column name, field, transform, field path for every value
    column EVE offers.

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
    out: list[Column] = []
    n = 0
    for path, feeds, name, transform in _EVE_VALUES:
        if _has(df, path):
            if not name:
                name, n = f"v{n}", n + 1
            out.extend((key, name, _col(path), transform, path) for key in feeds)
    if all(_has(df, f) for f in _URL_FIELDS):
        out.append((_URL, f"v{n}", _col(("http", "url")), _url_value, ("http", "url")))
    if len(_EXPRESSIONS) > 64:  # chunks of one file share a schema; a long-lived process sees few
        _EXPRESSIONS.clear()
    _EXPRESSIONS[shape] = out
    return out


_EXPRESSIONS: dict[tuple[tuple[str, Any], ...], list[Column]] = {}


def populated(df: pl.DataFrame, paths: list[Path]) -> set[Path]:
    """The paths where some row has a value (for a list field: a non-empty list).

    One small query per chunk: a chunk without DNS answers or e-mail then costs nothing for
    those columns.
    """
    checks: dict[Path, pl.Expr] = {}
    for path in dict.fromkeys(paths):
        if "[]" in path:
            whole = _col(path[: path.index("[]")])
            checks[path] = whole.list.len().fill_null(0).max() > 0
        else:
            checks[path] = _col(path).is_not_null().any()
    if not checks:
        return set()
    row = df.select([e.alias(str(i)) for i, e in enumerate(checks.values())]).row(0)
    return {path for path, yes in zip(checks, row, strict=True) if yes}


ADDRESS_COLUMNS = ("src", "dst", "rdata", "answers")  # value columns that may hold IPv6 texts
