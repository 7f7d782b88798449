"""Consultation benchmark: N representatives answer at the same moment against a real uvicorn node.

Sets up N member organisations with one representative each, an escalated incident, a crisis,
a submitted request and an open consensus consultation (every member eligible), then fires the
N positions at once over HTTP (one thread and connection per representative) and reports wall
time, positions/s and latency percentiles, and checks the invariants (every accepted position
counted, exactly one decision).

    python bench/crisis_consultation.py [--n 50] [--backends sqlite,pg] [--pg URL]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text

from colsec.accounts import service as accounts
from colsec.accounts.roles import SYSTEM, Role
from colsec.crisis import service
from colsec.crisis.models import Consultation, Position
from colsec.crisis.schemas import ConsultationIn, CrisisIn, IncidentIn, RequestIn, TransitionIn
from colsec.db import Database
from colsec.migrations import upgrade
from colsec.store.models import AuditEntry


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _setup(database: Database, n: int) -> tuple[int, list[str]]:
    tokens = []
    with database.unit_of_work() as s:
        centre = accounts.create_organisation(
            s, actor=SYSTEM, name="Centre", short_name="ACC", kind="crisis_centre"
        )
        co = accounts.actor_for(
            s,
            accounts.create_user(
                s, actor=SYSTEM, username="co", password=None, role=Role.COORDINATOR, org=centre
            ),
        )
        first = None
        for i in range(n):
            org = accounts.create_organisation(s, actor=SYSTEM, name=f"Member {i}", short_name=f"M{i:03d}")
            user = accounts.create_user(
                s, actor=SYSTEM, username=f"rep{i:03d}", password=None, role=Role.REPRESENTATIVE, org=org
            )
            tokens.append(accounts.create_token(s, actor=SYSTEM, user=user))
            first = first or accounts.actor_for(s, user)
        assert first is not None
        inc = service.report_incident(
            s, actor=first, data=IncidentIn(title="Flood", category="emergency", severity=4)
        )
        service.triage_incident(s, actor=first, incident_id=inc.id, data=TransitionIn())
        service.escalate_incident(s, actor=first, incident_id=inc.id, data=TransitionIn())
        crisis = service.open_crisis(s, actor=co, data=CrisisIn(title="Flood", incident_ids=[inc.id]))
        soon = datetime.now(UTC) + timedelta(hours=1)
        req = service.create_request(s, actor=first, crisis_id=crisis.id,
                                     data=RequestIn(capability="power-equipment", quantity=5, location="M000", needed_by=soon))  # fmt: skip
        service.submit_request(s, actor=first, request_id=req.id)
        c = service.open_consultation(s, actor=co, request_id=req.id,
                                      data=ConsultationIn(question="Send generators?", deadline=soon, quorum=n // 2 + 1))  # fmt: skip
        return c.id, tokens


def run(url: str, n: int, folder: Path) -> dict[str, float | int | str]:
    database = Database(url)
    upgrade(database.engine)
    cid, tokens = _setup(database, n)
    port = _port()
    env = {
        **os.environ,
        "COLSEC_DATABASE_URL": url,
        "COLSEC_DATA_DIR": str(folder),
        "COLSEC_SECRET_KEY": "bench-secret-key",
    }
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "colsec.web.app:create_app", "--factory", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"], env=env)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        barrier = threading.Barrier(n + 1)
        latencies: list[float] = [0.0] * n
        codes: list[int] = [0] * n

        def one(i: int) -> None:
            with httpx.Client(base_url=base, timeout=300) as client:
                client.get("/healthz")  # connection open before the start signal
                barrier.wait()
                t0 = time.perf_counter()
                r = client.post(f"/api/v1/crisis/consultations/{cid}/positions",
                                headers={"Authorization": f"Bearer {tokens[i]}"}, json={"stance": "agree"})  # fmt: skip
                latencies[i] = time.perf_counter() - t0
                codes[i] = r.status_code

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(30)
    with database.unit_of_work(write=False) as s:
        c = s.get(Consultation, cid)
        assert c is not None
        stored = s.execute(select(func.count()).select_from(Position)).scalar_one()
        decisions = s.execute(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "crisis.consultation.decide")
        ).scalar_one()
    database.dispose()
    lat = sorted(latencies)
    ok = codes.count(201)
    assert stored == ok == c.agree_count and decisions == 1 and c.outcome == "approved", (
        stored,
        ok,
        c.agree_count,
        decisions,
    )
    return {"positions": n, "accepted": ok, "wall_s": round(wall, 3), "positions_per_s": round(n / wall, 1),
            "p50_ms": round(lat[n // 2] * 1000, 1), "p95_ms": round(lat[int(n * 0.95) - 1] * 1000, 1),
            "max_ms": round(lat[-1] * 1000, 1), "outcome": str(c.outcome)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--backends", default="sqlite")
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    rows = []
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            if backend == "sqlite":
                url = f"sqlite:///{folder / 'bench.db'}"
                rows.append((backend, run(url, args.n, folder)))
            else:
                schema = f"bench_crisis_{os.getpid()}"
                admin = create_engine(args.pg)
                with admin.begin() as conn:
                    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                try:
                    sep = "&" if "?" in args.pg else "?"
                    rows.append(
                        (backend, run(f"{args.pg}{sep}options=-csearch_path%3D{schema}", args.n, folder))
                    )
                finally:
                    with admin.begin() as conn:
                        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                    admin.dispose()
    keys = list(rows[0][1])
    print(f"{'backend':<8} " + " ".join(f"{k:>15}" for k in keys))
    for backend, r in rows:
        print(f"{backend:<8} " + " ".join(f"{r[k]!s:>15}" for k in keys))


if __name__ == "__main__":
    main()
