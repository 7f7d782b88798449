"""Sightings made by matching are readable only by those who may read the indicator.

Three members: ORG-A owns the indicators, ORG-B matches its telemetry, ORG-C reads.
Every read path (REST list and get, the CLI export, TAXII) must hide from ORG-C the
sightings of indicators it may not see, and their matched values.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select

from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.federation.service import create_sharing_group
from colsec.stix.ids import now_timestamp
from colsec.stix.tlp import TLP, marking_id
from colsec.store.models import CollectionObject, ObjectRecipient, StixObject
from colsec.store.service import import_objects
from colsec.taxii.service import create_collection

Account = Any  # tests/conftest.py Account

TAXII = "application/taxii+json;version=2.1"
RED_IP = "198.51.100.7"
STRICT_DOMAIN = "strict.example.com"
GROUP_IP = "203.0.113.9"
GREEN_IP = "192.0.2.44"


def _indicator(value: str, tlp: TLP, path: str = "ipv4-addr:value") -> dict[str, Any]:
    now = now_timestamp()
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}", "created": now,
        "modified": now, "pattern": f"[{path} = '{value}']", "pattern_type": "stix", "valid_from": now,
        "object_marking_refs": [marking_id(tlp)],
    }  # fmt: skip


def _eve(dest: str) -> str:
    return orjson.dumps(
        {"timestamp": "2026-12-01T10:00:00.000000+0000", "event_type": "flow", "src_ip": "10.1.1.1",
         "dest_ip": dest, "src_port": 5555, "dest_port": 443, "proto": "TCP"}
    ).decode() + "\n"  # fmt: skip


def _dns(name: str) -> str:
    return orjson.dumps(
        {"timestamp": "2026-12-01T10:00:00.000000+0000", "event_type": "dns", "src_ip": "10.1.1.1",
         "dest_ip": "10.0.0.53", "dns": {"type": "query", "rrname": name, "rrtype": "A"}}
    ).decode() + "\n"  # fmt: skip


def _seed(
    database: Database, make_account: Callable[..., Account]
) -> tuple[Account, Account, Account, dict[str, str]]:
    a, b, c = make_account(org="ORG-A"), make_account(org="ORG-B"), make_account(org="ORG-C")
    objs = {
        "red": _indicator(RED_IP, TLP.RED),
        "strict": _indicator(STRICT_DOMAIN, TLP.AMBER_STRICT, "domain-name:value"),
        "group": _indicator(GROUP_IP, TLP.AMBER),
        "green": _indicator(GREEN_IP, TLP.GREEN),
    }
    with database.unit_of_work() as s:
        group = create_sharing_group(s, actor=SYSTEM, name="a-and-b", members=["ORG-A", "ORG-B"])
        import_objects(s, actor=a.actor, objects=[objs["red"], objs["strict"]], recipient_org_ids=[b.org.id])
        import_objects(s, actor=a.actor, objects=[objs["group"]], sharing_group_id=group.id)
        import_objects(s, actor=a.actor, objects=[objs["green"]])
    return a, b, c, {k: v["id"] for k, v in objs.items()}


def test_finding_01_sighting_inherits_indicator_marking(
    client: TestClient, database: Database, make_account: Callable[..., Account], tmp_path: Path
) -> None:
    a, b, c, ids = _seed(database, make_account)
    lines = _eve(RED_IP) + _eve(GROUP_IP) + _eve(GREEN_IP) + _dns(STRICT_DOMAIN)
    r = client.post("/api/v1/match?format=eve", content=lines, headers=b.headers)
    assert r.status_code == 200, r.text
    assert {al["indicator_id"] for al in r.json()["alerts"]} == set(ids.values())
    sightings = r.json()["sightings"]
    assert len(sightings) == 4

    with database.unit_of_work(write=False) as s:
        rows = {
            orjson.loads(row.body)["sighting_of_ref"]: row
            for row in s.execute(select(StixObject).where(StixObject.type == "sighting")).scalars()
        }
        named = {
            seq: set(s.execute(select(ObjectRecipient.organisation_id).where(ObjectRecipient.object_seq == seq)).scalars())
            for seq in (row.seq for row in rows.values())
        }  # fmt: skip
    assert all(row.owner_org_id == b.org.id for row in rows.values())  # owned by the sighting organisation
    assert TLP(rows[ids["red"]].tlp) == TLP.RED and named[rows[ids["red"]].seq] == {a.org.id}
    assert TLP(rows[ids["strict"]].tlp) == TLP.AMBER_STRICT and named[rows[ids["strict"]].seq] == {a.org.id}
    assert TLP(rows[ids["group"]].tlp) == TLP.AMBER and rows[ids["group"]].sharing_group_id is not None
    assert TLP(rows[ids["green"]].tlp) == TLP.AMBER  # the sighter's own networks: never below AMBER
    assert "a-and-b" in rows[ids["group"]].body  # the group restriction travels to peers

    hidden = {rows[ids[k]].id for k in ("red", "strict", "group")}
    secrets = (RED_IP, STRICT_DOMAIN, GROUP_IP, ids["red"], ids["strict"], ids["group"])

    # REST list and get
    listed = client.get("/api/v1/objects?type=sighting", headers=c.headers)
    assert {o["id"] for o in listed.json()["objects"]} == {rows[ids["green"]].id}
    assert not any(x in listed.text for x in secrets)
    for sid in hidden:
        got = client.get(f"/api/v1/objects/{sid}", headers=c.headers)
        assert got.status_code == 404 and not any(x in got.text for x in secrets)
        assert client.get(f"/api/v1/objects/{sid}", headers=a.headers).status_code == 200  # indicator owner
        assert client.get(f"/api/v1/objects/{sid}", headers=b.headers).status_code == 200  # sighter

    # TAXII: even in a collection everyone may read, ORG-C gets only what it may see
    with database.unit_of_work() as s:
        coll = create_collection(s, actor=SYSTEM, title="match output", can_read=["*"])
        s.add_all(
            CollectionObject(collection_id=coll.id, object_seq=row.seq, date_added=row.date_added)
            for row in rows.values()
        )
        coll_id = coll.id
    url = f"/taxii2/root/collections/{coll_id}/objects/"
    taxii_c = client.get(url, headers={**c.headers, "Accept": TAXII})
    assert taxii_c.status_code == 200, taxii_c.text
    assert {o["id"] for o in taxii_c.json().get("objects", [])} == {rows[ids["green"]].id}
    assert not any(x in taxii_c.text for x in secrets)
    taxii_a = client.get(url, headers={**a.headers, "Accept": TAXII})
    assert len(taxii_a.json()["objects"]) == 4

    # the command-line export as ORG-C
    env = {**os.environ, "COLSEC_DATA_DIR": str(tmp_path / "data"), "COLSEC_DATABASE_URL": database.url}
    out = subprocess.run(
        [sys.executable, "-m", "colsec", "export", "--type", "sighting", "--as", c.user.username],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    exported = orjson.loads(out.stdout)["objects"]
    assert {o["id"] for o in exported} == {rows[ids["green"]].id}
    assert not any(x in out.stdout for x in secrets)


def test_finding_01_sighting_of_indicator_no_longer_visible_is_not_stored(
    database: Database, make_account: Callable[..., Account]
) -> None:
    from colsec.match.service import store_sightings

    a, b, c, ids = _seed(database, make_account)
    # ORG-C may not see ORG-A's TLP:RED indicator, so nothing it derives from it is stored.
    agg_objects = [
        {"type": "sighting", "spec_version": "2.1", "id": f"sighting--{uuid.uuid4()}", "created": now_timestamp(),
         "modified": now_timestamp(), "sighting_of_ref": ids["red"], "count": 1,
         "where_sighted_refs": [c.org.identity_id]}
    ]  # fmt: skip
    with database.unit_of_work() as s:
        res = store_sightings(s, actor=c.actor, objects=agg_objects)
    assert res.inserted == 0
    with database.unit_of_work(write=False) as s:
        assert s.execute(select(StixObject.seq).where(StixObject.type == "sighting")).first() is None


def test_finding_01_engine_cache_drops_indicator_restricted_away(
    database: Database, make_account: Callable[..., Account]
) -> None:
    """A cached engine stops matching an indicator once its owner restricts it away from the matcher."""
    from colsec.match.service import EngineCache

    a, b, c, _ = _seed(database, make_account)
    amber = _indicator("198.51.100.77", TLP.AMBER)
    with database.unit_of_work() as s:
        import_objects(s, actor=a.actor, objects=[amber])
    cache = EngineCache()
    with database.unit_of_work(write=False) as s, cache.lock(b.actor):
        assert amber["id"] in cache.get(s, actor=b.actor).indicator_ids()
    restricted = {**amber, "modified": now_timestamp()}
    with database.unit_of_work() as s:
        group = create_sharing_group(s, actor=SYSTEM, name="a-and-c", members=["ORG-A", "ORG-C"])
        import_objects(s, actor=a.actor, objects=[restricted], sharing_group_id=group.id)
    with database.unit_of_work(write=False) as s, cache.lock(b.actor):
        assert amber["id"] not in cache.get(s, actor=b.actor).indicator_ids()
    with database.unit_of_work(write=False) as s, cache.lock(c.actor):
        assert amber["id"] in cache.get(s, actor=c.actor).indicator_ids()


def test_sighting_follows_a_declassified_indicator(
    client: TestClient, database: Database, make_account: Callable[..., Account]
) -> None:
    """A sighting recomputed after its indicator was declassified follows it instead of failing the run."""
    a, b, _c, ids = _seed(database, make_account)
    lines = _eve(RED_IP)
    first = client.post("/api/v1/match?format=eve", content=lines, headers=b.headers)
    assert first.status_code == 200, first.text
    with database.unit_of_work() as s:
        body = orjson.loads(
            s.execute(
                select(StixObject.body).where(StixObject.id == ids["red"], StixObject.is_latest)
            ).scalar_one()
        )
        body["object_marking_refs"] = [marking_id(TLP.GREEN)]
        body["modified"] = now_timestamp()
        import_objects(s, actor=a.actor, objects=[body], declassify=True)
    second = client.post("/api/v1/match?format=eve", content=lines + lines, headers=b.headers)
    assert second.status_code == 200, second.text
    with database.unit_of_work() as s:
        tlps = (
            s.execute(select(StixObject.tlp).where(StixObject.type == "sighting", StixObject.is_latest))
            .scalars()
            .all()
        )
    assert tlps == [int(TLP.AMBER)]
