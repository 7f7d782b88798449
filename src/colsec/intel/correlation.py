"""Correlation on the observables index: shared values, CIDR containment, parent domains.

One row per shared value (``correlation``), never per object pair.  A value is
*shared* when at least two distinct latest, unrevoked objects state it; it is
``capped`` when more than ``cap`` objects do (listed for review, not linked) and
``warninglisted`` when a benign-values lookup knows it (flagged, not linked).
Containment is value-level (``correlation_edge``): an IP inside a CIDR, a
sub-domain, URL host or e-mail domain under a domain; the parent's group is
every object stating the parent or one of its children, provided the parent
itself is stated.

The full build is set-based SQL (GROUP BY over the covering ``(kind, value)``
index, then joins only for the few shared candidates); arrival of new objects
recomputes only the keys they touch.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from colsec.db import is_sqlite
from colsec.intel.models import Correlation, CorrelationDomain, CorrelationEdge
from colsec.stix.ids import now_timestamp
from colsec.store.models import Observable, StixObject

__all__ = [
    "DEFAULT_CAP",
    "BenignLookup",
    "CorrelationConfig",
    "CorrelationStats",
    "Key",
    "correlate_new",
    "fill_temp_keys",
    "key_hash",
    "parent_domains",
    "rebuild",
]

Key = tuple[str, str]
BenignLookup = Callable[[str, str], str | None]
"""``(kind, value) -> name of the warninglist that holds it, or None``."""

DEFAULT_CAP = 500
_CHUNK = 900
_IP_KINDS = {"ipv4": "cidr4", "ipv6": "cidr6"}


@dataclass
class CorrelationConfig:
    cap: int = DEFAULT_CAP
    benign: BenignLookup | None = None


@dataclass
class CorrelationStats:
    active: int = 0
    capped: int = 0
    warninglisted: int = 0
    edges: int = 0
    changed: list[Key] = field(default_factory=list)  # keys whose group is (now) active or capped


def key_hash(kind: str, value: str) -> str:
    return hashlib.blake2b(f"{kind}\x00{value}".encode(), digest_size=16).hexdigest()


def _edge_hash(kind: str, value: str, pkind: str, pvalue: str) -> str:
    return hashlib.blake2b(f"{kind}\x00{value}\x00{pkind}\x00{pvalue}".encode(), digest_size=16).hexdigest()


def parent_domains(domain: str) -> list[str]:
    """Ancestors with at least two labels: ``a.b.example.com`` → ``b.example.com``, ``example.com``."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(1, len(labels) - 1)]


def _host_of(kind: str, value: str) -> str | None:
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


def _status(kind: str, value: str, n_objects: int, config: CorrelationConfig) -> tuple[str, str | None]:
    if config.benign is not None:
        hit = config.benign(kind, value)
        if hit:
            return "warninglisted", hit
    if n_objects > config.cap:
        return "capped", None
    return "active", None


# -- statistics ------------------------------------------------------------------------------

# Most keys of an import are stated once: a count over the covering (kind, value) index skips
# them before any row of observable or stix_object is read.
_SHARED = "(SELECT count(*) FROM observable o2 WHERE o2.kind = k.kind AND o2.value = k.value) > 1"

_EXACT_SQL = text(
    "WITH sk AS MATERIALIZED (SELECT kind, value FROM corr_key k WHERE " + _SHARED + ") "
    "SELECT o.kind, o.value, count(DISTINCT s.id), count(DISTINCT s.owner_org_id) "
    "FROM sk k JOIN observable o ON o.kind = k.kind AND o.value = k.value "
    "JOIN stix_object s ON s.seq = o.object_seq "
    "WHERE s.is_latest AND NOT s.revoked GROUP BY o.kind, o.value"
)

# PostgreSQL's planner prefers hashing the whole observables table against a few thousand keys;
# LATERAL (with OFFSET 0 as a fence against flattening) keeps it to one index probe per key.
_EXACT_SQL_PG = text(
    "WITH sk AS MATERIALIZED (SELECT kind, value FROM corr_key k WHERE " + _SHARED + ") "
    "SELECT k.kind, k.value, count(DISTINCT s.id), count(DISTINCT s.owner_org_id) "
    "FROM sk k CROSS JOIN LATERAL ("
    "  SELECT o.object_seq FROM observable o WHERE o.kind = k.kind AND o.value = k.value OFFSET 0"
    ") o JOIN stix_object s ON s.seq = o.object_seq "
    "WHERE s.is_latest AND NOT s.revoked GROUP BY k.kind, k.value"
)

