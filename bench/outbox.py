"""Outbox delivery latency: a row committed → the local receiver has it (target p99 < 1 s).

A job worker (``colsec worker``, which delivers the outbox, polling every ``--interval`` seconds
when idle) drains the outbox to a webhook receiver on 127.0.0.1 that verifies every
signature.  Rows are committed one by one at ``--rate`` per second; the latency of
each is its arrival time at the receiver minus its commit time (one machine, one clock).

    python bench/outbox.py [--n 300] [--rate 50] [--interval 0.05] [--backend sqlite|pg] [--pg URL]
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from sqlalchemy import create_engine, text  # noqa: E402

from colsec.accounts import service as accounts  # noqa: E402
from colsec.accounts.roles import SYSTEM  # noqa: E402
from colsec.db import Database  # noqa: E402
from colsec.migrations import upgrade  # noqa: E402
from colsec.outbox import Channel, Outgoing, put  # noqa: E402
from colsec.outbox.models import Webhook  # noqa: E402
from colsec.outbox.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify  # noqa: E402

SECRET = "bench-secret-0123456789"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _receiver() -> tuple[ThreadingHTTPServer, dict[str, float]]:
    arrived: dict[str, float] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server hook name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            verify(SECRET, body, self.headers.get(SIGNATURE_HEADER))
            arrived.setdefault(self.headers[IDEMPOTENCY_HEADER], time.time())
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server, arrived


def _database(backend: str, pg: str, folder: Path) -> tuple[Database, str | None]:
    if backend == "sqlite":
        return Database(f"sqlite:///{folder / 'bench.db'}"), None
    schema = f"bench_outbox_{uuid.uuid4().hex[:8]}"
    with create_engine(pg).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg else "?"
    return Database(f"{pg}{sep}options=-csearch_path%3D{schema}"), schema


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _wait_until_running(worker: subprocess.Popen[str], timeout: float = 120.0) -> None:
    """Measure delivery, not start-up: rows are committed once the worker says it runs."""
    assert worker.stdout is not None
    deadline = time.monotonic() + timeout
    for line in worker.stdout:
        print(line, end="")
        if "running" in line:
            break
        if time.monotonic() > deadline:
            raise SystemExit("the worker did not start in time")
    else:
        raise SystemExit(f"the worker exited before running (code {worker.wait()})")
    threading.Thread(target=lambda: [None for _ in worker.stdout or ()], daemon=True).start()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--rate", type=float, default=50.0, help="rows committed per second")
    ap.add_argument("--interval", type=float, default=0.05, help="deliverer's idle poll interval")
    ap.add_argument("--backend", choices=["sqlite", "pg"], default="sqlite")
    ap.add_argument("--pg", default=PG_DEFAULT)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="colsec-bench-outbox-"))
    database, schema = _database(args.backend, args.pg, folder)
    upgrade(database.engine)
    server, arrived = _receiver()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    with database.unit_of_work() as s:
        org = accounts.create_organisation(s, actor=SYSTEM, name="Bench agency", short_name="BENCH")
        hook = Webhook(organisation_id=org.id, url=url, secret=SECRET, topics=["alerts"], active=True)
        s.add(hook)
        s.flush()
        org_id, hook_id = org.id, hook.id
    env = {
        **os.environ, "PYTHONPATH": str(REPO / "src"), "COLSEC_DATABASE_URL": database.url,
        "COLSEC_DATA_DIR": str(folder / "data"), "COLSEC_OUTBOUND_ALLOW": "127.0.0.0/8",
        "COLSEC_JOBS_POLL_SECONDS": str(args.interval),
    }  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "colsec", "worker", "--id", "bench"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    committed: dict[str, float] = {}
    try:
        _wait_until_running(worker)
        for i in range(args.n):
            key = f"bench:{i}"
            with database.unit_of_work() as s:
                put(
                    s,
                    [
                        Outgoing(
                            Channel.WEBHOOK,
                            f"webhook:{hook_id}",
                            "bench",
                            key,
                            org_id,
                            {"event": "bench", "i": i},
                        )
                    ],
                )
            committed[key] = time.time()
            time.sleep(1.0 / args.rate)
        deadline = time.monotonic() + 30
        while len(arrived) < args.n and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.terminate()
        worker.wait(10)
        server.shutdown()
        if schema:
            database.dispose()
            with create_engine(args.pg).begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    lat = [arrived[k] - t for k, t in committed.items() if k in arrived]
    print(
        f"outbox delivery latency ({args.backend}, {args.n} rows at {args.rate:g}/s, poll {args.interval:g} s)"
    )
    print(f"  delivered {len(lat)}/{args.n}")
    if lat:
        print(
            f"  p50 {statistics.median(lat) * 1000:.1f} ms  p99 {_pct(lat, 99) * 1000:.1f} ms  "
            f"max {max(lat) * 1000:.1f} ms  (target p99 < 1000 ms)"
        )


if __name__ == "__main__":
    main()
