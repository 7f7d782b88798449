"""A format's column table: source fields, the STIX keys the reader fills from each, and the
normalisation it applies (each transform mirrors one ``EventBuilder`` method)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from colsec.match.readers import ReaderFormat

Key = tuple[str, str]
Transform = Callable[[pl.Expr], pl.Expr]

# -- transforms: each mirrors one EventBuilder method (values only; refusals are left to the reader)


def raw(v: pl.Expr) -> pl.Expr:
    return v


#: every character Python's ``str.strip`` strips: polars' ``strip_chars()`` keeps \x1c..\x1f
#: (Rust's White_Space), and a value padded with them would be missed
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def py_strip(v: pl.Expr) -> pl.Expr:
    return v.str.strip_chars(PY_WHITESPACE)


def strip(v: pl.Expr) -> pl.Expr:
    """``EventBuilder.ip`` and ``url``: the text stripped (IPv6 made canonical afterwards)."""
    return py_strip(v)


def domain(v: pl.Expr) -> pl.Expr:
    return py_strip(v).str.strip_chars_end(".").str.to_lowercase()


def lower(v: pl.Expr) -> pl.Expr:
    return v.str.to_lowercase()


def hash_value(v: pl.Expr) -> pl.Expr:
    return py_strip(v).str.to_lowercase()


def basename(v: pl.Expr) -> pl.Expr:
    return v.str.replace(r"^.*[/\\]", "")


def after_backslash(v: pl.Expr) -> pl.Expr:
    return v.str.replace(r"^.*\\", "")


def email(v: pl.Expr) -> pl.Expr:
    text = py_strip(v)
    inner = text.str.extract(r"<([^<]*)>$", 1)
    return py_strip(pl.coalesce(inner, text)).str.to_lowercase()


def fingerprint(v: pl.Expr) -> pl.Expr:
    return v.str.replace_all(":", "", literal=True).str.to_lowercase()


#: the transforms on text known to hold no whitespace (``lines.unspaced``): the stripping is
#: then a no-op, and skipping it saves a copy of every value (a third of a CSV chunk's cost)
UNSPACED: dict[Transform, Transform] = {
    strip: raw,
    domain: lambda v: v.str.strip_chars_end(".").str.to_lowercase(),
    hash_value: lower,
}


def sysmon_hash(algo: str) -> Transform:
    """One algorithm out of Sysmon's ``SHA1=..,MD5=..,SHA256=..``."""

    def transform(v: pl.Expr) -> pl.Expr:
        return v.str.extract(rf"(?i)(?:^|,)\s*{algo}\s*=([^,]*)", 1).str.strip_chars().str.to_lowercase()

    return transform


def query_results(v: pl.Expr) -> pl.Expr:
    """Sysmon 22 ``QueryResults``: the addresses among the ``;``-separated answers."""
    return v.str.split(";").list.eval(py_strip(pl.element()))


ADDR: tuple[Key, ...] = (("ipv4-addr", "value"), ("ipv6-addr", "value"))
SRC = (*ADDR, ("network-traffic", "src_ref.value"))
DST = (*ADDR, ("network-traffic", "dst_ref.value"))
PROTO: tuple[Key, ...] = (("network-traffic", "protocols[*]"),)
DOMAIN: tuple[Key, ...] = (("domain-name", "value"),)
URL: tuple[Key, ...] = (("url", "value"),)
HTTP = "extensions.http-request-ext."
X509 = "x509-certificate"
HASHES = ("MD5", "SHA-1", "SHA-256", "SHA-512")
#: keys whose values may be IPv6 texts (made canonical as ``EventBuilder.ip`` makes them)
ADDRESS_KEYS = frozenset({*ADDR, ("network-traffic", "src_ref.value"), ("network-traffic", "dst_ref.value")})


@dataclass(frozen=True)
class Feed:
    """A source field, the keys the reader fills from it, and how it normalises the value.

    ``listed``: the field may hold a list of values (JSON array, Zeek set), each a value.
    ``addresses``: only the values the reader takes for an address (``looks_like_address``:
    True) or only the others (False), as it reads a DNS answer as one or the other; None: all.
    """

    field: str
    keys: tuple[Key, ...]
    transform: Transform = raw
    listed: bool = False
    addresses: bool | None = None


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
