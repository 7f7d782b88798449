"""Job pickup latency: enqueue → started, on SQLite and PostgreSQL, with 1 and 2 worker processes.

Each worker is a real process running ``JobRunner`` with a no-op handler (the latency of
the queue, not of any handler).  Jobs are enqueued one at a time at a steady rate, each in
its own transaction, as requests queue them; the pickup latency is ``started_at -
created_at`` of every job, both stamped by the database clients on this machine.

    python bench/jobs.py [--jobs 300] [--interval 0.02] [--database-url postgresql+psycopg://...]

Target (issue 18): p99 < 200 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, select, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from colsec.accounts.roles import SYSTEM  # noqa: E402
from colsec.db import Database  # noqa: E402
from colsec.jobs import queue  # noqa: E402
from colsec.jobs.models import Job  # noqa: E402
from colsec.jobs.runner import JobRunner  # noqa: E402
from colsec.migrations import upgrade  # noqa: E402

KIND = "bench.noop"


def serve(url: str, worker_id: str, poll: float) -> None:
    """The worker process: run no-op jobs until stdin closes."""
    database = Database(url)
    runner = JobRunner(database, {KIND: lambda ctx: None}, worker_id=worker_id, poll_seconds=poll)
    stop = threading.Event()
    runner_thread = threading.Thread(target=runner.run_forever, args=(stop,), daemon=True)
    runner_thread.start()
    print("ready", flush=True)
    sys.stdin.read()
    stop.set()
    runner_thread.join(10)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def measure(url: str, workers: int, jobs: int, interval: float, poll: float) -> list[float]:
    database = Database(url)
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--serve", url, "--id", f"w{i}", "--poll", str(poll)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for i in range(workers)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        ids = []
        for _ in range(jobs):
            with database.unit_of_work() as s:
                ids.append(queue.enqueue(s, kind=KIND, payload={}, actor=SYSTEM).id)
            time.sleep(interval)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with database.unit_of_work(write=False) as s:
                rows = s.execute(select(Job.created_at, Job.started_at).where(Job.id.in_(ids))).all()
            if all(r.started_at for r in rows):
                break
            time.sleep(0.1)
    finally:
        for p in procs:
            assert p.stdin is not None
            p.stdin.close()
            p.wait(30)
        database.dispose()
    return sorted(
        (_aware(r.started_at) - _aware(r.created_at)).total_seconds() * 1000 for r in rows if r.started_at
    )


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=300)
    ap.add_argument("--interval", type=float, default=0.02, help="seconds between two enqueues")
    ap.add_argument(
        "--poll", type=float, default=0.05, help="idle poll of each worker (COLSEC_JOBS_POLL_SECONDS)"
    )
    ap.add_argument("--database-url", default=os.environ.get("COLSEC_BENCH_DATABASE_URL"),
                    help="a PostgreSQL URL (a throwaway schema is made in it); without one, SQLite only")  # fmt: skip
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--id", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.id, args.poll)
        return
    targets: list[tuple[str, str]] = []
    folder = Path(tempfile.mkdtemp(prefix="colsec-bench-jobs-"))
    targets.append(("SQLite", f"sqlite:///{folder / 'colsec.db'}"))
    schema = None
    if args.database_url:
        schema = f"bench_jobs_{uuid.uuid4().hex[:8]}"
        with create_engine(args.database_url).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in args.database_url else "?"
        targets.append(("PostgreSQL", f"{args.database_url}{sep}options=-csearch_path%3D{schema}"))
    try:
        print(
            f"{args.jobs} jobs, one every {args.interval * 1000:.0f} ms, worker idle poll {args.poll * 1000:.0f} ms"
        )
        print(f"{'database':<12}{'workers':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'mean ms':>9}")
        for name, url in targets:
            db = Database(url)
            upgrade(db.engine)
            db.dispose()
            for workers in (1, 2):
                lat = measure(url, workers, args.jobs, args.interval, args.poll)
                print(f"{name:<12}{workers:>8}{_pct(lat, 0.5):>9.1f}{_pct(lat, 0.99):>9.1f}{lat[-1]:>9.1f}"
                      f"{statistics.fmean(lat):>9.1f}", flush=True)  # fmt: skip
    finally:
        if schema and args.database_url:
            with create_engine(args.database_url).begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
