"""Correlation on a fixture whose links are known by construction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.intel.containment import parent_domains
from colsec.intel.correlation import CorrelationConfig, correlate_new, rebuild
from colsec.intel.models import Correlation

from .conftest import Orgs, indicator


def _groups(db: Session) -> dict[tuple[str, str], tuple[int, int, str]]:
    rows = db.execute(select(Correlation)).scalars()
    return {(r.kind, r.value): (r.n_objects, r.n_owners, r.status) for r in rows}


def _fixture(orgs: Orgs) -> list[int]:
    seqs = orgs.add(
        "A",
        [
            indicator("a1", "ipv4", "198.51.100.7"),
            indicator("a2", "domain", "evil.example.com"),
            indicator("a3", "sha256", "a" * 64),
            indicator("a4", "email", "Boss@Example.org"),
            indicator("a5", "url", "http://cdn.bad.example.net/x.bin"),
            indicator("a6", "ipv4", "192.0.2.200"),  # alone: no link
            indicator("a7", "domain", "benign.example.com"),
        ],
    )
    seqs += orgs.add(
        "B",
        [
            indicator("b1", "ipv4", "198.51.100.7"),  # same IP as a1
            indicator("b2", "domain", "c2.evil.example.com"),  # child of a2
            indicator("b3", "sha256", "A" * 64),  # same hash (case-normalised)
            indicator("b4", "cidr4", "203.0.113.0/24"),  # contains c1
            indicator("b5", "domain", "bad.example.net"),  # host of a5
            indicator("b6", "domain", "benign.example.com"),
        ],
    )
    seqs += orgs.add(
        "C",
        [
            indicator("c1", "ipv4", "203.0.113.9"),
            indicator("c2", "email", "boss@example.org"),
            indicator("c3", "domain", "x.c2.evil.example.com"),  # grandchild of a2
            indicator("c4", "domain", "other.example.com"),  # sibling only: no link to evil
        ],
    )
    return seqs


EXPECTED = {
    ("ipv4", "198.51.100.7"): (2, 2, "active"),
    ("sha256", "a" * 64): (2, 2, "active"),
    ("email", "boss@example.org"): (2, 2, "active"),
    ("cidr4", "203.0.113.0/24"): (2, 2, "active"),
    ("domain", "evil.example.com"): (3, 3, "active"),  # a2 + b2 + c3
    ("domain", "c2.evil.example.com"): (2, 2, "active"),  # b2 + c3
    ("domain", "bad.example.net"): (2, 2, "active"),  # b5 + url a5
    ("domain", "benign.example.com"): (2, 2, "warninglisted"),
}


def _benign(kind: str, value: str) -> str | None:
    return "test-list" if (kind, value) == ("domain", "benign.example.com") else None


def test_parent_domains() -> None:
    assert parent_domains("a.b.example.com") == ["b.example.com", "example.com"]
    assert parent_domains("example.com") == []


def test_full_rebuild_finds_exactly_the_constructed_links(db: Session, orgs: Orgs) -> None:
    _fixture(orgs)
    stats = rebuild(db, config=CorrelationConfig(benign=_benign))
    assert _groups(db) == EXPECTED
    assert stats.warninglisted == 1
    assert ("domain", "benign.example.com") not in stats.changed


def test_incremental_equals_full(db: Session, orgs: Orgs) -> None:
    config = CorrelationConfig(benign=_benign)
    # arrival one organisation at a time, parents after children and children after parents
    seqs_a = orgs.add(
        "C", [indicator("c1", "ipv4", "203.0.113.9"), indicator("c3", "domain", "x.c2.evil.example.com")]
    )
    correlate_new(db, seqs_a, config=config)
    assert _groups(db) == {}
    _fixture_rest = _fixture(orgs)
    correlate_new(db, _fixture_rest, config=config)
    incremental = _groups(db)
    rebuild(db, config=config)
    assert incremental == _groups(db) == EXPECTED


def test_cap_lists_value_for_review(db: Session, orgs: Orgs) -> None:
    seqs: list[int] = []
    for i, org in enumerate(["A", "B", "C", "A", "B"]):
        seqs += orgs.add(org, [indicator(f"cap{i}", "ipv4", "192.0.2.1")])
    seqs += orgs.add("A", [indicator("x1", "ipv4", "192.0.2.2")])
    seqs += orgs.add("B", [indicator("x2", "ipv4", "192.0.2.2")])
    correlate_new(db, seqs, config=CorrelationConfig(cap=4))
    assert _groups(db) == {("ipv4", "192.0.2.1"): (5, 3, "capped"), ("ipv4", "192.0.2.2"): (2, 2, "active")}


def test_revoked_and_superseded_versions_leave_the_group(db: Session, orgs: Orgs) -> None:
    config = CorrelationConfig()
    seqs = orgs.add("A", [indicator("r1", "ipv4", "198.51.100.50")])
    seqs += orgs.add("B", [indicator("r2", "ipv4", "198.51.100.50")])
    correlate_new(db, seqs, config=config)
    assert _groups(db) == {("ipv4", "198.51.100.50"): (2, 2, "active")}
    newer = indicator("r2", "ipv4", "198.51.100.51", created="2026-11-20T10:00:00.000Z")
    newer["modified"] = "2026-11-21T10:00:00.000Z"
    correlate_new(db, orgs.add("B", [newer]), config=config)
    assert _groups(db) == {}
