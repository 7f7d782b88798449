"""Web UI benchmark: server time of the dashboard, searches, the object page and the alerts inbox.

The store is the web benches' shared fixture (``bench/webfixture.py``: the demo alliance plus
N objects, a realistic TLP mix over the members, every object added "now" so the dashboard's
14-day window covers all of them: its worst case), cached between runs.  The app is served
in-process and each page timed as the server reports it (``Server-Timing: app``: from the
route's first dependency to the rendered HTML) and as the client sees it, beside
``GET /healthz`` (the framework's floor) as the reference.

    python bench/web.py --objects 1000000 [--repeat 15] [--database-url URL] [--no-build] [--rebuild]
    python bench/web.py alerts --alerts 100000 --objects 1000000 [--repeat 15] [--database-url URL]

Targets (issue 19, at 1,000,000 objects): search and dashboard p95 < 300 ms server time, the
object page < 100 ms; section ``alerts``: the inbox of an organisation holding 100,000 alerts
< 200 ms (issue 7 set 300 ms at 100,000 objects).
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import webfixture  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 300.0
OBJECT_TARGET_MS = 100.0


def measure(
    database_url: str, data_dir: Path, repeat: int
) -> list[tuple[str, float, list[float], list[float], list[float]]]:
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
        ("reference: GET /healthz", "/healthz"),
    ]
    results = []
    client, database = webfixture.app_client(database_url, data_dir)
    try:
        first = client.get("/intel").text
        m = re.search(r'href="(/intel\?[^"]*cursor=[^"]+)"', first)
        for name, path in cases:
            if path is None:
                path = m.group(1).replace("&amp;", "&") if m else "/intel"
            elif path == "object":
                path = re.search(r'href="(/intel/indicator--[^"]+)"', first).group(1)  # type: ignore[union-attr]
            target = OBJECT_TARGET_MS if path.startswith("/intel/") or path == "/healthz" else TARGET_MS
            server, wall, cpu = webfixture.timed(
                client, path, repeat, before=store_views._ACTIVITY_CACHE.clear if name == cold else None
            )
            results.append((name, target, server, wall, cpu))
    finally:
        client.__exit__(None, None, None)
        database.dispose()
    return results


# --- section: alerts inbox (issue 19) ---------------------------------------------------------

ALERTS_TARGET_MS = 200.0


def build_alerts(database_url: str, n: int) -> int:
    """``n`` alerts in Northmark's inbox (and a fifth as many for the others), in bulk, in a built store.

    Realistic mix: every severity, 70 % new and the rest acknowledged, in progress or closed,
    each alert naming one demo object, so a page renders its references through the sharing policy.
    """
    from sqlalchemy import insert, select

    from colsec.accounts.models import Organisation
    from colsec.db import Database
    from colsec.intel.models import Alert, AlertObject, AlertRecipient
    from colsec.stix.ids import format_timestamp
    from colsec.store.models import StixObject

    database = Database(database_url)
    rng = random.Random(19)
    with database.unit_of_work() as db:
        nm = db.execute(select(Organisation.id).where(Organisation.short_name == "NM-CERT")).scalar_one()
        others = list(db.execute(select(Organisation.id).where(Organisation.id != nm)).scalars())
        seqs = list(
            db.execute(select(StixObject.seq).where(StixObject.type == "indicator").limit(50_000)).scalars()
        )
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
) -> list[tuple[str, float, list[float], list[float], list[float]]]:
    results = []
    client, database = webfixture.app_client(database_url, data_dir)
    try:
        first = client.get("/alerts?state=all").text
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
            ("reference: GET /healthz", "/healthz"),
        ]
        for name, path in cases:
            server, wall, cpu = webfixture.timed(client, path, repeat)
            results.append((name, ALERTS_TARGET_MS, server, wall, cpu))
    finally:
        client.__exit__(None, None, None)
        database.dispose()
    return results


def alerts_main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="bench/web.py alerts", description="alerts inbox with N alerts")
    ap.add_argument("--alerts", type=int, default=100_000)
    ap.add_argument("--objects", type=int, default=100_000, help="objects of the store beside the alerts")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument(
        "--database-url", default=None, help="empty database to fill (default: a copy of the cached store)"
    )
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="colsec-bench-alerts-"))
    if args.database_url:
        url = webfixture.store_url(args.objects, args.database_url, no_build=False, rebuild=False)
    else:  # the alerts go into a copy: the cached store stays as the search benches expect it
        cached = webfixture.store_url(args.objects, None, no_build=False, rebuild=False)
        shutil.copyfile(cached.removeprefix("sqlite:///"), tmp / "colsec.db")
        url = f"sqlite:///{tmp / 'colsec.db'}"
    print(f"adding {args.alerts:,} alerts ...", file=sys.stderr)
    build_alerts(url, args.alerts)
    rows = measure_alerts(url, tmp, args.repeat)
    webfixture.report(
        f"alerts inbox, {args.alerts:,} alerts for NM-CERT (+{args.alerts // 5:,} for others), {args.objects:,} "
        f"objects + demo, {args.repeat} requests each (viewer: nm-analyst), {url.split(':')[0]}",
        rows,
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
        "--database-url", default=None, help="empty database to fill (default: a cached SQLite file)"
    )
    ap.add_argument("--no-build", action="store_true", help="measure --database-url as it is (already built)")
    ap.add_argument("--rebuild", action="store_true", help="build the cached SQLite store anew")
    args = ap.parse_args()
    url = webfixture.store_url(args.objects, args.database_url, no_build=args.no_build, rebuild=args.rebuild)
    rows = measure(url, Path(tempfile.mkdtemp(prefix="colsec-bench-web-")), args.repeat)
    webfixture.report(
        f"web UI, {args.objects:,} objects + demo, {args.repeat} requests each (viewer: nm-analyst), "
        f"{url.split(':')[0]}",
        rows,
    )


if __name__ == "__main__":
    main()
