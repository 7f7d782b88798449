"""One source of numbers: the API series equals the dashboard's charts and a direct count under the policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select

from colsec.db import Database
from colsec.stix.tlp import TLP
from colsec.store.models import ObjectRecipient, StixObject
from colsec.store.policy import Recipient, SharedFacts, may_share
from colsec.store.queries import recipient_for_org
from colsec.store.views import CHART_DAYS, INTEL_TYPES, dashboard
from reports.conftest import Alliance, group_members, indicator, malware, store


def _direct(database: Database, reader: Recipient, group_id: int, by_owner: bool = False) -> dict[str, float]:
    """Latest objects added today or in the chart window, counted in Python with ``may_share``."""
    members = group_members(database, group_id)
    out: dict[str, float] = {}
    with database.unit_of_work(write=False) as s:
        named: dict[int, set[int]] = {}
        for seq, org in s.execute(select(ObjectRecipient.object_seq, ObjectRecipient.organisation_id)).all():
            named.setdefault(seq, set()).add(org)
        for row in s.execute(select(StixObject).where(StixObject.is_latest)).scalars():
            facts = SharedFacts(
                owner_org_id=row.owner_org_id, tlp=TLP(row.tlp),
                sharing_group_members=members if row.sharing_group_id == group_id else None,
                recipients=frozenset(named.get(row.seq, ())),
            )  # fmt: skip
            if row.type in INTEL_TYPES and may_share(facts, reader):
                key = str(row.owner_org_id) if by_owner else row.type
                out[key] = out.get(key, 0.0) + 1
    return out


def test_series_equals_the_dashboard_and_a_direct_count(
    client: TestClient, alliance: Alliance, database: Database
) -> None:
    nm = alliance.analyst.org.id
    store(database, nm, [malware("m-clear", TLP.CLEAR), indicator("i-green.example", TLP.GREEN)])
    store(database, nm, [indicator("i-amber.example", TLP.AMBER), indicator("i-red.example", TLP.RED)])
    store(database, nm, [malware("m-group", TLP.AMBER)], group_id=alliance.group_id)
    store(database, nm, [malware("m-named", TLP.RED)], named=[alliance.other.org.id])
    store(database, alliance.other.org.id, [indicator("ev.example", TLP.GREEN)])
    for who in (alliance.analyst, alliance.other, alliance.coordinator, alliance.external):
        r = client.get(
            "/api/v1/reports/series", params={"metric": "objects", "by": "type", "period": f"{CHART_DAYS}d"},
            headers=who.headers,
        )  # fmt: skip
        assert r.status_code == 200, r.text
        api = r.json()
        with database.unit_of_work(write=False) as s:
            board = dashboard(s, actor=who.actor, now=datetime.now(UTC))
            reader = recipient_for_org(s, who.org.id)
        assert api["days"] == [d.isoformat() for d in board.days]
        assert {k: [int(v) for v in vals] for k, vals in api["series"].items()} == board.by_type, (
            who.org.short_name
        )
        assert api["totals"] == _direct(database, reader, alliance.group_id), who.org.short_name
        by_member = client.get(
            "/api/v1/reports/series", params={"metric": "objects", "by": "member", "period": f"{CHART_DAYS}d"},
            headers=who.headers,
        ).json()  # fmt: skip
        assert {k: [int(v) for v in vals] for k, vals in by_member["series"].items()} == board.by_member
    # the external organisation sees CLEAR only; the EV analyst sees the RED object named to it
    ext = client.get(
        "/api/v1/reports/series?metric=objects&by=type", headers=alliance.external.headers
    ).json()
    assert ext["totals"] == {"malware": 1.0}
    ev = client.get("/api/v1/reports/series?metric=objects&by=type", headers=alliance.other.headers).json()
    assert ev["totals"] == {"malware": 2.0, "indicator": 3.0}


def test_series_refuses_bad_questions_by_name(client: TestClient, alliance: Alliance) -> None:
    h = alliance.analyst.headers
    for params, word in (
        ({"metric": "wombats"}, "wombats"),
        ({"metric": "objects", "by": "colour"}, "colour"),
        ({"metric": "objects", "period": "0d"}, "period"),
        ({"metric": "objects", "period": "9999d"}, "period"),
        ({"metric": "objects", "end": "yesterday"}, "yesterday"),
    ):
        r = client.get("/api/v1/reports/series", params=params, headers=h)
        assert r.status_code == 422 and word in orjson.dumps(r.json()).decode(), params
    assert client.get("/api/v1/reports/series?metric=objects").status_code == 401
    r = client.get("/api/v1/reports/series?metric=crises&by=status", headers=alliance.external.headers)
    assert r.status_code == 200 and r.json()["series"] == {}  # crisis figures are for the alliance
    end = (datetime.now(UTC) - timedelta(days=400)).date().isoformat()
    r = client.get(f"/api/v1/reports/series?metric=objects&end={end}&period=7d", headers=h)
    assert r.status_code == 200 and r.json()["totals"] == {}
