"""Correlation on the observables index: shared values, CIDR containment, parent domains.

One row per shared value (``correlation``), never per object pair.  A value is
*shared* when at least two distinct latest, unrevoked objects state it; it is
``capped`` when more than ``cap`` objects do (listed for review, not linked) and
``warninglisted`` when a benign-values lookup knows it (flagged, not linked).
Containment is value-level (``correlation_edge``, built in ``containment.py``): an
IP inside a CIDR, a sub-domain, URL host or e-mail domain under a domain; the
parent's group is every object stating the parent or one of its children,
provided the parent itself is stated.

The full build is set-based SQL (GROUP BY over the covering ``(kind, value)``
index, then joins only for the few shared candidates); arrival of new objects
recomputes only the keys they touch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session, aliased

from colsec.db import is_sqlite
from colsec.intel.containment import Key, _bulk, _chunks, full_edges, insert_edges, new_edges
from colsec.intel.models import Correlation, CorrelationDomain, CorrelationEdge
from colsec.stix.ids import now_timestamp
from colsec.store.models import Observable, StixObject
from colsec.store.seqsets import seq_batches

# A large import writes a group per shared value (an indicator and its SCO share each value):
# executemany at the driver, no parameter processing per row.
_INSERT_GROUP = (
    "INSERT INTO correlation (key_hash, kind, value, n_objects, n_owners, status, warninglist, contains, "
    "updated_at) VALUES ({})"
)

__all__ = [
    "DEFAULT_CAP",
    "BenignLookup",
    "CorrelationConfig",
    "CorrelationStats",
    "Key",
    "correlate_new",
    "fill_temp_keys",
    "key_hash",
    "rebuild",
]

BenignLookup = Callable[[str, str], str | None]
"""``(kind, value) -> name of the warninglist that holds it, or None``."""

DEFAULT_CAP = 500


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

# SQLite's CROSS JOIN keeps the join order as written: the shared keys drive, one index probe
# each.  Left to choose, its planner walked the whole (kind, value) index and read the object
# row of every observable in the database, once per slice of an import (15 slices for a
# 200,000-attribute event): the step grew with the database, not with the keys.
_EXACT_SQL = text(
    "WITH sk AS MATERIALIZED (SELECT kind, value FROM corr_key k WHERE " + _SHARED + ") "
    "SELECT k.kind, k.value, count(DISTINCT s.id), count(DISTINCT s.owner_org_id) "
    "FROM sk k CROSS JOIN observable o CROSS JOIN stix_object s "
    "WHERE o.kind = k.kind AND o.value = k.value AND s.seq = o.object_seq "
    "AND s.is_latest AND NOT s.revoked GROUP BY k.kind, k.value"
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
    ") x CROSS JOIN observable o CROSS JOIN stix_object s "  # the group's values drive, as above
    "WHERE o.kind = x.ck AND o.value = x.cv AND s.seq = o.object_seq "
    "AND s.is_latest AND NOT s.revoked GROUP BY x.pk, x.pv "
    "HAVING sum(CASE WHEN x.ck = x.pk AND x.cv = x.pv THEN 1 ELSE 0 END) > 0 "
    "AND count(DISTINCT x.ck || ':' || x.cv) > 1"
)


def fill_temp_keys(db: Session, keys: Iterable[Key], *, add: bool = False) -> None:
    """Fill the session's temporary key table (joins beat long IN lists: one statement, no re-compiles);
    ``add`` adds keys (not already there) to those it holds."""
    if is_sqlite(db):
        db.execute(text("CREATE TEMP TABLE IF NOT EXISTS corr_key (kind TEXT, value TEXT, h TEXT)"))
    else:
        db.execute(
            text(
                "CREATE TEMP TABLE IF NOT EXISTS corr_key (kind TEXT, value TEXT, h TEXT) ON COMMIT DELETE ROWS"
            )
        )
    if not add:
        db.execute(text("DELETE FROM corr_key"))
    _bulk(
        db,
        "INSERT INTO corr_key (kind, value, h) VALUES ({})",
        [(k, v, key_hash(k, v)) for k, v in set(keys)],
    )
    if not is_sqlite(db):
        db.execute(text("ANALYZE corr_key"))


def _stats_for(db: Session, keys: Iterable[Key] | None) -> dict[Key, tuple[int, int, bool]]:
    """(n_objects, n_owners, has_children) per key, containment groups overriding exact ones;
    ``keys`` None: those the temporary key table holds."""
    stats: dict[Key, tuple[int, int, bool]] = {}
    if keys is not None:
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
    rows: list[tuple[Any, ...]] = []  # in _INSERT_GROUP's column order, straight to the driver
    for (kind, value), (n_obj, n_own, contains) in stats.items():
        if n_obj < 2:
            continue
        status, wl = _status(kind, value, n_obj, config)
        rows.append((key_hash(kind, value), kind, value, n_obj, n_own, status, wl, contains, now))
        if status == "active":
            out.active += 1
            out.changed.append((kind, value))
        elif status == "capped":
            out.capped += 1
            out.changed.append((kind, value))  # still active for a reader who sees few holders
        else:
            out.warninglisted += 1
        if len(rows) >= 10_000:  # a rebuild writes every group of the node: never all at once
            _bulk(db, _INSERT_GROUP, rows)
            rows = []
    _bulk(db, _INSERT_GROUP, rows)
    return out


# -- edges -----------------------------------------------------------------------------------


def rebuild(db: Session, *, config: CorrelationConfig | None = None) -> CorrelationStats:
    """Recompute every correlation from the observables index (set-based)."""
    config = config or CorrelationConfig()
    db.execute(delete(Correlation))
    db.execute(delete(CorrelationEdge))
    db.execute(delete(CorrelationDomain))
    n_edges = insert_edges(db, full_edges(db))
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
    """(new keys, keys of earlier versions of the same objects) for the inserted seqs.

    The earlier versions are found by a subquery over the same batch of sequences, not by
    lists of the new objects' ids (900 bound values a statement cost more to build than to run).
    """
    new: set[Key] = set()
    old: set[Key] = set()
    seqset = set(seqs)
    fresh = aliased(Observable)
    db.flush()
    conn = db.connection()  # plain rows: the ORM's per-row work was most of this for a large unit
    for batch in seq_batches(fresh.object_seq, seqs):
        new.update((k, v) for k, v in conn.execute(select(fresh.kind, fresh.value).where(batch)))
        for k, v, s in conn.execute(
            select(Observable.kind, Observable.value, Observable.object_seq)
            .join(StixObject, StixObject.seq == Observable.object_seq)
            .where(StixObject.id.in_(select(fresh.object_id).where(batch)), StixObject.is_latest.is_(False))
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
    n_edges = insert_edges(db, new_edges(db, new))
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
    fill_temp_keys(db, parents - touched, add=True)  # the touched keys are there already
    out = _write_groups(db, keys, _stats_for(db, None), config, keys_in_temp=True)
    db.execute(text("DELETE FROM corr_key"))
    out.edges = n_edges
    return out
