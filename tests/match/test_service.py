"""Matching against the real store: visibility, validity, sightings; the API and the CLI end to end."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from colsec.db import Database
from colsec.match.service import build_engine, match_lines
from colsec.stix.ids import now_timestamp
from colsec.stix.tlp import TLP, marking_id
from colsec.store.models import StixObject
from colsec.store.service import import_objects

Account = Any  # tests/conftest.py Account (not importable from a test package)

ZEEK_DNS = (
    '{"_path":"dns","ts":"2018-03-24T17:15:20.865716Z","uid":"C1","id.orig_h":"10.47.1.100","id.orig_p":41772,'
    '"id.resp_h":"10.0.0.100","id.resp_p":53,"proto":"udp","query":"ise.wrccdc.org",'
    '"answers":["ise.wrccdc.cpp.edu","134.71.3.16"]}\n'
)


def indicator(pattern: str, tlp: TLP = TLP.AMBER, **extra: Any) -> dict[str, Any]:
    # recent dates: indicator scoring (intel) decays old indicators, and decayed ones are not matched
    now = now_timestamp()
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": now,
        "modified": now,
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": now,
        "object_marking_refs": [marking_id(tlp)],
        **extra,
    }


def seed(database: Database, make_account: Callable[..., Account]) -> tuple[Account, Account, dict[str, str]]:
    a = make_account(org="ORG-A")
    b = make_account(org="ORG-B")
    objs = {
        "own": indicator("[domain-name:value = 'ise.wrccdc.org']"),
        "shared": indicator("[ipv4-addr:value = '134.71.3.16']", TLP.GREEN),
        "red_other": indicator("[ipv4-addr:value = '10.47.1.100']", TLP.RED),
        "expired": indicator(
            "[domain-name:value = 'ise.wrccdc.cpp.edu']",
            valid_from="2025-01-01T00:00:00Z",
            valid_until="2025-02-01T00:00:00Z",
        ),
        "revoked": indicator("[ipv4-addr:value = '10.0.0.100']", revoked=True),
    }
    with database.unit_of_work() as s:
        import_objects(s, actor=a.actor, objects=[objs["own"], objs["expired"], objs["revoked"]])
        import_objects(s, actor=b.actor, objects=[objs["shared"], objs["red_other"]])
    return a, b, {k: v["id"] for k, v in objs.items()}


def test_engine_sees_only_active_visible_indicators(
    database: Database, make_account: Callable[..., Account]
) -> None:
    a, b, ids = seed(database, make_account)
    with database.unit_of_work(write=False) as s:
        engine, report = build_engine(s, actor=a.actor)
    assert set(engine.indicator_ids()) == {ids["own"], ids["shared"]}
    assert report.excluded is not None  # every exclusion named (issue 17), the other org's RED only counted
    assert report.excluded.expired == [ids["expired"]] and report.excluded.revoked == [ids["revoked"]]
    assert report.excluded.not_visible == 1 and ids["red_other"] not in str(report.excluded.to_json())
    with database.unit_of_work(write=False) as s:
        engine_b, _ = build_engine(s, actor=b.actor)
    assert ids["red_other"] in engine_b and ids["own"] in engine_b  # AMBER, no group: alliance


def test_match_lines_stores_sightings(database: Database, make_account: Callable[..., Account]) -> None:
    a, _, ids = seed(database, make_account)
    with database.unit_of_work() as s:
        run = match_lines(s, actor=a.actor, lines=[ZEEK_DNS, ZEEK_DNS.replace('"C1"', '"C2"'), "garbage\n"])
    assert run.stats.events == 2 and run.stats.malformed == 1
    assert sorted(al.indicator_id for al in run.alerts) == sorted(
        [ids["own"], ids["own"], ids["shared"], ids["shared"]]
    )
    with database.unit_of_work(write=False) as s:
        rows = s.execute(select(StixObject).where(StixObject.type == "sighting")).scalars().all()
        bodies = [orjson.loads(r.body) for r in rows]
    assert sorted((b["sighting_of_ref"], b["count"]) for b in bodies) == sorted(
        [(ids["own"], 2), (ids["shared"], 2)]
    )
    assert all(b["where_sighted_refs"] == [a.org.identity_id] for b in bodies)
    assert all(r.owner_org_id == a.org.id for r in rows)


def test_api_submit_batch(
    client: TestClient, database: Database, make_account: Callable[..., Account]
) -> None:
    a, _, ids = seed(database, make_account)
    seen = client.get("/api/v1/objects?type=indicator", headers=a.headers).json()
    assert len(seen["objects"]) == 4, seen
    r = client.post("/api/v1/match?format=zeek-json", content=ZEEK_DNS, headers=a.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["events"] == 1 and body["alerts_total"] == 2, {
        k: body[k] for k in ("indicators", "events", "compile")
    }
    assert {al["indicator_id"] for al in body["alerts"]} == {ids["own"], ids["shared"]}
    assert len(body["sightings"]) == 2
    r = client.get("/api/v1/objects?type=sighting", headers=a.headers)
    assert {o["sighting_of_ref"] for o in r.json()["objects"]} == {ids["own"], ids["shared"]}
    # A gzipped body is matched as the CLI matches a .gz file (not read as 'malformed' syslog).
    gz = client.post(
        "/api/v1/match?sightings=false", content=gzip.compress(ZEEK_DNS.encode()), headers=a.headers
    )
    assert gz.status_code == 200 and gz.json()["events"] == 1 and gz.json()["malformed"] == 0, gz.text
    assert client.post("/api/v1/match?format=nope", content=ZEEK_DNS, headers=a.headers).status_code == 422
    assert client.post("/api/v1/match", content=ZEEK_DNS).status_code == 401


def test_cli_batch_and_follow(
    tmp_path: Path, database: Database, make_account: Callable[..., Account], shared_data: Path
) -> None:
    a, _, ids = seed(database, make_account)
    env = {
        **os.environ,
        "COLSEC_DATA_DIR": str(tmp_path / "data"),
        "COLSEC_DATABASE_URL": database.url,
        "COLUMNS": "200",
    }
    log = shared_data / "telemetry/zeek/wrccdc2018_dns.head3000.tsv.log"
    alerts = tmp_path / "alerts.jsonl"
    r = subprocess.run(
        [sys.executable, "-m", "colsec", "match", str(log), "--as", a.user.username, "--alerts", str(alerts)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "match summary" in r.stderr and "events/s" in r.stderr
    assert "read as zeek-tsv (detected)" in r.stderr  # the summary says how each file was read
    lines = [orjson.loads(x) for x in alerts.read_text().splitlines()]
    assert lines and {x["indicator_id"] for x in lines} <= {ids["own"], ids["shared"]}

    # EVE lines take the vectorised path; a malformed line is counted, not fatal
    eve = (shared_data / "telemetry/suricata/suricata-verify/eve-dns.eve.ndjson").read_bytes()
    expected = eve.count(b'"rrname":"client-cf.dropbox.com"')
    eve_file = tmp_path / "eve.ndjson"
    eve_file.write_bytes(eve.replace(b"\n", b"\n{broken\n", 1))
    dropbox = indicator("[domain-name:value = 'client-cf.dropbox.com']")
    with database.unit_of_work() as s:
        import_objects(s, actor=a.actor, objects=[dropbox])
    eve_alerts = tmp_path / "eve-alerts.jsonl"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "colsec",
            "match",
            str(eve_file),
            "--as",
            a.user.username,
            "--alerts",
            str(eve_alerts),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    got = [orjson.loads(x)["indicator_id"] for x in eve_alerts.read_text().splitlines()]
    assert got.count(dropbox["id"]) == expected > 0
    assert "not an EVE JSON record" in r.stderr

    # streaming: lines appended to a followed file alert within well under a second
    stream = tmp_path / "live.ndjson"
    stream.write_text("")
    out = tmp_path / "live-alerts.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "colsec",
            "match",
            "--follow",
            str(stream),
            "--format",
            "zeek-json",
            "--as",
            a.user.username,
            "--alerts",
            str(out),
            "--stop-after",
            "20",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while (
            "compiled" not in (proc.stderr.readline() if proc.stderr else "") and time.monotonic() < deadline
        ):
            pass
        with stream.open("a") as f:
            f.write("not json\n")
            f.write(ZEEK_DNS)
            f.flush()
        written = time.monotonic()
        while time.monotonic() - written < 10 and not (out.exists() and out.read_text().count("\n") >= 2):
            time.sleep(0.01)
        latency = time.monotonic() - written
        assert out.exists() and out.read_text().count("\n") >= 2
        assert latency < 1.0
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_cli_follows_stdin_line_by_line(
    tmp_path: Path, database: Database, make_account: Callable[..., Account]
) -> None:
    """``tail -F eve.json | colsec match --follow -``: a line alerts while the pipe stays open."""
    a, _, ids = seed(database, make_account)
    env = {**os.environ, "COLSEC_DATA_DIR": str(tmp_path / "data"), "COLSEC_DATABASE_URL": database.url}
    out = tmp_path / "alerts.jsonl"
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "colsec",
            "match",
            "--follow",
            "-",
            "--as",
            a.user.username,
            "--alerts",
            str(out),
        ],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdin is not None and proc.stderr is not None
        try:
            deadline = time.monotonic() + 60
            while b"compiled" not in proc.stderr.readline() and time.monotonic() < deadline:
                pass
            proc.stdin.write(b"{broken\n" + ZEEK_DNS.encode())
            proc.stdin.flush()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (out.exists() and out.read_text().count("\n") >= 2):
                time.sleep(0.01)
            alerted = {orjson.loads(line)["indicator_id"] for line in out.read_text().splitlines()}
            assert alerted == {ids["own"], ids["shared"]}
            proc.stdin.close()  # end of input ends the run, with its summary
            err = proc.stderr.read()
            assert proc.wait(timeout=60) == 0, err
            assert b"malformed" in err and b"match summary" in err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_engine_cache_refreshes_incrementally(
    database: Database, make_account: Callable[..., Account]
) -> None:
    from colsec.match.service import EngineCache
    from colsec.store.versions import revoke_object

    a, _, ids = seed(database, make_account)
    cache = EngineCache()
    with database.unit_of_work(write=False) as s, cache.lock(a.actor):
        engine = cache.get(s, actor=a.actor)
    assert set(engine.indicator_ids()) == {ids["own"], ids["shared"]}
    rows_before = len(engine.rows)
    new = indicator("[url:value = 'http://new.example/']")
    with database.unit_of_work() as s:
        import_objects(s, actor=a.actor, objects=[new])
        revoke_object(s, actor=a.actor, object_id=ids["own"])
    with database.unit_of_work(write=False) as s, cache.lock(a.actor):
        again = cache.get(s, actor=a.actor)
    assert again is engine  # same compiled engine, updated in place
    assert set(engine.indicator_ids()) == {ids["shared"], new["id"]}
    assert len(engine.rows) == rows_before + 1  # only the new indicator was compiled


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/no/such/eve.json"], "no such file"),
        (["."], "not a file"),
        (["--follow", "/no/such/eve.json"], "no such file"),
        (["x.csv", "--format", "csv"], "needs a field mapping"),
        (["--format", "bogus", "x"], "unknown format"),
        (["{here}", "--mapping", "{bad}"], "mapping"),
    ],
)
def test_cli_refuses_bad_arguments_with_a_message(tmp_path: Path, args: list[str], message: str) -> None:
    """Checked before anything is read or written: exit code 2 and one line, no traceback."""
    bad = tmp_path / "map.json"
    bad.write_text("{not json")
    here = tmp_path / "eve.json"
    here.write_text("")
    argv = [a.format(here=here, bad=bad) for a in args]
    env = {**os.environ, "COLSEC_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    r = subprocess.run(
        [sys.executable, "-m", "colsec", "match", *argv], env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "data").exists()  # nothing created