_CONTAIN_SQL = text(
    "SELECT x.pk, x.pv, count(DISTINCT s.id), count(DISTINCT s.owner_org_id) FROM ("
    "  SELECT e.parent_kind AS pk, e.parent_value AS pv, e.kind AS ck, e.value AS cv"
    "  FROM corr_key k JOIN correlation_edge e ON e.parent_kind = k.kind AND e.parent_value = k.value"
    "  WHERE k.kind IN ('domain', 'cidr4', 'cidr6')"
    "  UNION SELECT e.parent_kind, e.parent_value, e.parent_kind, e.parent_value"
    "  FROM corr_key k JOIN correlation_edge e ON e.parent_kind = k.kind AND e.parent_value = k.value"
    "  WHERE k.kind IN ('domain', 'cidr4', 'cidr6')"
    ") x JOIN observable o ON o.kind = x.ck AND o.value = x.cv "
    "JOIN stix_object s ON s.seq = o.object_seq "
    "WHERE s.is_latest AND NOT s.revoked GROUP BY x.pk, x.pv "
    "HAVING sum(CASE WHEN x.ck = x.pk AND x.cv = x.pv THEN 1 ELSE 0 END) > 0 "
    "AND count(DISTINCT x.ck || ':' || x.cv) > 1"
)


