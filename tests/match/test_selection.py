"""Issue 17: matching and sensor exports share one indicator selection that names every exclusion.

Decayed indicators used to be left out while the summary said "0 inactive", and sensor
exports carried expired and never-active indicators that matching ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from colsec.db import Database
from colsec.formats.registry import ExportFormat
from colsec.formats.service import ExportFilter, export_selection
from colsec.match.selection import Mode, parse_at
from colsec.match.service import build_engine
from colsec.stix.ids import now_timestamp
from colsec.stix.tlp import TLP, marking_id
from colsec.store.service import import_objects

Account = Any  # tests/conftest.py Account

ZEEK_DNS = (
    '{"_path":"dns","ts":"2018-03-24T17:15:20.865716Z","uid":"C1","id.orig_h":"192.0.2.10","id.orig_p":41772,'
    '"id.resp_h":"192.0.2.53","id.resp_p":53,"proto":"udp","query":"old.example.com",'
    '"answers":["198.51.100.9"]}\n'
)


def indicator(value: str, tlp: TLP = TLP.AMBER, when: str | None = None, **extra: Any) -> dict[str, Any]:
    stamp = when or now_timestamp()
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": stamp,
        "modified": stamp,
        "pattern": f"[ipv4-addr:value = '{value}']",
        "pattern_type": "stix",
        "valid_from": stamp,
        "object_marking_refs": [marking_id(tlp)],
        **extra,
    }


def seed(client: TestClient, make_account: Callable[..., Account]) -> tuple[Account, dict[str, str]]:
    """Imported through the app's node, so its post-import steps (scores, decay) run on them."""
    database: Database = client.app.state.node.database  # type: ignore[attr-defined]
    a = make_account(org="ORG-A")
    b = make_account(org="ORG-B")
    objs = {
        "live": indicator("198.51.100.1"),
        "decayed": indicator("198.51.100.9", when="2020-01-01T00:00:00.000Z"),  # IPs decay in 30 days
        "expired": indicator(
            "198.51.100.2",
            when="2025-01-01T00:00:00.000Z",
            valid_until="2025-02-01T00:00:00.000Z",
            confidence=100,
        ),
        "future": indicator("198.51.100.3", valid_from="2099-01-01T00:00:00Z"),
        "revoked": indicator("198.51.100.4", revoked=True),
    }
    red = indicator("198.51.100.5", TLP.RED)
    with database.unit_of_work() as s:
        import_objects(s, actor=a.actor, objects=list(objs.values()))
        import_objects(s, actor=b.actor, objects=[red])
    return a, {**{k: v["id"] for k, v in objs.items()}, "red_other": red["id"]}


def test_every_exclusion_is_counted_and_named(
    client: TestClient, database: Database, make_account: Callable[..., Account]
) -> None:
    a, ids = seed(client, make_account)
    with database.unit_of_work(write=False) as s:
        engine, report = build_engine(s, actor=a.actor)
        retro, retro_report = build_engine(s, actor=a.actor, mode=Mode.RETRO)
        then, _ = build_engine(s, actor=a.actor, mode=Mode.AT, now=parse_at("2025-01-15"))
    assert set(engine.indicator_ids()) == {ids["live"]}
    ex = report.excluded
    assert ex is not None
    assert (ex.decayed, ex.expired, ex.not_yet_valid, ex.revoked) == (
        [ids["decayed"]],
        [ids["expired"]],
        [ids["future"]],
        [ids["revoked"]],
    )
    assert ex.not_visible == 1 and ids["red_other"] not in str(ex.to_json())  # a count, never the id
    # retro-hunt: every non-revoked indicator, whatever its validity or decay
    assert set(retro.indicator_ids()) == {ids["live"], ids["decayed"], ids["expired"], ids["future"]}
    assert retro_report.excluded is not None and retro_report.excluded.decayed == []
    # the set in force on 2025-01-15: only the one valid in January 2025
    assert set(then.indicator_ids()) == {ids["expired"]}


def test_api_reports_exclusions_and_takes_retro_and_at(
    client: TestClient, database: Database, make_account: Callable[..., Account]
) -> None:
    a, ids = seed(client, make_account)
    r = client.post("/api/v1/match?format=zeek-json", content=ZEEK_DNS, headers=a.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "active" and body["alerts_total"] == 0
    assert body["excluded"]["decayed"] == {"count": 1, "ids": [ids["decayed"]]}
    assert body["excluded"]["not_visible"] == {"count": 1}
    assert body["excluded"]["warninglisted"]["count"] == 0
    r = client.post(
        "/api/v1/match?format=zeek-json&retro=true&sightings=false", content=ZEEK_DNS, headers=a.headers
    )
    assert r.status_code == 200 and r.json()["mode"] == "retro"
    assert [al["indicator_id"] for al in r.json()["alerts"]] == [ids["decayed"]]  # the old log matches now
    r = client.post(
        "/api/v1/match?format=zeek-json&at=2020-01-02&sightings=false", content=ZEEK_DNS, headers=a.headers
    )
    assert r.status_code == 200 and [al["indicator_id"] for al in r.json()["alerts"]] == [ids["decayed"]]
    both = client.post("/api/v1/match?retro=true&at=2020-01-02", content=ZEEK_DNS, headers=a.headers)
    assert both.status_code == 422 and "not both" in both.text
    bad = client.post("/api/v1/match?at=last-week", content=ZEEK_DNS, headers=a.headers)
    assert bad.status_code == 422 and "invalid time 'last-week'" in bad.text


def test_sensor_exports_carry_the_matching_set_or_all(
    client: TestClient, database: Database, make_account: Callable[..., Account]
) -> None:
    a, _ = seed(client, make_account)
    with database.unit_of_work(write=False) as s:
        active = export_selection(s, actor=a.actor, fmt=ExportFormat.VALUES, flt=ExportFilter())
        everything = export_selection(
            s, actor=a.actor, fmt=ExportFormat.VALUES, flt=ExportFilter(all_indicators=True)
        )
        zeek = export_selection(s, actor=a.actor, fmt=ExportFormat.ZEEK, flt=ExportFilter())
        suricata = export_selection(s, actor=a.actor, fmt=ExportFormat.SURICATA, flt=ExportFilter())
    assert b"".join(active.values()).split() == [b"198.51.100.1"]
    assert sorted(b"".join(everything.values()).split()) == [
        b"198.51.100.1",
        b"198.51.100.2",
        b"198.51.100.3",
        b"198.51.100.9",
    ]  # never the revoked one, never the other organisation's RED
    intel = b"".join(zeek.values()).decode()
    assert "198.51.100.1\t" in intel and "198.51.100.2" not in intel and "198.51.100.9" not in intel
    rules = b"".join(suricata.values()).decode()
    assert "198.51.100.1" in rules and "198.51.100.2" not in rules and "198.51.100.3" not in rules
