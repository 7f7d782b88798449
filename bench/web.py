"""Web UI benchmark: server time of the dashboard and of searches with N objects in the store.

Builds the demo alliance plus N synthetic indicators (one per member in turn, a
realistic TLP mix, labels, every object added "today" so the dashboard's 14-day
window covers all of them: its worst case), then serves the app in-process and
times each page as the server reports it (``Server-Timing: app``: from the
route's first dependency to the rendered HTML) and as the client sees it.

    python bench/web.py --objects 100000 [--repeat 15] [--database-url URL]

Target (issue 7): search and dashboard under 300 ms server time at 100,000 objects.
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


def main() -> None:
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