def _bulk(db: Session, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """executemany straight to the driver (temporary tables only; no ORM parameter processing)."""
    if not rows:
        return
    mark = "?" if is_sqlite(db) else "%s"
    stmt = sql.format(", ".join([mark] * len(rows[0])))
    conn = db.connection()
    for chunk in _chunks(rows, 10_000):
        conn.exec_driver_sql(stmt, list(chunk))


def fill_temp_keys(db: Session, keys: Iterable[Key]) -> None:
    """Fill the session's temporary key table (joins beat long IN lists: one statement, no re-compiles)."""
    if is_sqlite(db):
        db.execute(text("CREATE TEMP TABLE IF NOT EXISTS corr_key (kind TEXT, value TEXT, h TEXT)"))
    else:
        db.execute(
            text(
                "CREATE TEMP TABLE IF NOT EXISTS corr_key (kind TEXT, value TEXT, h TEXT) ON COMMIT DELETE ROWS"
            )
        )
    db.execute(text("DELETE FROM corr_key"))
    _bulk(
        db,
        "INSERT INTO corr_key (kind, value, h) VALUES ({})",
        [(k, v, key_hash(k, v)) for k, v in set(keys)],
    )
    if not is_sqlite(db):
        db.execute(text("ANALYZE corr_key"))


def _by_kind(keys: Iterable[Key]) -> dict[str, list[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for k, v in keys:
        out[k].add(v)
    return {k: sorted(v) for k, v in out.items()}


def _stats_for(db: Session, keys: Iterable[Key]) -> dict[Key, tuple[int, int, bool]]:
    """(n_objects, n_owners, has_children) per key, containment groups overriding exact ones."""
    stats: dict[Key, tuple[int, int, bool]] = {}
    fill_temp_keys(db, keys)
    for k, v, n_obj, n_own in db.execute(_EXACT_SQL if is_sqlite(db) else _EXACT_SQL_PG):
        stats[(k, v)] = (int(n_obj), int(n_own), False)
    for k, v, n_obj, n_own in db.execute(_CONTAIN_SQL):
        stats[(k, v)] = (int(n_obj), int(n_own), True)
    return stats


def _write_groups(
    db: Session,
    keys: Iterable[Key],
    stats: dict[Key, tuple[int, int, bool]],
    config: CorrelationConfig,
    *,
    keys_in_temp: bool = False,
) -> CorrelationStats:
    """Replace the correlation rows of ``keys`` by the fresh statistics."""
    out = CorrelationStats()
    if keys_in_temp:
        db.execute(text("DELETE FROM correlation WHERE key_hash IN (SELECT h FROM corr_key)"))
    else:
        for chunk in _chunks([key_hash(k, v) for k, v in keys]):
            db.execute(delete(Correlation).where(Correlation.key_hash.in_(list(chunk))))
    now = now_timestamp()
    rows: list[dict[str, Any]] = []
    for (kind, value), (n_obj, n_own, contains) in stats.items():
        if n_obj < 2:
            continue
        status, wl = _status(kind, value, n_obj, config)
        rows.append(
            {
                "key_hash": key_hash(kind, value), "kind": kind, "value": value, "n_objects": n_obj,
                "n_owners": n_own, "status": status, "warninglist": wl, "contains": contains, "updated_at": now,
            }
        )  # fmt: skip
        if status == "active":
            out.active += 1
            out.changed.append((kind, value))
        elif status == "capped":
            out.capped += 1
            out.changed.append((kind, value))  # still active for a reader who sees few holders
        else:
            out.warninglisted += 1
        if len(rows) >= 5000:
            db.execute(insert(Correlation), rows)
            rows = []
    if rows:
        db.execute(insert(Correlation), rows)
    return out


# -- edges -----------------------------------------------------------------------------------


def _insert_edges(db: Session, edges: Iterable[tuple[str, str, str, str]]) -> int:
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
        db.execute(insert(CorrelationEdge), list(chunk))
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


def _full_edges(db: Session) -> list[tuple[str, str, str, str]]:
    edges: list[tuple[str, str, str, str]] = []
    _remember_all_domains(db)
    domains = set(_distinct_values(db, "domain"))
    for d in domains:
        for p in parent_domains(d):
            if p in domains:
                edges.append(("domain", d, "domain", p))
    for kind in ("url", "email"):
        for v in _distinct_values(db, kind):
            host = _host_of(kind, v)
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


def _new_edges(db: Session, new: set[Key]) -> list[tuple[str, str, str, str]]:
    """Edges in which one of the new values is the child or the parent."""
    edges: list[tuple[str, str, str, str]] = []
    by_kind = _by_kind(new)
    # child → existing parent
    wanted: dict[str, list[tuple[str, str]]] = defaultdict(list)  # parent domain -> children
    for kind in ("domain", "url", "email"):
        for v in by_kind.get(kind, []):
            host = v if kind == "domain" else _host_of(kind, v)
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


def rebuild(db: Session, *, config: CorrelationConfig | None = None) -> CorrelationStats:
    """Recompute every correlation from the observables index (set-based)."""
    config = config or CorrelationConfig()
    db.execute(delete(Correlation))
    db.execute(delete(CorrelationEdge))
    db.execute(delete(CorrelationDomain))
    n_edges = _insert_edges(db, _full_edges(db))
    db.execute(text("DROP TABLE IF EXISTS corr_candidate"))
    db.execute(
        text(
            "CREATE TEMPORARY TABLE corr_candidate AS "
            "SELECT kind, value FROM observable GROUP BY kind, value HAVING count(*) > 1"
        )
    )
    stats: dict[Key, tuple[int, int, bool]] = {}
    rows = db.execute(
        text(
            "SELECT c.kind, c.value, count(DISTINCT s.id), count(DISTINCT s.owner_org_id) "
            "FROM corr_candidate c JOIN observable o ON o.kind = c.kind AND o.value = c.value "
            "JOIN stix_object s ON s.seq = o.object_seq WHERE s.is_latest AND NOT s.revoked "
            "GROUP BY c.kind, c.value HAVING count(DISTINCT s.id) > 1"
        ).execution_options(yield_per=50_000)
    )
    for k, v, n_obj, n_own in rows:
        stats[(k, v)] = (int(n_obj), int(n_own), False)
    db.execute(text("DROP TABLE corr_candidate"))
    if n_edges:
        contain = text(
            "SELECT x.pk, x.pv, count(DISTINCT s.id), count(DISTINCT s.owner_org_id) FROM ("
            "  SELECT parent_kind AS pk, parent_value AS pv, kind AS ck, value AS cv FROM correlation_edge"
            "  UNION SELECT DISTINCT parent_kind, parent_value, parent_kind, parent_value FROM correlation_edge"
            ") x JOIN observable o ON o.kind = x.ck AND o.value = x.cv "
            "JOIN stix_object s ON s.seq = o.object_seq "
            "WHERE s.is_latest AND NOT s.revoked GROUP BY x.pk, x.pv HAVING count(DISTINCT s.id) > 1 "
            "AND sum(CASE WHEN x.ck = x.pk AND x.cv = x.pv THEN 1 ELSE 0 END) > 0"
        )
        for k, v, n_obj, n_own in db.execute(contain):
            stats[(k, v)] = (int(n_obj), int(n_own), True)
    out = _write_groups(db, list(stats), stats, config)
    out.edges = n_edges
    return out


def _keys_of_seqs(db: Session, seqs: Sequence[int]) -> tuple[set[Key], set[Key]]:
    """(new keys, keys of earlier versions of the same objects) for the inserted seqs."""
    new: set[Key] = set()
    ids: set[str] = set()
    for chunk in _chunks(list(seqs)):
        for k, v, oid in db.execute(
            select(Observable.kind, Observable.value, Observable.object_id).where(
                Observable.object_seq.in_(list(chunk))
            )
        ):
            new.add((k, v))
            ids.add(oid)
    old: set[Key] = set()
    seqset = set(seqs)
    for chunk in _chunks(sorted(ids)):
        for k, v, s in db.execute(
            select(Observable.kind, Observable.value, Observable.object_seq)
            .join(StixObject, StixObject.seq == Observable.object_seq)
            .where(StixObject.id.in_(list(chunk)), StixObject.is_latest.is_(False))
        ):
            if s not in seqset:
                old.add((k, v))
    return new, old


def correlate_new(
    db: Session, seqs: Sequence[int], *, config: CorrelationConfig | None = None
) -> CorrelationStats:
    """Correlate freshly inserted object versions: only the keys they touch are recomputed."""
    config = config or CorrelationConfig()
    new, old = _keys_of_seqs(db, seqs)
    if not new and not old:
        return CorrelationStats()
    n_edges = _insert_edges(db, _new_edges(db, new))
    touched = new | old
    parents: set[Key] = set()
    fill_temp_keys(db, touched)
    for pk, pv in db.execute(
        text(
            "SELECT DISTINCT e.parent_kind, e.parent_value FROM corr_key k "
            "JOIN correlation_edge e ON e.kind = k.kind AND e.value = k.value"
        )
    ):
        parents.add((pk, pv))
    keys = touched | parents
    out = _write_groups(db, keys, _stats_for(db, keys), config, keys_in_temp=True)
    db.execute(text("DELETE FROM corr_key"))
    out.edges = n_edges
    return out
