"""Bulletins, series and the public feed at scale.

Builds the demo alliance plus N synthetic objects (indicators and malware, a realistic TLP
mix, spread over members) and M sightings of them, dated over the week before today so the
weekly period covers every one (its worst case).  The store is written by executemany and
cached under the temp dir (``colsec-bench-reports/``) for reruns the same day.  Then, in a
fresh process (so peak RSS is that of serving, not of loading):

- the weekly threat review for TLP:GREEN: draft (every section's queries), HTML and PDF (en),
  beside the raw SQL of the same SELECTs replayed on the driver;
- ``/api/v1/reports/series`` (objects by type, 14 days) as an analyst: p50/p99 over R requests;
- ``/public/feed.atom``: p50/p99 over R requests, the shared rate limit counting each one,
  beside the feed validator's raw SQL and ``GET /healthz`` (the framework's floor);
- peak RSS of the measuring process: the whole process (``VmHWM``), beside its anonymous and
  file-backed peaks and the database connections it opened.

    python bench/reports.py --objects 1000000 --sightings 100000 [--repeat 200] [--database-url URL]

The node's settings come from the environment as in a node: ``COLSEC_SQLITE_MMAP_BYTES`` and
``COLSEC_SQLITE_CACHE_KIB`` measure other SQLite memory settings over the same store.

Targets (issue 22): weekly HTML < 5 s, PDF < 15 s, peak RSS < 500 MB, feed p99 < 20 ms,
series p99 < 200 ms at 1,000,000 objects and 100,000 sightings.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import planner  # noqa: E402

BENCH_NS = uuid.UUID("6b0e2f4c-1d3a-4b5e-8f70-9a1b2c3d4e5f")
REPORT_TABLES = ("stix_object", "object_link")  # the bulk-loaded tables the reports read


def build(database_url: str, n: int, m: int) -> None:
    """The demo alliance, then ``n`` objects and ``m`` sightings written straight into the tables.

    A fixture, not an import: rows go in by executemany (minutes less than the write gate at
    a million objects) into exactly the tables the reports read: ``stix_object`` and, for
    sightings, the ``object_link`` index the write gate keeps.  Rows are spread over the seven
    days before today, so the weekly period covers every one (its worst case).
    """
    from datetime import UTC, datetime, timedelta

    import orjson
    from sqlalchemy import func, insert, select

    from colsec.accounts.models import Organisation
    from colsec.db import Database
    from colsec.demo import build_demo
    from colsec.intel.hooks import IntelConfig
    from colsec.migrations import upgrade
    from colsec.node import demo_extensions
    from colsec.stix.ids import format_timestamp
    from colsec.stix.tlp import TLP, marking_id
    from colsec.store.models import ObjectLink, StixObject

    database = Database(database_url)
    upgrade(database.engine)
    with database.unit_of_work() as db:
        build_demo(db, extensions=demo_extensions(IntelConfig()))
        members = [
            o.id for o in db.execute(select(Organisation).where(Organisation.kind == "member")).scalars()
        ]
        seq0 = int(db.execute(select(func.max(StixObject.seq))).scalar() or 0)
    rng = random.Random(22)
    tlps = [TLP.CLEAR, TLP.GREEN, TLP.GREEN, TLP.AMBER, TLP.AMBER, TLP.AMBER, TLP.AMBER_STRICT, TLP.RED]
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    batch = 20_000
    started = time.perf_counter()
    total = n + m
    for start in range(0, total, batch):
        objs: list[dict[str, object]] = []
        links: list[dict[str, object]] = []
        for i in range(start, min(total, start + batch)):
            level = rng.choice(tlps)
            ts = format_timestamp(today - timedelta(days=7) + timedelta(seconds=i * 604_800 // total))
            base = {
                "spec_version": "2.1",
                "created": ts,
                "modified": ts,
                "object_marking_refs": [marking_id(level)],
            }
            if i >= n:  # a sighting of one of the malware objects
                oid = f"sighting--{uuid.uuid5(BENCH_NS, str(i))}"
                target = f"malware--{uuid.uuid5(BENCH_NS, str(rng.randrange(0, max(n, 1), 10)))}"
                body = {"type": "sighting", "id": oid, **base, "sighting_of_ref": target, "count": 1}
                links.append({"ref_id": target, "seq": seq0 + i + 1})
            elif i % 10 == 0:
                oid = f"malware--{uuid.uuid5(BENCH_NS, str(i))}"
                body = {"type": "malware", "id": oid, **base, "name": f"bench family {i}", "is_family": True}
            else:
                oid = f"indicator--{uuid.uuid5(BENCH_NS, str(i))}"
                body = {"type": "indicator", "id": oid, **base, "pattern_type": "stix", "valid_from": ts,
                        "pattern": f"[domain-name:value = 'h{i}.bench.example']"}  # fmt: skip
            objs.append(
                {
                    "seq": seq0 + i + 1,
                    "id": oid,
                    "type": body["type"],
                    "spec_version": "2.1",
                    "created": ts,
                    "modified": ts,
                    "created_by_ref": None,
                    "owner_org_id": members[(i // 1000) % len(members)],
                    "tlp": int(level),
                    "sharing_group_id": None,
                    "revoked": False,
                    "is_latest": True,
                    "date_added": ts,
                    "origin": None,
                    "body": orjson.dumps(body).decode(),
                }  # fmt: skip
            )
        with database.unit_of_work() as db:
            db.execute(insert(StixObject), objs)
            if links:
                db.execute(insert(ObjectLink), links)
        done = min(total, start + batch)
        rate = done / (time.perf_counter() - started)
        print(f"\r  wrote {done:>9,} / {total:,} rows ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    planner.analyze(database, REPORT_TABLES)
    database.dispose()


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def measure(database_url: str, data_dir: Path, repeat: int) -> None:
    from datetime import UTC, datetime, timedelta

    from fastapi.testclient import TestClient
    from sqlalchemy import event, select

    from colsec.accounts import service as accounts
    from colsec.accounts.models import User
    from colsec.accounts.roles import SYSTEM
    from colsec.migrations import upgrade
    from colsec.node import open_database
    from colsec.reports import service
    from colsec.settings import Settings
    from colsec.stix.tlp import TLP
    from colsec.web.app import create_app
    from colsec.web.ui.reports import render_html, render_pdf

    memory = _MemoryPeak()
    settings = Settings(
        data_dir=data_dir, database_url=database_url, secret_key="bench-secret-key-not-for-production",
        feed_requests_per_minute=10**9,  # the throttle's count stays in the measured path; never refuses
    )  # fmt: skip
    database = open_database(settings)
    connections = [0]
    event.listen(database.engine, "connect", lambda *_: connections.__setitem__(0, connections[0] + 1))
    upgrade(database.engine)  # a store cached by an older build gets this code's indexes
    stats = planner.statistics_on_record(database, REPORT_TABLES)
    if not all(stats.values()):  # a store built before its statistics persisted
        stats = planner.analyze(database, REPORT_TABLES)
    stats_note = ", ".join(f"{table} {n}" for table, n in stats.items())
    end = (datetime.now(UTC) + timedelta(days=1)).date()
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, many: bool) -> None:
        if not many and statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, params))

    with database.unit_of_work() as s:
        event.listen(database.engine, "before_cursor_execute", capture)
        t, cpu = time.perf_counter(), time.process_time()
        b = service.create_draft(s, actor=SYSTEM, kind="weekly", audience=TLP.GREEN, end=end)
        draft_s = time.perf_counter() - t
        draft_cpu = time.process_time() - cpu
        event.remove(database.engine, "before_cursor_execute", capture)
        t = time.perf_counter()
        html = render_html(b, "en")
        html_s = time.perf_counter() - t
        t = time.perf_counter()
        pdf = render_pdf(b, "en")
        pdf_s = time.perf_counter() - t
        clear = service.create_draft(s, actor=SYSTEM, kind="daily", audience=TLP.CLEAR, end=end)
        clear.status, clear.published_at = "published", datetime.now(UTC)
        user = s.execute(select(User).where(User.username == "nm-analyst")).scalar_one()
        token = accounts.create_token(s, actor=SYSTEM, user=user)
    # Reference: the very SELECTs the sections ran, replayed on the driver (no ORM, no Python work).
    raw = database.engine.raw_connection()
    try:
        cur = raw.cursor()
        t, cpu = time.perf_counter(), time.process_time()
        for statement, params in statements:
            cur.execute(statement, params)
            cur.fetchall()
        raw_s = time.perf_counter() - t
        raw_cpu = time.process_time() - cpu
        t = time.perf_counter()
        cur.execute(*_validator_sql(database))
        cur.fetchall()
        raw_validator_ms = (time.perf_counter() - t) * 1000
    finally:
        raw.close()
    app = create_app(settings, database=database)
    timings: dict[str, list[float]] = {"series": [], "feed": [], "healthz": []}
    urls = {
        "series": "/api/v1/reports/series?metric=objects&by=type&period=14d",
        "feed": "/public/feed.atom",
        "healthz": "/healthz",
    }
    with TestClient(app) as c:
        h = {"Authorization": f"Bearer {token}"}
        for url in urls.values():  # warm: templates, caches
            c.get(url, headers=h)
        for _ in range(repeat):
            for name, url in urls.items():
                t = time.perf_counter()
                r = c.get(url, headers=h if name == "series" else None)
                timings[name].append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
    rss_mb, anon_mb, file_mb = memory.stop()
    hz = timings["healthz"]
    ref_http = f"GET /healthz p99 {_pct(hz, 0.99):.1f} ms (p50 {statistics.median(hz):.1f})"
    rows = [
        ("weekly sections (draft)", f"{draft_s:.2f} s", "",
         f"raw SQL of its {len(statements)} SELECTs: {raw_s:.2f} s; CPU {draft_cpu:.2f} s beside {raw_cpu:.2f} s"),
        ("weekly HTML (draft + render)", f"{draft_s + html_s:.2f} s", "< 5 s",
         f"render alone {html_s:.2f} s, {len(html):,} chars"),
        ("weekly PDF (draft + render)", f"{draft_s + pdf_s:.2f} s", "< 15 s",
         f"render alone {pdf_s:.2f} s, {len(pdf):,} bytes"),
        ("series p99 (objects by type)", f"{_pct(timings['series'], 0.99):.1f} ms", "< 200 ms",
         f"p50 {statistics.median(timings['series']):.1f} ms; {ref_http}"),
        ("public feed p99 (Atom)", f"{_pct(timings['feed'], 0.99):.1f} ms", "< 20 ms",
         f"p50 {statistics.median(timings['feed']):.1f} ms; raw validator SQL {raw_validator_ms:.2f} ms; "
         f"{ref_http}"),
        ("peak RSS (whole process)", f"{rss_mb:.0f} MB", "< 500 MB",
         f"peaks: anonymous {anon_mb:.0f} MB, file-backed {file_mb:.0f} MB; {connections[0]} database "
         f"connection(s){_sqlite_memory(database)}"),
    ]  # fmt: skip
    print(f"{'figure':<30} {'colsec':>10}  {'target':<9} reference")
    for name, value, target, ref in rows:
        print(f"{name:<30} {value:>10}  {target:<9} {ref}")
    print(f"({repeat} requests each; planner statistics rows: {stats_note}; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())})")  # fmt: skip


def _sqlite_memory(database: Any) -> str:
    if not database.sqlite:
        return ""
    with database.engine.connect() as conn:
        mmap = conn.exec_driver_sql("PRAGMA mmap_size").scalar()
        cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    return f", each with mmap_size {mmap / 2**20:.0f} MiB, cache_size {abs(cache) / 1024:.0f} MiB"


class _MemoryPeak:
    """The process's peak RSS, whole and split into anonymous and file-backed memory.

    The target is read against the whole-process peak (``VmHWM``, what ``ru_maxrss`` reports
    too): file-backed pages a process maps count towards its RSS like any other.  The split is
    sampled every 5 ms (the kernel keeps no peak of its parts): anonymous memory is what Python
    and SQLite's page caches hold; file-backed memory is mostly SQLite's memory-mapped database,
    counted once per connection that maps a page.
    """

    def __init__(self) -> None:
        import threading

        self.anon = self.file = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _status() -> dict[str, int]:
        with open("/proc/self/status") as f:
            return {
                k: int(v.split()[0]) for k, _, v in (line.partition(":") for line in f) if v.endswith("kB\n")
            }

    def _sample(self) -> dict[str, int]:
        status = self._status()
        self.anon = max(self.anon, status["RssAnon"])
        self.file = max(self.file, status["RssFile"] + status.get("RssShmem", 0))
        return status

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self._sample()

    def stop(self) -> tuple[float, float, float]:
        """(whole-process peak, peak anonymous, peak file-backed) in MB."""
        self._stop.set()
        self._thread.join()
        hwm = max(self._sample()["VmHWM"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        return hwm / 1024, self.anon / 1024, self.file / 1024


def _validator_sql(database: Any) -> tuple[str, Any]:
    from sqlalchemy import event, select

    from colsec.reports.feed import validator

    captured: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        captured.append((statement, params))

    with database.unit_of_work(write=False) as s:
        s.execute(select(1))  # the connection is open before listening
        event.listen(database.engine, "before_cursor_execute", grab)
        try:
            validator(s)
        finally:
            event.remove(database.engine, "before_cursor_execute", grab)
    return captured[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=1_000_000)
    ap.add_argument("--sightings", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument(
        "--database-url", default=None, help="empty database to fill (default: a cached SQLite file)"
    )
    ap.add_argument("--no-build", action="store_true", help="measure --database-url as it is (already built)")
    ap.add_argument("--rebuild", action="store_true", help="build the cached SQLite store anew")
    ap.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="colsec-bench-reports-"))
    if args.measure_only:
        measure(args.database_url, tmp, args.repeat)
        return
    # The store is cached between runs under the temp dir, keyed by size and day (rows are dated
    # over the week before today): a rerun measures at once instead of writing a million rows.
    cache = Path(tempfile.gettempdir()) / "colsec-bench-reports"
    cache.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d", time.gmtime())
    db_file = cache / f"{args.objects}-{args.sightings}-{stamp}.db"
    url = args.database_url or f"sqlite:///{db_file}"
    done = db_file.with_suffix(".done")
    build_it = not args.no_build and (args.database_url is not None or args.rebuild or not done.exists())
    if build_it:
        if args.database_url is None:
            for old in cache.glob(f"{args.objects}-{args.sightings}-*"):
                old.unlink()
        print(f"building demo + {args.objects:,} objects + {args.sightings:,} sightings ...", file=sys.stderr)
        t = time.perf_counter()
        build(url, args.objects, args.sightings)
        print(f"  built in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        if args.database_url is None:
            done.touch()
    elif args.database_url is None:
        print(f"using the cached store {db_file}", file=sys.stderr)
    print(f"\nbulletins, {args.objects:,} objects + {args.sightings:,} sightings + demo")
    subprocess.run(
        [sys.executable, __file__, "--measure-only", "--database-url", url, "--repeat", str(args.repeat)],
        check=True,
    )


if __name__ == "__main__":
    main()
