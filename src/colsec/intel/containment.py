"""Value-level containment for correlation: which observed values lie inside which others.

An IP inside a stated CIDR, a sub-domain, URL host or e-mail domain under a stated domain: one
``correlation_edge`` row per (child, parent) pair of values, never per object.  The full build
walks the distinct values once; new values look up only their own parents and children, through
index range scans (reversed domains in ``correlation_domain``, dotted-quad prefixes for IPv4).
Apart from ``correlation.py``, which counts the objects behind each value and each parent's group,
because this half knows the shapes of addresses and names and nothing of objects.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

from sqlalchemy import Table, insert, select, text
from sqlalchemy.orm import Session

from colsec.db import is_sqlite
from colsec.intel.models import CorrelationEdge
from colsec.store.models import Observable

_CORRELATION_EDGE_TABLE = cast(Table, CorrelationEdge.__table__)  # Core inserts: no ORM bookkeeping per row

__all__ = ["Key", "full_edges", "host_of", "insert_edges", "new_edges", "parent_domains"]

Key = tuple[str, str]
_CHUNK = 900
_IP_KINDS = {"ipv4": "cidr4", "ipv6": "cidr6"}


def _edge_hash(kind: str, value: str, pkind: str, pvalue: str) -> str:
    return hashlib.blake2b(f"{kind}\x00{value}\x00{pkind}\x00{pvalue}".encode(), digest_size=16).hexdigest()


def parent_domains(domain: str) -> list[str]:
    """Ancestors with at least two labels: ``a.b.example.com`` → ``b.example.com``, ``example.com``."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(1, len(labels) - 1)]


def host_of(kind: str, value: str) -> str | None:
    """The domain a URL or e-mail address points into, or None (IP hosts are not domains)."""
    if kind == "email":
        host = value.rpartition("@")[2]
    elif kind == "url":
        # hand-rolled split (urlsplit costs ~10x as much, and the full build parses millions)
        rest = value.partition("://")[2] if "://" in value else value
        for sep in "/?#":
            rest = rest.partition(sep)[0]
        host = rest.rpartition("@")[2]
        if host.startswith("["):
            return None
        host = host.partition(":")[0]
    else:
        return None
    host = host.rstrip(".").lower()
    if not host or "." not in host or ":" in host or host.replace(".", "").isdigit():
        return None  # IP literal hosts are not domains
    return host


