"""Decay: scores follow the model over simulated time; expired indicators leave the active set."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.intel.models import IndicatorScore
from colsec.intel.scoring import (
    DECAY,
    THRESHOLD,
    active_indicator_filter,
    active_indicator_ids,
    base_score,
    expiry,
    score_at,
    update_for_import,
)
from colsec.stix.ids import format_timestamp, parse_timestamp
from colsec.store.models import StixObject

from .conftest import Orgs, indicator, sighting

T0 = "2026-11-01T00:00:00.000Z"


def _at(days: float) -> str:
    return format_timestamp(parse_timestamp(T0) + timedelta(days=days))


def test_polynomial_values() -> None:
    t0 = parse_timestamp(T0)
    # IPs: lifetime 30 d, speed 2 -> score = base * (1 - sqrt(t/30))
    assert score_at(80, "ipv4", t0, t0) == 80
    assert score_at(80, "ipv4", t0, t0 + timedelta(days=7.5)) == pytest.approx(80 * (1 - 0.5))
    assert score_at(80, "ipv4", t0, t0 + timedelta(days=30)) == 0
    # hashes: lifetime 365 d, speed 0.5 -> score = base * (1 - (t/365)^2)
    assert score_at(80, "sha256", t0, t0 + timedelta(days=182.5)) == pytest.approx(80 * 0.75)
    # monotone, and expiry is exactly where the score meets the threshold
    for kind in ("ipv4", "domain", "url", "sha256", "email", "default"):
        exp = expiry(90, kind, t0)
        assert score_at(90, kind, t0, exp) == pytest.approx(THRESHOLD)
        values = [
            score_at(90, kind, t0, t0 + timedelta(days=d))
            for d in range(0, int(DECAY[kind].lifetime_days) + 2)
        ]
        assert values == sorted(values, reverse=True)
    assert expiry(THRESHOLD - 1, "ipv4", t0) == t0
    assert base_score(70, 0) < base_score(70, 2) <= 100


def test_expired_indicators_leave_the_active_set(db: Session, orgs: Orgs) -> None:
    seqs = orgs.add(
        "A",
        [
            indicator("ip", "ipv4", "198.51.100.1", created=T0, confidence=90),
            indicator("hash", "sha256", "b" * 64, created=T0, confidence=90),
            indicator("weak", "domain", "weak.example.com", created=T0, confidence=20),
        ],
    )
    update_for_import(db, seqs)
    ids = {r.kind: r.object_id for r in db.execute(select(IndicatorScore)).scalars()}
    assert set(ids) == {"ipv4", "sha256", "domain"}
    # simulated time: the weak one is never active, the IP leaves after ~13 days, the hash stays
    assert active_indicator_ids(db, now=_at(1)) == {ids["ipv4"], ids["sha256"]}
    ip_exp = expiry(90, "ipv4", parse_timestamp(T0))
    assert 12 < (ip_exp - parse_timestamp(T0)).days < 14
    assert active_indicator_ids(db, now=_at(14)) == {ids["sha256"]}
    assert active_indicator_ids(db, now=_at(400)) == set()
    # the filter composes with other queries (what matching and exports call)
    n = db.execute(
        select(StixObject.id).where(StixObject.type == "indicator", active_indicator_filter(_at(14)))
    ).all()
    assert len(n) == 1


def test_sighting_refreshes_and_boosts(db: Session, orgs: Orgs) -> None:
    seqs = orgs.add("A", [indicator("ip2", "ipv4", "198.51.100.2", created=T0, confidence=60)])
    update_for_import(db, seqs)
    ind_id = db.execute(select(IndicatorScore.object_id)).scalar_one()
    assert active_indicator_ids(db, now=_at(20)) == set()
    seqs = orgs.add("B", [sighting("s1", ind_id, created=_at(15))])
    update_for_import(db, seqs)
    row = db.execute(select(IndicatorScore)).scalar_one()
    assert row.sightings == 1 and row.base_score == base_score(60, 1)
    assert row.ref_time == _at(15)
    assert active_indicator_ids(db, now=_at(20)) == {ind_id}
    assert active_indicator_ids(db, now=_at(15 + 30)) == set()
