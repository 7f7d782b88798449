"""The post-import steps' cheaper statements give the rows the statements they replace gave.

Correlation's statements with the join order fixed give the groups the planner-chosen ones gave.

``correlation._EXACT_SQL`` and ``_CONTAIN_SQL`` name their join order (the keys drive) so the
step no longer walks the whole observables index once per slice.  The reference is the text
they had before.  Both count the same realistic unit (the shared MISP events held by two
members) plus planted cases the counts turn on: a CIDR holding addresses, a domain with
sub-domains, URL and e-mail hosts, a revoked object, an object's superseded version, a value
stated only once, a value past the cap; and a warninglisted value.  The slices' correlations
must be identical, on each backend; so must the keys a slice touches (``_keys_of_seqs``, which
finds earlier versions by a subquery where it used lists of ids).  Scores read by ranges of
sequences equal the scores read by the indicators' own seqs and ids, prior sightings included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from colsec.formats.service import import_source
from colsec.intel import correlation, scoring
from colsec.intel.hooks import IntelConfig, on_import
from colsec.intel.models import Correlation, IndicatorScore
from colsec.store.models import Observable, StixObject

from .conftest import Orgs, indicator, sighting

_EVENTS = ("asert_long_event", "circl_xorist_57c4445b", "existing_event_sednit", "misp_event")

_OLD_EXACT = text(
    "WITH sk AS MATERIALIZED (SELECT kind, value FROM corr_key k WHERE " + correlation._SHARED + ") "
    "SELECT o.kind, o.value, count(DISTINCT s.id), count(DISTINCT s.owner_org_id) "
    "FROM sk k JOIN observable o ON o.kind = k.kind AND o.value = k.value "
    "JOIN stix_object s ON s.seq = o.object_seq "
    "WHERE s.is_latest AND NOT s.revoked GROUP BY o.kind, o.value"
)
_OLD_CONTAIN = text(
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


def _old_keys_of_seqs(db: Session, seqs: list[int]) -> tuple[set[Any], set[Any]]:
    """The reference: the earlier versions found by lists of the new objects' ids."""
    new: set[Any] = set()
    ids: set[str] = set()
    for k, v, oid in db.execute(
        select(Observable.kind, Observable.value, Observable.object_id).where(Observable.object_seq.in_(seqs))
    ):
        new.add((k, v))
        ids.add(oid)
    old: set[Any] = set()
    for k, v, s in db.execute(
        select(Observable.kind, Observable.value, Observable.object_seq)
        .join(StixObject, StixObject.seq == Observable.object_seq)
        .where(StixObject.id.in_(sorted(ids)), StixObject.is_latest.is_(False))
    ):
        if s not in set(seqs):
            old.add((k, v))
    return new, old


def _planted(orgs: Orgs) -> None:
    a = [
        indicator("net", "cidr4", "203.0.113.0/24"),
        indicator("in-net-1", "ipv4", "203.0.113.5"),
        indicator("parent", "domain", "corp.example"),
        indicator("child", "domain", "mail.corp.example"),
        indicator("url", "url", "https://www.corp.example/login"),
        indicator("mail", "email", "ceo@corp.example"),
        indicator("revoked", "ipv4", "203.0.113.9", revoked=True),
        indicator("versioned", "ipv4", "203.0.113.10"),
        indicator("once", "ipv4", "192.0.2.200"),
        indicator("benign", "domain", "benign.example"),
        *(indicator(f"many-{i}", "sha256", "ab" * 32) for i in range(4)),
    ]
    orgs.add("A", a)
    later = "2026-11-22T10:00:00.000Z"
    orgs.add(
        "B",
        [
            indicator("in-net-2", "ipv4", "203.0.113.6"),
            indicator("child-b", "domain", "vpn.corp.example"),
            indicator("revoked-b", "ipv4", "203.0.113.9"),
            indicator("benign-b", "domain", "benign.example"),
            indicator("parent-b", "domain", "corp.example"),
        ],
    )
    moved = indicator("versioned", "ipv4", "203.0.113.11", created="2026-11-20T10:00:00.000Z")
    orgs.add("A", [{**moved, "modified": later}, indicator("versioned-b", "ipv4", "203.0.113.10")])


def _correlations(db: Session, seqs: list[int], config: IntelConfig) -> list[tuple[Any, ...]]:
    point = db.begin_nested()
    on_import(db, seqs, config=config)
    db.flush()
    rows = sorted(
        (c.kind, c.value, c.n_objects, c.n_owners, c.status, c.warninglist, c.contains)
        for c in db.execute(select(Correlation)).scalars()
    )
    point.rollback()
    return rows


