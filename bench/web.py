"""Web UI benchmark: server time of the dashboard and of searches with N objects in the store.

Builds the demo alliance plus N synthetic indicators (one per member in turn, a
realistic TLP mix, labels, every object added "today" so the dashboard's 14-day
window covers all of them: its worst case), then serves the app in-process and
times each page as the server reports it (``Server-Timing: app``: from the
route's first dependency to the rendered HTML) and as the client sees it.

    python bench/web.py --objects 100000 [--repeat 15] [--database-url URL]
    python bench/web.py alerts --alerts 100000 [--repeat 15] [--database-url URL]

Target (issue 7): search and dashboard under 300 ms server time at 100,000 objects.
Target (issue 19, section ``alerts``): the alerts inbox of an organisation holding 100,000
alerts under 200 ms server time.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 300.0
BENCH_NS = uuid.UUID("3d7f3b5e-2c8a-4f7e-9b1d-5a6c7e8f9012")


def build(database_url: str, n: int) -> None:
    from sqlalchemy import select

    from colsec.accounts.models import Organisation
    from colsec.accounts.roles import Actor, Role
    from colsec.db import Database
    from colsec.demo import build_demo
    from colsec.intel.hooks import IntelConfig
    from colsec.migrations import upgrade
    from colsec.node import demo_extensions
    from colsec.stix.ids import now_timestamp
    from colsec.stix.tlp import TLP, marking_id
    from colsec.store.service import import_objects

    database = Database(database_url)
    upgrade(database.engine)
    with database.unit_of_work() as db:
        build_demo(db, extensions=demo_extensions(IntelConfig()))
        members = list(db.execute(select(Organisation).where(Organisation.kind == "member")).scalars())
    rng = random.Random(7)
    tlps = [TLP.CLEAR, TLP.GREEN, TLP.GREEN, TLP.AMBER, TLP.AMBER, TLP.AMBER, TLP.AMBER_STRICT, TLP.RED]
    labels = ["phishing", "c2", "ransomware", "exfiltration", "scanning"]
    batch = 5000
    started = time.perf_counter()
    for start in range(0, n, batch):
        org = members[(start // batch) % len(members)]
        actor = Actor(username="bench", role=Role.ANALYST, org_id=org.id, org_short_name=org.short_name)
        ts = now_timestamp()
        objs = []
        for i in range(start, min(n, start + batch)):
            a, b, c = (i >> 16) & 255, (i >> 8) & 255, i & 255
            value = f"10.{a}.{b}.{c}" if i % 2 == 0 else f"host{i}.bench.example.net"
            path = "ipv4-addr:value" if i % 2 == 0 else "domain-name:value"
            objs.append(
                {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid5(BENCH_NS, str(i))}",
                 "created": ts, "modified": ts, "name": f"bench indicator {i}", "pattern": f"[{path} = '{value}']",
                 "pattern_type": "stix", "valid_from": ts, "labels": [rng.choice(labels)],
                 "object_marking_refs": [marking_id(rng.choice(tlps))]}
            )  # fmt: skip
        with database.unit_of_work() as db:
            import_objects(db, actor=actor, objects=objs, owner_org_id=org.id)
        done = min(n, start + batch)
        rate = done / (time.perf_counter() - started)
        print(f"\r  loaded {done:>7,} / {n:,} objects ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    database.dispose()


def measure(database_url: str, data_dir: Path, repeat: int) -> list[tuple[str, list[float], list[float]]]:
    from fastapi.testclient import TestClient

    from colsec.db import Database
    from colsec.demo import DEMO_PASSWORD
    from colsec.settings import Settings
    from colsec.web.app import create_app

    settings = Settings(data_dir=data_dir, database_url=database_url, secret_key="bench-secret")
    database = Database(database_url)
    app = create_app(settings, database=database)
    from colsec.store import views as store_views

    cold = "dashboard, uncached counts"
    cases = [
        (cold, "/"),
        ("dashboard (counts cached 15 s)", "/"),
        ("search: exact IPv4", "/intel?q=10.0.200.8"),
        ("search: domain prefix", "/intel?q=host9999"),
        ("search: type=indicator", "/intel?type=indicator"),
        ("search: label=c2", "/intel?label=c2"),
        ("search: TLP:RED (own only)", "/intel?tlp=red"),
        ("search: common word + TLP:RED", "/intel?q=bench&tlp=red"),
        ("search: owner + type", "/intel?owner=3&type=indicator"),
        ("search: all, newest first", "/intel"),
        ("search: page 2", None),
        ("object page", "object"),
    ]
    results = []
    with TestClient(app) as c:
        page = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = c.post("/login", data={"csrf_token": token, "username": "nm-analyst", "password": DEMO_PASSWORD},
                   follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text[:300]
        first = c.get("/intel").text
        m = re.search(r'href="(/intel\?[^"]*cursor=[^"]+)"', first)
        for name, path in cases:
            if path is None:
                path = m.group(1).replace("&amp;", "&") if m else "/intel"
            elif path == "object":
                path = re.search(r'href="(/intel/indicator--[^"]+)"', first).group(1)  # type: ignore[union-attr]
            server, wall = [], []
            for i in range(repeat + 1):
                if name == cold:
                    store_views._ACTIVITY_CACHE.clear()
                t = time.perf_counter()
                resp = c.get(path)
                elapsed = (time.perf_counter() - t) * 1000
                assert resp.status_code == 200, (path, resp.status_code, resp.text[:300])
                timing = resp.headers.get("server-timing", "")
                st = float(timing.split("dur=")[1]) if "dur=" in timing else float("nan")
                if i:  # the first request warms caches (templates, map shapes)
                    server.append(st)
                    wall.append(elapsed)
            results.append((name, server, wall))
    database.dispose()
    return results


# --- section: alerts inbox (issue 19) ---------------------------------------------------------

ALERTS_TARGET_MS = 200.0


def build_alerts(database_url: str, n: int) -> int:
    """The demo plus ``n`` alerts in Northmark's inbox (and a fifth as many for the others), in bulk.

    Realistic mix: every severity, 70 % new and the rest acknowledged, in progress or closed,
    each alert naming one demo object, so a page renders its references through the sharing policy.
    """
    from sqlalchemy import insert, select

    from colsec.accounts.models import Organisation
    from colsec.db import Database
    from colsec.demo import build_demo
    from colsec.intel.hooks import IntelConfig
    from colsec.intel.models import Alert, AlertObject, AlertRecipient
    from colsec.migrations import upgrade
    from colsec.node import demo_extensions
    from colsec.stix.ids import format_timestamp
    from colsec.store.models import StixObject

    database = Database(database_url)
    upgrade(database.engine)
    with database.unit_of_work() as db:
        build_demo(db, extensions=demo_extensions(IntelConfig()))
    rng = random.Random(19)
    with database.unit_of_work() as db:
        nm = db.execute(select(Organisation.id).where(Organisation.short_name == "NM-CERT")).scalar_one()
        others = list(db.execute(select(Organisation.id).where(Organisation.id != nm)).scalars())
        seqs = list(db.execute(select(StixObject.seq).where(StixObject.type == "indicator")).scalars())
        start = int(db.execute(select(Alert.id).order_by(Alert.id.desc()).limit(1)).scalar() or 0) + 1
    total = n + n // 5
    states = ["new"] * 7 + ["acknowledged", "in_progress", "closed"]
    base = datetime(2026, 11, 1, tzinfo=UTC)
    batch = 10_000
    t = time.perf_counter()
    for lo in range(0, total, batch):
        alerts, recipients, objects = [], [], []
        for i in range(lo, min(total, lo + batch)):
            aid = start + i
            org = nm if i < n else others[i % len(others)]
            at = format_timestamp(base + timedelta(seconds=20 * i))
            value = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
            alerts.append({"id": aid, "kind": "exposure", "dedupe_key": f"bench:{aid}",
                           "severity": rng.choice(("critical", "high", "medium", "low")),
                           "title": f"Shared indicator touches asset bench: {value}", "value_kind": "ipv4",
                           "value": value, "details": "{}", "created_at": at, "updated_at": at})  # fmt: skip
            state = rng.choice(states)
            recipients.append({"alert_id": aid, "organisation_id": org, "created_at": at, "state": state,
                               "escalation": 0, "acknowledged_by": None if state == "new" else "nm-analyst",
                               "acknowledged_at": None if state == "new" else at})  # fmt: skip
            objects.append({"alert_id": aid, "object_seq": rng.choice(seqs)})
        with database.unit_of_work() as db:
            db.execute(insert(Alert), alerts)
            db.execute(insert(AlertRecipient), recipients)
            db.execute(insert(AlertObject), objects)
        print(f"\r  {min(total, lo + batch):>7,} / {total:,} alerts", end="", file=sys.stderr, flush=True)
    print(f"\n  inserted in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    database.dispose()
    return start


def measure_alerts(
    database_url: str, data_dir: Path, repeat: int
) -> list[tuple[str, list[float], list[float]]]:
    from fastapi.testclient import TestClient

    from colsec.db import Database
    from colsec.demo import DEMO_PASSWORD
    from colsec.settings import Settings
    from colsec.web.app import create_app

    settings = Settings(data_dir=data_dir, database_url=database_url, secret_key="bench-secret")
    database = Database(database_url)
    app = create_app(settings, database=database)
    results = []
    with TestClient(app) as c:
        page = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = c.post("/login", data={"csrf_token": token, "username": "nm-analyst", "password": DEMO_PASSWORD},
                   follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text[:300]
        first = c.get("/alerts?state=all").text
        older = re.search(r'href="(/alerts\?[^"]*before=\d+)"', first)
        alert_id = re.search(r'data-alert-id="(\d+)"', first)
        cases = [
            ("inbox: open (default)", "/alerts"),
            ("inbox: all states", "/alerts?state=all"),
            ("inbox: closed", "/alerts?state=closed"),
            ("inbox: critical only", "/alerts?severity=critical"),
            ("inbox: older page", older.group(1).replace("&amp;", "&") if older else "/alerts?state=all"),
            ("alert page", f"/alerts/{alert_id.group(1) if alert_id else 1}"),
            ("dashboard (badge + map)", "/"),
            ("API: GET /api/v1/intel/alerts", "/api/v1/intel/alerts?state=open"),
        ]
        for name, path in cases:
            server, wall = [], []
            for i in range(repeat + 1):
                t = time.perf_counter()
                resp = c.get(path)
                elapsed = (time.perf_counter() - t) * 1000
                assert resp.status_code == 200, (path, resp.status_code, resp.text[:300])
                timing = resp.headers.get("server-timing", "")
                st = float(timing.split("dur=")[1]) if "dur=" in timing else elapsed
                if i:
                    server.append(st)
                    wall.append(elapsed)
            results.append((name, server, wall))
    database.dispose()
    return results


def alerts_main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="bench/web.py alerts", description="alerts inbox with N alerts")
    ap.add_argument("--alerts", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument(
        "--database-url", default=None, help="empty database to fill (default: a new SQLite file)"
    )
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="colsec-bench-alerts-"))
    url = args.database_url or f"sqlite:///{tmp / 'colsec.db'}"
    print(f"building demo + {args.alerts:,} alerts in {url.split('@')[-1]} ...", file=sys.stderr)
    build_alerts(url, args.alerts)
    rows = measure_alerts(url, tmp, args.repeat)
    print(f"\nalerts inbox, {args.alerts:,} alerts for NM-CERT (+{args.alerts // 5:,} for others), "
          f"{args.repeat} requests each (viewer: nm-analyst)")  # fmt: skip
    print(f"{'page':<34} {'server median':>14} {'server p95':>11} {'client median':>14}  target")
    worst = 0.0
    for name, server, wall in rows:
        med = statistics.median(server)
        p95 = sorted(server)[max(0, int(len(server) * 0.95) - 1)]
        worst = max(worst, p95)
        ok = "ok" if p95 < ALERTS_TARGET_MS else "SLOW"
        print(f"{name:<34} {med:>11.1f} ms {p95:>8.1f} ms {statistics.median(wall):>11.1f} ms  "
              f"<{ALERTS_TARGET_MS:.0f} ms {ok}")  # fmt: skip
    print(
        f"\nslowest p95 server time: {worst:.1f} ms ({'within' if worst < ALERTS_TARGET_MS else 'over'} target)"
    )


# --- section: dashboard and search pages (issue 7) ---------------------------------------------


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "alerts":
        alerts_main(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument(
        "--database-url", default=None, help="empty database to fill (default: a new SQLite file)"
    )
    ap.add_argument("--no-build", action="store_true", help="measure --database-url as it is (already built)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="colsec-bench-web-"))
    url = args.database_url or f"sqlite:///{tmp / 'colsec.db'}"
    if not args.no_build:
        print(f"building demo + {args.objects:,} indicators in {url.split('@')[-1]} ...", file=sys.stderr)
        t = time.perf_counter()
        build(url, args.objects)
        print(f"  built in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    rows = measure(url, tmp, args.repeat)
    print(f"\nweb UI, {args.objects:,} indicators + demo, {args.repeat} requests each (viewer: nm-analyst)")
    print(f"{'page':<32} {'server median':>14} {'server p95':>11} {'client median':>14}  target")
    worst = 0.0
    for name, server, wall in rows:
        med = statistics.median(server)
        p95 = sorted(server)[max(0, int(len(server) * 0.95) - 1)]
        worst = max(worst, med)
        ok = "ok" if med < TARGET_MS else "SLOW"
        print(
            f"{name:<32} {med:>11.1f} ms {p95:>8.1f} ms {statistics.median(wall):>11.1f} ms  <{TARGET_MS:.0f} ms {ok}"
        )
    print(
        f"\nslowest median server time: {worst:.1f} ms ({'within' if worst < TARGET_MS else 'over'} target)"
    )


if __name__ == "__main__":
    main()
