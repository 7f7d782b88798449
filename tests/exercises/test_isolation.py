"""Isolation: whatever runs do, the real picture (store reads, dashboard, TAXII, crisis lists, metrics)
is exactly what it was; the run's own objects exist and are marked as an exercise.

A property over generated runs: each example snapshots every real read path for every member,
plays a run of random injects (channels, targets, TLP), even forces the run's STIX objects into
a TAXII collection, and snapshots again.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from colsec.accounts.roles import SYSTEM
from colsec.crisis import service as crisis
from colsec.crisis.alerts import alert_count, list_alerts
from colsec.crisis.metrics import crisis_metrics
from colsec.crisis.models import CapAlert, Incident, Notification
from colsec.crisis.views import situation
from colsec.db import Database
from colsec.exercises import delivery
from colsec.exercises import run as runs
from colsec.exercises.scenario import create_scenario, parse_scenario
from colsec.stix.tlp import TLP
from colsec.store.models import CollectionObject, StixObject
from colsec.store.queries import count_by_type, list_objects, recipient_for_org
from colsec.store.service import import_objects
from colsec.store.views import dashboard
from colsec.taxii.service import create_collection

from .conftest import MEMBERS

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
CHANNELS = ("incident", "stix", "consultation", "cap", "message", "email")


def _indicator(name: str) -> dict[str, Any]:
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-12-01T00:00:00.000Z", "modified": "2026-12-01T00:00:00.000Z", "name": name,
        "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix", "valid_from": "2026-12-01T00:00:00Z",
    }  # fmt: skip


def _snapshot(client: TestClient, database: Database, alliance: Any, collection: str) -> dict[str, Any]:
    people = [alliance.controller, *alliance.analysts.values()]
    snap: dict[str, Any] = {}
    with database.unit_of_work(write=False) as s:
        for p in people:
            viewer = recipient_for_org(s, p.actor.org_id)
            key = p.actor.username
            snap[key + ":objects"] = sorted(r.id for r in list_objects(s, viewer=viewer, limit=10_000).rows)
            snap[key + ":types"] = count_by_type(s, viewer=viewer)
            snap[key + ":dashboard"] = re.sub(
                r" at 0x[0-9a-f]+", "", repr(dashboard(s, actor=p.actor, now=NOW))
            )
            snap[key + ":incidents"] = [i.id for i in crisis.list_incidents(s, actor=p.actor)]
            snap[key + ":awaiting"] = [a["c"].id for a in situation(s, actor=p.actor, now=NOW)["awaiting"]]
        snap["crises"] = [c.id for c in crisis.list_crises(s)]
        snap["consultations"] = [c.id for c in crisis.list_consultations(s)]
        snap["requests"] = [r.id for r in crisis.list_requests(s)]
        snap["alerts"] = [a.id for a in list_alerts(s)]
        snap["alert_count"] = alert_count(s)
        snap["metrics"] = crisis_metrics(s)
    for p in people:
        r = client.get(
            f"/taxii2/root/collections/{collection}/objects/",
            headers={**p.headers, "Accept": "application/taxii+json;version=2.1"},
        )
        assert r.status_code == 200, r.text
        snap[p.actor.username + ":taxii"] = sorted(o["id"] for o in r.json().get("objects", []))
    return snap


injects = st.lists(
    st.tuples(st.sampled_from(CHANNELS), st.sampled_from(MEMBERS), st.sampled_from(["clear", "green", "amber", "red"])),
    min_size=1, max_size=4,
)  # fmt: skip


def test_runs_never_reach_the_real_picture(client: TestClient, database: Database, alliance: Any) -> None:
    with database.unit_of_work() as s:
        real = import_objects(
            s,
            actor=alliance.analysts["NM"].actor,
            objects=[_indicator("real")],
            owner_org_id=alliance.analysts["NM"].org.id,
            default_tlp=TLP.GREEN,
        )
        coll = create_collection(s, actor=SYSTEM, title="Everything", can_read=["*"])
        s.add(
            CollectionObject(
                collection_id=coll.id,
                object_seq=real.inserted_seqs[0],
                date_added=s.get(StixObject, real.inserted_seqs[0]).date_added,
            )
        )
        collection = coll.id
    r = client.post(
        "/api/v1/crisis/incidents",
        headers=alliance.analysts["EV"].headers,
        json={"title": "Real outage", "category": "cyber", "severity": 2},
    )
    assert r.status_code == 201
    counter = {"n": 0}

    @settings(
        max_examples=4,
        deadline=None,
        derandomize=True,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(injects)
    def play(plan: list[tuple[str, str, str]]) -> None:
        counter["n"] += 1
        before = _snapshot(client, database, alliance, collection)
        doc = {
            "name": f"iso-{counter['n']}", "title": {"en": "Isolation"}, "participants": [{"org": m} for m in MEMBERS],
            "injects": [
                {"number": n, "offset": 0, "target": {"org": org}, "channel": ch, "title": f"inject {n}",
                 "params": {"tlp": tlp, "deadline": 3600, "objects": [_indicator(f"exercise {n}")]}}
                for n, (ch, org, tlp) in enumerate(plan, start=1)
            ],
        }  # fmt: skip
        with database.unit_of_work() as s:
            sc = create_scenario(s, actor=alliance.controller.actor, scenario=parse_scenario(doc))
            run = runs.create_run(s, actor=alliance.controller.actor, scenario_id=sc.id)
            runs.move(s, actor=alliance.controller.actor, run_id=run.id, to="running", now=datetime.now(UTC))
            run_id = run.id
        assert delivery.deliver_pass(database, node_name="n", now=datetime.now(UTC)) == len(plan)
        with database.unit_of_work() as s:
            line = runs_timeline(s, run_id)
            assert [i["status"] for i in line] == ["delivered"] * len(plan), [
                (i["channel"], i["refs"]) for i in line
            ]
            mine = list(s.execute(select(StixObject).where(StixObject.exercise_run_id == run_id)).scalars())
            # adversarial: even inside a collection, a run's object is not served
            s.add_all(
                CollectionObject(collection_id=collection, object_seq=o.seq, date_added=o.date_added)
                for o in mine
            )
            if any(ch in ("stix", "incident") for ch, _, _ in plan):
                assert mine, "the run created STIX objects"
            for o in mine:
                body = orjson.loads(o.body)
                if body["type"] != "marking-definition":
                    assert (
                        any(m.startswith("marking-definition--") for m in body.get("object_marking_refs", []))
                        or body["type"] == "incident"
                    )
            for alert in s.execute(select(CapAlert).where(CapAlert.exercise_run_id == run_id)).scalars():
                assert alert.status == "Exercise" and "<status>Exercise</status>" in alert.xml
            for note in s.execute(
                select(Notification).where(Notification.exercise_run_id == run_id)
            ).scalars():
                assert note.subject.startswith(f"[EXERCISE iso-{counter['n']}]")
        after = _snapshot(client, database, alliance, collection)
        assert after == before, {k: (before.get(k), after[k]) for k in after if after[k] != before.get(k)}
        # the real object is still there for everyone: the filter hides runs, not data
        assert any("indicator--" in i for i in after[alliance.analysts["SD"].actor.username + ":objects"])
        # deleting a run deletes what it created
        with database.unit_of_work() as s:
            runs.delete_run(s, actor=alliance.controller.actor, run_id=run_id)
        with database.unit_of_work() as s:
            left = [
                s.execute(select(StixObject.seq).where(StixObject.exercise_run_id == run_id)).first(),
                s.execute(select(Incident.id).where(Incident.exercise_run_id == run_id)).first(),
                s.execute(select(Notification.id).where(Notification.exercise_run_id == run_id)).first(),
            ]
            assert left == [None, None, None]

    play()


def runs_timeline(s: Any, run_id: int) -> list[dict[str, Any]]:
    from colsec.exercises.views import timeline

    return timeline(s, runs.get_run(s, run_id=run_id))