def test_fixed_join_order_counts_what_the_planners_order_counted(
    db: Session, orgs: Orgs, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for short in ("A", "B"):
        for name in _EVENTS:
            data = (shared_data / "misp" / "events" / f"pymisp_{name}.json").read_bytes()
            import_source(db, actor=orgs.actor(short), data=data, owner_org_id=orgs(short).id)
    _planted(orgs)
    config = IntelConfig(cap=3, benign=lambda kind, value: "planted" if value == "benign.example" else None)
    every = sorted(db.execute(select(StixObject.seq)).scalars())
    # whole, in slices that split versions and groups apart, and only the planted objects
    cuts = (every, every[: len(every) // 3], every[len(every) // 3 :], every[-25:])
    for seqs in cuts:
        assert correlation._keys_of_seqs(db, seqs) == _old_keys_of_seqs(db, seqs)
        fixed = _correlations(db, seqs, config)
        monkeypatch.setattr(correlation, "_EXACT_SQL", _OLD_EXACT)
        monkeypatch.setattr(correlation, "_CONTAIN_SQL", _OLD_CONTAIN)
        planned = _correlations(db, seqs, config)
        monkeypatch.undo()
        assert fixed == planned
    new, old = correlation._keys_of_seqs(db, every[-3:])  # the planted object's new version
    assert ("ipv4", "203.0.113.10") in old and ("ipv4", "203.0.113.11") in new
    whole = _correlations(db, every, config)
    statuses = {row[4] for row in whole}
    assert statuses == {"active", "capped", "warninglisted"}
    assert any(row[6] for row in whole)  # containment groups
    assert ("ipv4", "203.0.113.9", 1) not in {row[:3] for row in whole}  # the revoked one not counted
    assert ("cidr4", "203.0.113.0/24") in {row[:2] for row in whole}


def _old_update_for_import(db: Session, seqs: list[int]) -> None:
    """The reference, as the step was: indicators scored by their own seqs and ids."""
    indicators: list[tuple[int, str, str]] = []
    sights: list[tuple[str, int, str]] = []
    for seq, oid, typ, body, latest in db.execute(
        select(StixObject.seq, StixObject.id, StixObject.type, StixObject.body, StixObject.is_latest).where(
            StixObject.seq.in_(seqs), StixObject.type.in_(["indicator", "sighting"])
        )
    ):
        if typ == "indicator" and latest:
            indicators.append((seq, oid, body))
        elif typ == "sighting":
            obj = orjson.loads(body)
            count = obj.get("count", 1)
            sights.append((obj["sighting_of_ref"], count, str(obj.get("last_seen") or obj.get("created"))))
    scoring.score_indicators(db, indicators)
    db.flush()
    scoring._apply_sightings(db, sights)


def _scores(db: Session, seqs: list[int], update: Any) -> list[tuple[Any, ...]]:
    point = db.begin_nested()
    update(db, seqs)
    db.flush()
    rows = sorted(
        (s.object_id, s.object_seq, s.kind, s.confidence, s.sightings, s.ref_time, s.base_score, s.expires_at)
        for s in db.execute(select(IndicatorScore)).scalars()
    )
    point.rollback()
    return rows


def test_scores_read_by_ranges_equal_scores_read_by_ids(
    db: Session, orgs: Orgs, shared_data: Path, intel_hook: IntelConfig
) -> None:
    for name in _EVENTS:
        data = (shared_data / "misp" / "events" / f"pymisp_{name}.json").read_bytes()
        import_source(db, actor=orgs.actor("A"), data=data, owner_org_id=orgs("A").id)
    _planted(orgs)
    seen = indicator("seen", "ipv4", "198.51.100.99", valid_until="2027-01-01T00:00:00.000Z")
    orgs.add("A", [seen, indicator("old", "domain", "old.example", revoked=True)])
    orgs.add("B", [sighting("seen-1", seen["id"], created="2026-11-23T10:00:00.000Z")])
    orgs.add("A", [{**seen, "modified": "2026-11-24T10:00:00.000Z", "confidence": 40}])  # sightings carried
    every = sorted(db.execute(select(StixObject.seq)).scalars())
    for seqs in (every, every[: len(every) // 2], every[-6:], every[-1:]):
        ranges = _scores(db, seqs, scoring.update_for_import)
        assert ranges == _scores(db, seqs, _old_update_for_import)
    whole = _scores(db, every, scoring.update_for_import)
    assert {row[2] for row in whole} >= {"ipv4", "domain", "sha256"}
    last = _scores(db, every[-1:], scoring.update_for_import)  # the new version alone
    assert any(row[0] == seen["id"] and row[4] == 1 and row[3] == 40 for row in last)  # its sighting kept