def _chunks(items: Sequence[Any], n: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _ipv4_prefix_range(net: ipaddress.IPv4Network) -> tuple[str, str] | None:
    """Index range of dotted-quad strings that can lie in ``net`` (octet-aligned superset)."""
    octets = net.prefixlen // 8
    if octets == 0:
        return None  # wider than a /8: too broad to correlate by containment
    prefix = ".".join(str(net.network_address).split(".")[:octets]) + "."
    return prefix, prefix[:-1] + "/"  # '/' sorts right after '.'


def _bulk(db: Session, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """executemany straight to the driver, no parameter processing: for temporary tables and for
    tables of plain text, numbers and booleans, written in the driver's own types."""
    if not rows:
        return
    mark = "?" if is_sqlite(db) else "%s"
    stmt = sql.format(", ".join([mark] * len(rows[0])))
    conn = db.connection()
    for chunk in _chunks(rows, 10_000):
        conn.exec_driver_sql(stmt, list(chunk))


def _by_kind(keys: Iterable[Key]) -> dict[str, list[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for k, v in keys:
        out[k].add(v)
    return {k: sorted(v) for k, v in out.items()}


def insert_edges(db: Session, edges: Iterable[tuple[str, str, str, str]]) -> int:
    """Insert edges not yet known (dedup by hash in SQL, no read-then-write race on the key)."""
    uniq = {_edge_hash(*e): e for e in edges}
    if not uniq:
        return 0
    known: set[str] = set()
    keys = list(uniq)
    for chunk in _chunks(keys):
        known.update(
            db.execute(
                select(CorrelationEdge.key_hash).where(CorrelationEdge.key_hash.in_(list(chunk)))
            ).scalars()
        )
    rows = [
        {"key_hash": h, "kind": e[0], "value": e[1], "parent_kind": e[2], "parent_value": e[3]}
        for h, e in uniq.items()
        if h not in known
    ]
    for chunk in _chunks(rows, 5000):
        db.execute(insert(_CORRELATION_EDGE_TABLE), list(chunk))
    return len(rows)


def _distinct_values(db: Session, kind: str) -> Iterator[str]:
    stmt = select(Observable.value).where(Observable.kind == kind).distinct()
    yield from db.execute(stmt.execution_options(yield_per=50_000)).scalars()


def _present(db: Session, kind: str, values: Iterable[str]) -> set[str]:
    vals = sorted(set(values))
    found: set[str] = set()
    for chunk in _chunks(vals):
        found.update(
            db.execute(
                select(Observable.value)
                .where(Observable.kind == kind, Observable.value.in_(list(chunk)))
                .distinct()
            ).scalars()
        )
    return found


def _ips_in(db: Session, kind: str, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[str]:
    stmt = select(Observable.value).where(Observable.kind == kind)
    if isinstance(net, ipaddress.IPv4Network):
        rng = _ipv4_prefix_range(net)
        if rng is None:
            return []
        stmt = stmt.where(Observable.value >= rng[0], Observable.value < rng[1])
    elif net.prefixlen < 16:
        return []
    out = []
    for v in db.execute(stmt.distinct()).scalars():
        try:
            if ipaddress.ip_address(v) in net:
                out.append(v)
        except ValueError:
            continue
    return out


def _network(kind: str, value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def full_edges(db: Session) -> list[tuple[str, str, str, str]]:
    edges: list[tuple[str, str, str, str]] = []
    _remember_all_domains(db)
    domains = set(_distinct_values(db, "domain"))
    for d in domains:
        for p in parent_domains(d):
            if p in domains:
                edges.append(("domain", d, "domain", p))
    for kind in ("url", "email"):
        for v in _distinct_values(db, kind):
            host = host_of(kind, v)
            if host is None:
                continue
            for p in (host, *parent_domains(host)):
                if p in domains:
                    edges.append((kind, v, "domain", p))
    del domains
    for ip_kind, cidr_kind in _IP_KINDS.items():
        for c in list(_distinct_values(db, cidr_kind)):
            net = _network(cidr_kind, c)
            if net is not None:
                edges.extend((ip_kind, ip, cidr_kind, c) for ip in _ips_in(db, ip_kind, net))
    return edges


def new_edges(db: Session, new: set[Key]) -> list[tuple[str, str, str, str]]:
    """Edges in which one of the new values is the child or the parent."""
    edges: list[tuple[str, str, str, str]] = []
    by_kind = _by_kind(new)
    # child → existing parent
    wanted: dict[str, list[tuple[str, str]]] = defaultdict(list)  # parent domain -> children
    for kind in ("domain", "url", "email"):
        for v in by_kind.get(kind, []):
            host = v if kind == "domain" else host_of(kind, v)
            if host is None:
                continue
            cands = parent_domains(host) if kind == "domain" else [host, *parent_domains(host)]
            for p in cands:
                wanted[p].append((kind, v))
    if wanted:
        for p in _present(db, "domain", wanted):
            edges.extend((k, v, "domain", p) for k, v in wanted[p])
    for ip_kind, cidr_kind in _IP_KINDS.items():
        ips = by_kind.get(ip_kind, [])
        if ips:
            # networks by (prefix length, network number): one dict probe per length per IP
            by_prefix: dict[tuple[int, int], list[str]] = defaultdict(list)
            for c in _distinct_values(db, cidr_kind):
                n = _network(cidr_kind, c)
                if n is not None:
                    by_prefix[
                        (n.prefixlen, int(n.network_address) >> (n.max_prefixlen - n.prefixlen))
                    ].append(c)
            lengths = sorted({plen for plen, _ in by_prefix})
            for ip in ips if lengths else ():
                addr = ipaddress.ip_address(ip)
                num, width = int(addr), addr.max_prefixlen
                for plen in lengths:
                    for c in by_prefix.get((plen, num >> (width - plen)), ()):
                        edges.append((ip_kind, ip, cidr_kind, c))
        # new parent → existing children
        for c in by_kind.get(cidr_kind, []):
            net = _network(cidr_kind, c)
            if net is not None:
                edges.extend((ip_kind, ip, cidr_kind, c) for ip in _ips_in(db, ip_kind, net))
    new_domains = by_kind.get("domain", [])
    if new_domains:
        edges.extend(_children_of(db, new_domains))
        _remember_domains(db, new_domains)
    return edges


def _remember_domains(db: Session, domains: Iterable[str]) -> None:
    rows = [(d[::-1],) for d in set(domains) if len(d) <= 260]
    _bulk(db, "INSERT INTO correlation_domain (rev) VALUES ({}) ON CONFLICT DO NOTHING", rows)


def _remember_all_domains(db: Session) -> None:
    """Fill the reversed-domain index from the observables in one statement."""
    fn = "reverse"
    if is_sqlite(db):
        raw: Any = db.connection().connection.driver_connection
        raw.create_function(
            "colsec_reverse", 1, lambda v: v[::-1] if isinstance(v, str) else v, deterministic=True
        )
        fn = "colsec_reverse"
    db.execute(
        text(
            f"INSERT INTO correlation_domain (rev) SELECT DISTINCT {fn}(value) FROM observable "
            "WHERE kind = 'domain' AND length(value) <= 260"
        )
    )


def _temp_ranges(db: Session, rows: list[tuple[str, str, str]]) -> None:
    """Fill the session's temporary table of (parent, lo, hi) ranges."""
    if is_sqlite(db):
        db.execute(text("CREATE TEMP TABLE IF NOT EXISTS corr_range (p TEXT, lo TEXT, hi TEXT)"))
    else:
        db.execute(
            text(
                "CREATE TEMP TABLE IF NOT EXISTS corr_range (p TEXT, lo TEXT, hi TEXT) ON COMMIT DELETE ROWS"
            )
        )
    db.execute(text("DELETE FROM corr_range"))
    _bulk(db, "INSERT INTO corr_range (p, lo, hi) VALUES ({})", rows)


def _children_of(db: Session, parents: list[str]) -> list[tuple[str, str, str, str]]:
    """Existing sub-domains, and URLs whose host is the parent, of newly stated domains.

    One statement each: index range scans driven by a temporary table of ranges.
    """
    edges: list[tuple[str, str, str, str]] = []
    pset = sorted(set(parents))
    _temp_ranges(db, [(p, p[::-1] + ".", p[::-1] + "/") for p in pset])
    for p, rev in db.execute(
        text(
            "SELECT t.p, d.rev FROM corr_range t JOIN correlation_domain d ON d.rev >= t.lo AND d.rev < t.hi"
        )
    ):
        edges.append(("domain", rev[::-1], "domain", p))
    _temp_ranges(
        db, [(p, f"{scheme}{p}/", f"{scheme}{p}0") for p in pset for scheme in ("http://", "https://")]
    )
    for p, url in db.execute(
        text(
            "SELECT t.p, o.value FROM corr_range t JOIN observable o "
            "ON o.kind = 'url' AND o.value >= t.lo AND o.value < t.hi"
        )
    ):
        edges.append(("url", url, "domain", p))
    db.execute(text("DELETE FROM corr_range"))
    return edges


# -- entry points ----------------------------------------------------------------------------
