"""The engine's indexes against the exact evaluator, planted indicators on real logs, refresh, warninglists."""

from __future__ import annotations

import collections
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import stix2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from colsec.match.compiler import plan_pattern, required_literal
from colsec.match.engine import IndicatorRecord, MatchEngine
from colsec.match.evaluate import find_binding
from colsec.match.events import Event
from colsec.match.readers import read_file
from colsec.match.regex import compile_regex
from colsec.match.sightings import SightingAggregator
from colsec.stix.pattern_parse import parse_pattern

from .strategies import comparison_expression, scos

T0 = 1_700_000_000_000_000


def _event(objects: list[dict[str, Any]], ts: int = T0) -> Event:
    return Event(ts, {o["id"]: {k: v for k, v in o.items() if k != "id"} for o in objects}, "test", 1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exprs=st.lists(comparison_expression(), min_size=1, max_size=6), objects=scos("e"))
def test_engine_agrees_with_evaluator(exprs: list[str], objects: list[dict[str, Any]]) -> None:
    """Whatever anchors and indexes decide, alerts equal the evaluator's verdict per indicator."""
    patterns = [f"[{e}]" for e in exprs]
    engine = MatchEngine()
    engine.load(IndicatorRecord(f"indicator--{i}", p) for i, p in enumerate(patterns))
    ev = _event(objects)
    got = {a.indicator_id for a in engine.match([ev])}
    expected = {
        f"indicator--{i}"
        for i, p in enumerate(patterns)
        if find_binding(plan_pattern(parse_pattern(p)).ast, [ev.observation()]) is not None
    }
    assert got == expected


@given(st.text(alphabet="ab.c\\d+*?()[]|^$", max_size=12), st.text(alphabet="abc.d1", max_size=20))
@settings(max_examples=300, deadline=None)
def test_required_literal_is_really_required(regex: str, text: str) -> None:
    try:
        rx = compile_regex(regex)
    except ValueError:
        return
    lit = required_literal(regex)
    if lit is not None and rx.search(text) is not None:
        assert lit in text


@pytest.fixture
def telemetry(shared_data: Path) -> Path:
    return shared_data / "telemetry"


def test_planted_indicators_on_zeek_and_suricata(telemetry: Path) -> None:
    ID = {
        k: f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, k)}"
        for k in ("name", "answer", "client", "url", "never")
    }
    dns_path = telemetry / "zeek/wrccdc2018_dns.head10000.ndjson"
    records = [orjson.loads(line) for line in dns_path.read_bytes().splitlines()]
    queries = collections.Counter(r.get("query") for r in records)
    # a rare query name, an answer address and a client address known to be in the log
    name = next(q for q, n in sorted(queries.items(), key=lambda kv: kv[1]) if q and n >= 2)
    answer = next(a for r in records for a in r.get("answers", []) if a.count(".") == 3 and a[0].isdigit())
    client = records[123]["id.orig_h"]
    expected: collections.Counter[str] = collections.Counter()
    seen: dict[str, list[str]] = collections.defaultdict(list)  # indicator -> event times
    for r in records:
        hits = []
        # the name may be the query or a CNAME in the answers: both are domain-name objects
        if name in [r.get("query"), *r.get("answers", [])]:
            hits.append(ID["name"])
        if answer in r.get("answers", []):
            hits.append(ID["answer"])
        if r.get("id.orig_h") == client and r.get("id.resp_p") == 53:
            hits.append(ID["client"])
        for h in hits:
            expected[h] += 1
            seen[h].append(r["ts"])
    eve = telemetry / "suricata/suricata-verify/alert-testmyids.eve.ndjson"
    engine = MatchEngine()
    report = engine.load(
        [
            IndicatorRecord(ID["name"], f"[domain-name:value = '{name.upper()}']", owner="org", tlp="green"),
            IndicatorRecord(ID["answer"], f"[ipv4-addr:value = '{answer}']"),
            IndicatorRecord(
                ID["client"],
                f"[network-traffic:src_ref.value = '{client}' AND network-traffic:dst_port = 53]",
            ),
            IndicatorRecord(ID["url"], "[url:value = 'http://www.testmyids.com/']"),
            IndicatorRecord(ID["never"], "[domain-name:value = 'not-in-these-logs.example']"),
        ]
    )
    assert report.loaded == 5 and report.invalid == 0
    alerts = engine.match(list(read_file(dns_path))) + engine.match(list(read_file(eve)))
    got = collections.Counter(a.indicator_id for a in alerts)
    assert got == expected + collections.Counter({ID["url"]: 1})
    first = next(a for a in alerts if a.indicator_id == ID["name"]).to_json()
    assert first["owner"] == "org" and first["tlp"] == "green"
    assert first["matched"] == [{"path": "domain-name:value", "value": name}]

    # sightings: one per indicator per window (a day here: the DNS sample spans under one),
    # with the exact count and first/last event times, sighted by us; valid STIX 2.1
    sighter = "identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
    agg = SightingAggregator(sighter_identity=sighter, window_seconds=86_400)
    agg.add(alerts)
    sightings = {s["sighting_of_ref"]: s for s in agg.sightings()}
    assert {k: s["count"] for k, s in sightings.items()} == dict(got)
    assert len(agg) == len(sightings) == 4
    seen[ID["url"]] = ["2016-07-13T22:42:07.573103+00:00"]  # the one EVE alert's timestamp
    for ind, times in seen.items():
        first_last = (min(map(datetime.fromisoformat, times)), max(map(datetime.fromisoformat, times)))
        assert (
            tuple(datetime.fromisoformat(sightings[ind][k]) for k in ("first_seen", "last_seen"))
            == first_last
        )
    for body in sightings.values():
        assert body["where_sighted_refs"] == [sighter]
        stix2.parse(body, allow_custom=False)


