"""Bulletins, series and the public feed at scale.

Builds the demo alliance plus N synthetic objects (indicators and malware, a realistic TLP
mix, one member after another) and M sightings of them, all added "today" so the weekly
period covers every one (its worst case).  Then, in a fresh process (so peak RSS is that of
serving, not of loading):

- the weekly threat review for TLP:GREEN: draft (every section's queries), HTML and PDF (en);
- ``/api/v1/reports/series`` (objects by type, 14 days) as an analyst: p50/p99 over R requests;
- ``/public/feed.atom``: p50/p99 over R requests (the throttle is reset between requests);
- peak RSS of the measuring process.

    python bench/reports.py --objects 1000000 --sightings 100000 [--repeat 200] [--database-url URL]

Targets (issue 22): weekly HTML < 5 s, PDF < 15 s, peak RSS < 500 MB, feed p99 < 20 ms,
series p99 < 200 ms at 1,000,000 objects and 100,000 sightings.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BENCH_NS = uuid.UUID("6b0e2f4c-1d3a-4b5e-8f70-9a1b2c3d4e5f")


def build(database_url: str, n: int, m: int) -> None:
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
    rng = random.Random(22)
    tlps = [TLP.CLEAR, TLP.GREEN, TLP.GREEN, TLP.AMBER, TLP.AMBER, TLP.AMBER, TLP.AMBER_STRICT, TLP.RED]
    batch = 5000
    started = time.perf_counter()
    total = n + m
    for start in range(0, total, batch):
        org = members[(start // batch) % len(members)]
        actor = Actor(username="bench", role=Role.ANALYST, org_id=org.id, org_short_name=org.short_name)
        ts = now_timestamp()
        objs = []
        for i in range(start, min(total, start + batch)):
            mark = [marking_id(rng.choice(tlps))]
            if i >= n:  # a sighting of one of the malware objects
                target = f"malware--{uuid.uuid5(BENCH_NS, str(rng.randrange(0, max(n, 1), 10)))}"
                objs.append({"type": "sighting", "spec_version": "2.1", "id": f"sighting--{uuid.uuid5(BENCH_NS, str(i))}",
                             "created": ts, "modified": ts, "sighting_of_ref": target, "count": 1,
                             "object_marking_refs": mark})  # fmt: skip
            elif i % 10 == 0:
                objs.append({"type": "malware", "spec_version": "2.1", "id": f"malware--{uuid.uuid5(BENCH_NS, str(i))}",
                             "created": ts, "modified": ts, "name": f"bench family {i}", "is_family": True,
                             "object_marking_refs": mark})  # fmt: skip
            else:
                objs.append({"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid5(BENCH_NS, str(i))}",
                             "created": ts, "modified": ts, "pattern": f"[domain-name:value = 'h{i}.bench.example']",
                             "pattern_type": "stix", "valid_from": ts, "object_marking_refs": mark})  # fmt: skip
        with database.unit_of_work() as db:
            import_objects(db, actor=actor, objects=objs, owner_org_id=org.id)
        done = min(total, start + batch)
        rate = done / (time.perf_counter() - started)
        print(
            f"\r  loaded {done:>8,} / {total:,} objects ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True
        )
    print(file=sys.stderr)
    database.dispose()


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def measure(database_url: str, data_dir: Path, repeat: int) -> None:
    from datetime import UTC, datetime, timedelta

    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from colsec.accounts import service as accounts
    from colsec.accounts.models import User
    from colsec.accounts.roles import SYSTEM
    from colsec.db import Database
    from colsec.reports import service
    from colsec.settings import Settings
    from colsec.stix.tlp import TLP
    from colsec.web.app import create_app
    from colsec.web.ui.reports import render_html, render_pdf

    database = Database(database_url)
    end = (datetime.now(UTC) + timedelta(days=1)).date()
    figures: list[tuple[str, float, str]] = []
    with database.unit_of_work() as s:
        t = time.perf_counter()
        b = service.create_draft(s, actor=SYSTEM, kind="weekly", audience=TLP.GREEN, end=end)
        figures.append(("weekly draft (sections)", time.perf_counter() - t, ""))
        t = time.perf_counter()
        html = render_html(b, "en")
        figures.append(("weekly HTML render", time.perf_counter() - t, f"{len(html):,} chars"))
        t = time.perf_counter()
        pdf = render_pdf(b, "en")
        figures.append(("weekly PDF render", time.perf_counter() - t, f"{len(pdf):,} bytes"))
        clear = service.create_draft(s, actor=SYSTEM, kind="daily", audience=TLP.CLEAR, end=end)
        clear.status, clear.published_at = "published", datetime.now(UTC)
        user = s.execute(select(User).where(User.username == "nm-analyst")).scalar_one()
        token = accounts.create_token(s, actor=SYSTEM, user=user)
    settings = Settings(
        data_dir=data_dir, database_url=database_url, secret_key="bench-secret-key-not-for-production"
    )
    app = create_app(settings, database=database)
    with TestClient(app) as c:
        h = {"Authorization": f"Bearer {token}"}
        c.get(
            "/api/v1/reports/series?metric=objects&by=type&period=14d", headers=h
        )  # warm: templates, caches
        c.get("/public/feed.atom")
        series: list[float] = []
        feed: list[float] = []
        for _ in range(repeat):
            t = time.perf_counter()
            r = c.get("/api/v1/reports/series?metric=objects&by=type&period=14d", headers=h)
            series.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
            app.state.feed_hits = {}
            t = time.perf_counter()
            r = c.get("/public/feed.atom")
            feed.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for name, secs, note in figures:
        print(f"{name:<28} {secs:>8.2f} s   {note}")
    for name, vals in (("series (objects by type)", series), ("public feed (Atom)", feed)):
        print(
            f"{name:<28} p50 {statistics.median(vals):>7.1f} ms   p99 {_pct(vals, 0.99):>7.1f} ms   ({len(vals)} requests)"
        )
    print(f"{'peak RSS (measuring process)':<28} {rss_mb:>8.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=1_000_000)
    ap.add_argument("--sightings", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument(
        "--database-url", default=None, help="empty database to fill (default: a new SQLite file)"
    )
    ap.add_argument("--no-build", action="store_true", help="measure --database-url as it is (already built)")
    ap.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="colsec-bench-reports-"))
    url = args.database_url or f"sqlite:///{tmp / 'colsec.db'}"
    if args.measure_only:
        measure(url, tmp, args.repeat)
        return
    if not args.no_build:
        print(f"building demo + {args.objects:,} objects + {args.sightings:,} sightings ...", file=sys.stderr)
        t = time.perf_counter()
        build(url, args.objects, args.sightings)
        print(f"  built in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    print(f"\nbulletins, {args.objects:,} objects + {args.sightings:,} sightings + demo")
    subprocess.run(
        [sys.executable, __file__, "--measure-only", "--database-url", url, "--repeat", str(args.repeat)],
        check=True,
    )


if __name__ == "__main__":
    main()
