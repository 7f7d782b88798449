"""Comparison tests of STIX patterning, compiled once per comparison.

Each comparison (``=``, ordered, ``IN``, ``LIKE``, ``MATCHES``, ``ISSUBSET``,
``ISSUPERSET``, with ``NOT``) becomes a plain predicate on one value, following
the type rules the reference matcher applies (numbers vs strings, timestamps,
binary literals, IPv4/IPv6 networks); the evaluator and the engine's
confirmation step share them through one cache.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Callable
from typing import Any

from colsec.match.regex import compile_like, compile_regex
from colsec.stix.pattern_ast import Comparison, Timestamp
from colsec.stix.pattern_parse import PatternSyntaxError, timestamp_micros

__all__ = ["PREDICATES", "Predicate", "PredicateCache", "compile_predicate"]

Predicate = Callable[[Any], bool]

# -- value tests ------------------------------------------------------------


def _is_num(v: object) -> bool:
    return (type(v) is int) or (type(v) is float)


def _latin1(text: str) -> bytes | None:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None


def _coerce_ts(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return Timestamp(timestamp_micros(value))
        except ValueError:
            return None
    return value


def _equal(value: Any, lit: Any) -> bool:
    tv, tl = type(value), type(lit)
    if tv is tl or (_is_num(value) and _is_num(lit)):
        return value == lit  # type: ignore[no-any-return]
    if tv is bytes and tl is str:
        return bool(_latin1(lit) == value)
    if tv is str and tl is bytes:
        return bool(_latin1(value) == lit)
    return False


_UNORDERED = object()


def _order(value: Any, lit: Any) -> int | object | None:
    """-1/0/1, None when the types cannot be ordered, _UNORDERED for a bad bytes/str pair."""
    tv, tl = type(value), type(lit)
    if not ((tv is tl and tv is not bool) or (_is_num(value) and _is_num(lit))):
        if tv is bytes and tl is str:
            lb = _latin1(lit)
            if lb is None:
                return _UNORDERED
            lit = lb
        elif tv is str and tl is bytes:
            vb = _latin1(value)
            if vb is None:
                return _UNORDERED
            value = vb
        else:
            return None
    return int((value > lit) - (value < lit))


def _parse_net(text: str) -> tuple[int, int, int] | None:
    """(version, network int, prefix length) of an address or CIDR block; None when invalid."""
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    return net.version, int(net.network_address), net.prefixlen


def _subnet_of(inner: str, outer: str) -> bool:
    a, b = _parse_net(inner), _parse_net(outer)
    if a is None or b is None or a[0] != b[0] or a[2] < b[2]:
        return False
    bits = 32 if a[0] == 4 else 128
    shift = bits - b[2]
    return (a[1] >> shift) == (b[1] >> shift)


def compile_predicate(comp: Comparison) -> Predicate:
    """A function value -> bool for one comparison (``NOT`` included)."""
    op, lit, neg = comp.op, comp.value, comp.negated
    test: Predicate
    if op in ("=", "!="):
        want = op == "="
        if isinstance(lit, Timestamp):

            def test(v: Any) -> bool:
                return _equal(_coerce_ts(v), lit) is want

        else:

            def test(v: Any) -> bool:
                return _equal(v, lit) is want

    elif op in ("<", "<=", ">", ">="):
        accept = {"<": (-1,), "<=": (-1, 0), ">": (1,), ">=": (1, 0)}[op]
        is_ts = isinstance(lit, Timestamp)

        def test(v: Any) -> bool:
            r = _order(_coerce_ts(v) if is_ts else v, lit)
            if r is None:
                # The reference treats incomparable types as false even under NOT.
                return False
            if r is _UNORDERED:
                return neg
            return (r in accept) is not neg

        return test
    elif op == "IN":
        members = lit if isinstance(lit, frozenset) else frozenset()
        ts_set = any(isinstance(m, Timestamp) for m in members)

        def test(v: Any) -> bool:
            if ts_set:
                v = _coerce_ts(v)
            try:
                return v in members
            except TypeError:
                return False

    elif op == "LIKE":
        pattern = unicodedata.normalize("NFC", str(lit))
        rx = compile_like(pattern)
        as_bytes = all(ord(c) < 256 for c in pattern)

        def test(v: Any) -> bool:
            if type(v) is bytes and as_bytes:
                try:
                    v = v.decode("utf-8")
                except UnicodeDecodeError:
                    return False
            if type(v) is not str:
                return False
            return rx.search(unicodedata.normalize("NFC", v)) is not None

    elif op == "MATCHES":
        pattern = unicodedata.normalize("NFC", str(lit))
        rx = compile_regex(pattern)
        bin_rx = compile_regex(_latin1(pattern) or b"", latin1=True) if _latin1(pattern) is not None else None

        def test(v: Any) -> bool:
            if type(v) is str:
                return rx.search(unicodedata.normalize("NFC", v)) is not None
            if type(v) is bytes and bin_rx is not None:
                return bin_rx.search(v) is not None
            return False

    elif op == "ISSUBSET":
        outer = str(lit)
        if _parse_net(outer) is None:
            raise PatternSyntaxError(f"ISSUBSET needs a CIDR block, got {outer!r}")

        def test(v: Any) -> bool:
            return type(v) is str and _subnet_of(v, outer)

    elif op == "ISSUPERSET":
        inner = str(lit)
        if _parse_net(inner) is None:
            raise PatternSyntaxError(f"ISSUPERSET needs an address or CIDR block, got {inner!r}")

        def test(v: Any) -> bool:
            return type(v) is str and _subnet_of(inner, v)

    elif op == "EXISTS":
        return lambda v: True
    else:  # pragma: no cover - the parser only produces the operators above
        raise PatternSyntaxError(f"unsupported operator {op}")
    if neg:
        inner_test = test
        return lambda v: not inner_test(v)
    return test


class PredicateCache:
    """Compiled predicates keyed by comparison node identity-equality."""

    def __init__(self) -> None:
        self._cache: dict[Comparison, Predicate] = {}

    def get(self, comp: Comparison) -> Predicate:
        pred = self._cache.get(comp)
        if pred is None:
            pred = self._cache[comp] = compile_predicate(comp)
        return pred


PREDICATES = PredicateCache()