def test_windowed_patterns() -> None:
    def ip(value: str, ts: int) -> Event:
        return _event([{"id": "a", "type": "ipv4-addr", "value": value}], ts)

    engine = MatchEngine()
    engine.load(
        [
            IndicatorRecord(
                "indicator--rep", "[ipv4-addr:value = '10.0.0.1'] REPEATS 3 TIMES WITHIN 10 SECONDS"
            ),
            IndicatorRecord(
                "indicator--seq", "[ipv4-addr:value = '10.0.0.2'] FOLLOWEDBY [ipv4-addr:value = '10.0.0.3']"
            ),
        ]
    )
    s = 1_000_000
    assert engine.match([ip("10.0.0.1", T0), ip("10.0.0.1", T0 + 20 * s), ip("10.0.0.1", T0 + 25 * s)]) == []
    alerts = engine.match([ip("10.0.0.1", T0 + 26 * s)])
    assert [a.indicator_id for a in alerts] == ["indicator--rep"] and len(alerts[0].events) == 3
    assert engine.match([ip("10.0.0.3", T0 + 30 * s)]) == []  # right side before left side
    assert engine.match([ip("10.0.0.2", T0 + 31 * s)]) == []
    alerts = engine.match([ip("10.0.0.3", T0 + 32 * s)])
    assert [a.indicator_id for a in alerts] == ["indicator--seq"]
    # only buffers holding events are expired; an event past every window empties them all
    assert engine.match([ip("10.0.0.1", T0 + 40 * s), ip("10.0.0.2", T0 + 41 * s)]) == []
    assert all(cx.buffer for cx in engine.complex.values())
    assert engine.match([ip("10.9.9.9", T0 + 2 * 3600 * s)]) == []
    assert not any(cx.buffer for cx in engine.complex.values())
    assert engine.match([ip("10.0.0.3", T0 + 2 * 3600 * s + 1)]) == []  # its left side expired


def test_incremental_refresh_and_validity() -> None:
    engine = MatchEngine()
    now = T0
    engine.load(
        [
            IndicatorRecord("indicator--a", "[domain-name:value = 'a.example']"),
            IndicatorRecord("indicator--old", "[domain-name:value = 'a.example']", valid_until=now - 1),
            IndicatorRecord("indicator--later", "[domain-name:value = 'a.example']", valid_from=now + 1),
            IndicatorRecord("indicator--rev", "[domain-name:value = 'a.example']", revoked=True),
        ],
        now=now,
    )
    ev = _event([{"id": "d", "type": "domain-name", "value": "a.example"}])
    assert [a.indicator_id for a in engine.match([ev])] == ["indicator--a"]
    assert engine.add(IndicatorRecord("indicator--b", "[domain-name:value = 'a.example']"), now=now)
    assert sorted(a.indicator_id for a in engine.match([ev])) == ["indicator--a", "indicator--b"]
    assert engine.remove("indicator--a")
    assert [a.indicator_id for a in engine.match([ev])] == ["indicator--b"]
    engine.add(IndicatorRecord("indicator--b", "[domain-name:value = 'a.example']", revoked=True), now=now)
    assert engine.match([ev]) == []


def test_equality_additions_are_folded_into_the_index() -> None:
    """Compound anchors of a bulk load, and incremental additions once they pile up, move into the
    sorted arrays (each addition kept aside costs a set probe over every column value); what was
    removed before or after the fold still never matches."""
    key = ("ipv4-addr", "value")
    engine = MatchEngine()
    engine.load(
        [
            IndicatorRecord("indicator--simple", "[ipv4-addr:value = '10.9.0.1']"),
            IndicatorRecord(
                "indicator--both", "[ipv4-addr:value = '10.9.0.2' AND ipv4-addr:value = '10.9.0.3']"
            ),
        ],
        now=T0,
    )
    assert engine.eq[key].extra == {} and len(engine.eq[key]) == 2  # one anchor per observation
    engine.apply(
        [
            IndicatorRecord(f"indicator--n{i}", f"[ipv4-addr:value = '10.8.{i // 256}.{i % 256}']")
            for i in range(100)
        ],
        now=T0,
    )
    assert len(engine.eq[key].extra) == 100  # a few stay aside: no rebuild per refresh
    engine.remove("indicator--n5")
    many = [
        IndicatorRecord(f"indicator--m{i}", f"[ipv4-addr:value = '10.7.{i // 256}.{i % 256}']")
        for i in range(2_100)
    ]
    engine.apply(many, now=T0)
    assert engine.eq[key].extra == {} and len(engine.eq[key]) == 2 + 100 + 2_100
    engine.remove("indicator--m7")

    def hits(value: str) -> list[str]:
        return sorted(
            a.indicator_id for a in engine.match([_event([{"id": "i", "type": "ipv4-addr", "value": value}])])
        )

    assert hits("10.9.0.1") == ["indicator--simple"]
    assert hits("10.8.0.9") == ["indicator--n9"]
    assert hits("10.8.0.5") == [] and hits("10.7.0.7") == []
    assert hits("10.7.1.4") == ["indicator--m260"]


def test_warninglisted_values_never_alert() -> None:
    benign = {("ipv4", "8.8.8.8"), ("domain", "google.com")}
    engine = MatchEngine(warninglist=lambda kind, value: (kind, value) in benign)
    report = engine.load(
        [
            IndicatorRecord("indicator--dns", "[ipv4-addr:value = '8.8.8.8']"),
            IndicatorRecord("indicator--like", "[domain-name:value LIKE '%google.com']"),
            IndicatorRecord("indicator--bad", "[ipv4-addr:value = '203.0.113.5']"),
        ]
    )
    assert report.warninglisted == 1
    ev = _event(
        [
            {"id": "1", "type": "ipv4-addr", "value": "8.8.8.8"},
            {"id": "2", "type": "ipv4-addr", "value": "203.0.113.5"},
            {"id": "3", "type": "domain-name", "value": "google.com"},
        ]
    )
    assert [a.indicator_id for a in engine.match([ev])] == ["indicator--bad"]
    assert engine.suppressed == 1


def test_hash_name_spellings_all_match() -> None:
    digest = "a" * 64
    engine = MatchEngine()
    spellings = ["SHA256", "sha256", "SHA_256", "'SHA-256'", "'sha-256'", "'sha2-256'"]
    report = engine.load(
        IndicatorRecord(f"indicator--{i}", f"[file:hashes.{s} = '{digest.upper()}']")
        for i, s in enumerate(spellings)
    )
    assert report.invalid == 0
    ev = _event([{"id": "f", "type": "file", "hashes": {"SHA-256": digest}}])
    assert len(engine.match([ev])) == len(spellings)


def test_sightings_aggregate_per_indicator_and_window() -> None:
    from stix2 import parse

    from colsec.match.sightings import SightingAggregator

    engine = MatchEngine()
    engine.load(
        [
            IndicatorRecord(
                "indicator--9a1c0d3e-5c2a-4e55-8a5e-3f0d8f1b2c01",
                "[ipv4-addr:value = '10.0.0.9']",
                tlp="amber",
            )
        ]
    )
    hour = 3_600_000_000
    base = T0 - T0 % hour
    events = [
        _event([{"id": "i", "type": "ipv4-addr", "value": "10.0.0.9"}], base + k * 600_000_000)
        for k in range(8)
    ]
    agg = SightingAggregator(sighter_identity="identity--0e2a5b49-3c7a-4f11-9d3b-5d6b8c1e2f30")
    agg.add(engine.match(events))
    sightings = agg.sightings()
    assert [s["count"] for s in sightings] == [6, 2]  # 00,10,..,50 then 60,70 minutes
    assert sightings[0]["where_sighted_refs"] == ["identity--0e2a5b49-3c7a-4f11-9d3b-5d6b8c1e2f30"]
    assert sightings[0]["first_seen"] < sightings[0]["last_seen"] < sightings[1]["first_seen"]
    for s in sightings:
        parse(s, allow_custom=False)  # valid STIX 2.1
    again = SightingAggregator(sighter_identity="identity--0e2a5b49-3c7a-4f11-9d3b-5d6b8c1e2f30")
    again.add(engine.match(events))
    assert [s["id"] for s in again.sightings()] == [s["id"] for s in sightings]


def test_quoted_keys_with_dots_are_evaluated_exactly() -> None:
    engine = MatchEngine()
    engine.load([IndicatorRecord("indicator--q", "[x-thing:'a.b' = 'v']")])
    hit = _event([{"id": "1", "type": "x-thing", "a.b": "v"}])
    miss = _event([{"id": "1", "type": "x-thing", "a": {"b": "v"}}])
    assert [a.indicator_id for a in engine.match([hit])] == ["indicator--q"]
    assert engine.match([miss]) == []
