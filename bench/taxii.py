"""TAXII 2.1 read benchmark: colsec (SQLite, uvicorn) side by side with medallion (memory backend).

The same objects are loaded into both servers; concurrent clients walk ``objects``
with ``limit`` (following ``next``) and fetch single objects by id, for a fixed time
per server.  Prints requests/s, objects/s and p50/p99 latency per request kind, and
the ratio colsec / medallion.

    python bench/taxii.py [--objects 100000] [--clients 4] [--seconds 30] [--limit 1000] [--workers 1]
                          [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

With ``--database-url`` colsec serves from a fresh schema of that PostgreSQL database (dropped at
the end) instead of SQLite, so API throughput with 1 and 2 workers on the shared store is measured
by running the script with ``--workers 1`` and ``--workers 2``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

TAXII = "application/taxii+json;version=2.1"
GRACE = 5.0  # seconds a request may run past the end of the run before it counts as unfinished
GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
NS = uuid.UUID("6c1d0e39-2f0a-4b7e-9d8e-0b5a3c7f1e22")


def make_objects(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        out.append(
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": f"indicator--{uuid.uuid5(NS, str(i))}",
                "created": "2026-01-01T00:00:00.000Z",
                "modified": "2026-01-01T00:00:00.000Z",
                "name": f"bench indicator {i}",
                "description": "synthetic indicator for the TAXII benchmark",
                "pattern": f"[ipv4-addr:value = '198.51.{(i // 250) % 250}.{i % 250 + 1}']",
                "pattern_type": "stix",
                "valid_from": "2026-01-01T00:00:00Z",
                "object_marking_refs": [GREEN],
            }
        )
    return out


# --- servers ------------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    objects_url: str
    auth: tuple[str, str]
    process: subprocess.Popen[bytes]
    ids: list[str]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_colsec(
    folder: Path, objects: list[dict[str, Any]], workers: int, database_url: str | None
) -> Target:
    from colsec.accounts.roles import SYSTEM
    from colsec.db import Database
    from colsec.stix.tlp import TLP
    from colsec.store.service import import_objects
    from colsec.taxii.service import create_collection
    from taxii.server import create_account, prepare_database, start_uvicorn

    url = database_url or prepare_database(folder / "colsec.db")
    database = Database(url)
    creds = create_account(database, "bench", org="ORG-A")
    t = time.perf_counter()
    with database.unit_of_work() as s:
        cid = create_collection(s, actor=SYSTEM, title="bench", can_read=["*"]).id
        import_objects(s, actor=SYSTEM, objects=objects, collection_ids=[cid], default_tlp=TLP.GREEN)
    print(
        f"colsec: loaded {len(objects):,} objects into {database.engine.dialect.name} in {time.perf_counter() - t:.1f}s",
        flush=True,
    )
    database.dispose()
    process, port = start_uvicorn(url, folder, workers=workers)
    return Target(
        "colsec", f"http://127.0.0.1:{port}/taxii2/root/collections/{cid}/objects/", creds.auth, process,
        [o["id"] for o in objects],
    )  # fmt: skip


def start_medallion(folder: Path, objects: list[dict[str, Any]], limit: int) -> Target:
    from taxii.server import free_port

    port = free_port()
    cid = str(uuid.uuid4())
    base = 1_767_225_600.0  # 2026-01-01
    manifest = []
    for i, o in enumerate(objects):
        t = time.gmtime(base + i / 1000)
        added = time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{int((base + i / 1000) * 1e6) % 1_000_000:06d}Z"
        manifest.append(
            {
                "id": o["id"],
                "date_added": added,
                "version": o["modified"],
                "media_type": "application/stix+json;version=2.1",
            }
        )
    data = {
        "/discovery": {"title": "bench", "default": f"http://127.0.0.1:{port}/api1/",
                       "api_roots": [f"http://127.0.0.1:{port}/api1/"]},
        "api1": {
            "information": {"title": "api1", "versions": [TAXII], "max_content_length": 100_000_000},
            "status": [],
            "collections": [{"id": cid, "title": "bench", "can_read": True, "can_write": True,
                             "media_types": ["application/stix+json;version=2.1"], "objects": objects,
                             "manifest": manifest}],
        },
    }  # fmt: skip
    (folder / "medallion-data.json").write_text(json.dumps(data))
    config = {
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                    "filename": str(folder / "medallion-data.json"), "session_timeout": 3600},
        "users": {"bench": "bench-password"},
        "taxii": {"max_page_size": limit},
    }  # fmt: skip
    (folder / "medallion.json").write_text(json.dumps(config))
    with (folder / "medallion.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "medallion.scripts.run", "--host", "127.0.0.1", "--port", str(port),
             str(folder / "medallion.json")],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            r = httpx.get(
                f"http://127.0.0.1:{port}/taxii2/",
                auth=("bench", "bench-password"),
                headers={"Accept": TAXII},
            )
            if r.status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("medallion did not start")
    return Target(
        "medallion", f"http://127.0.0.1:{port}/api1/collections/{cid}/objects/", ("bench", "bench-password"),
        process, [o["id"] for o in objects],
    )  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and all its descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += stats.get(p, (0, 0.0))[1]
        todo.extend(child for child, (parent, _) in stats.items() if parent == p)
    return total


# --- load ---------------------------------------------------------------------------------------


@dataclass
class Result:
    page: list[float] = field(default_factory=list)
    single: list[float] = field(default_factory=list)
    objects: int = 0
    errors: int = 0
    unfinished: int = 0
    elapsed: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0


async def _get(
    c: httpx.AsyncClient, url: str, until: float, result: Result, **kw: Any
) -> httpx.Response | None:
    """One request; a request still running at the end of the run (plus a grace) counts as unfinished."""
    try:
        return await asyncio.wait_for(c.get(url, **kw), timeout=max(until - time.perf_counter(), 0) + GRACE)
    except (TimeoutError, httpx.TimeoutException):
        result.unfinished += 1
        return None


async def _client(target: Target, limit: int, until: float, result: Result, seed: int) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(auth=target.auth, headers={"Accept": TAXII}, timeout=None) as c:
        nxt: str | None = None
        while time.perf_counter() < until:
            params: dict[str, Any] = {"limit": limit}
            if nxt:
                params["next"] = nxt
            t = time.perf_counter()
            r = await _get(c, target.objects_url, until, result, params=params)
            if r is None:
                return
            if r.status_code != 200:
                result.errors += 1
                nxt = None
                continue
            body = orjson.loads(r.content)  # orjson: keep the load generator's CPU share small
            result.page.append(time.perf_counter() - t)
            result.objects += len(body.get("objects", []))
            nxt = body.get("next") if body.get("more") else None
            oid = rng.choice(target.ids)
            t = time.perf_counter()
            r = await _get(c, f"{target.objects_url}{oid}/", until, result)
            if r is None:
                return
            if r.status_code == 200 and orjson.loads(r.content)["objects"][0]["id"] == oid:
                result.single.append(time.perf_counter() - t)
            else:
                result.errors += 1


def run_load(target: Target, *, clients: int, seconds: float, limit: int) -> Result:
    result = Result()
    server0, client0 = cpu_seconds(target.process.pid), time.process_time()
    start = time.perf_counter()
    until = start + seconds

    async def main() -> None:
        await asyncio.gather(*(_client(target, limit, until, result, i) for i in range(clients)))

    asyncio.run(main())
    result.elapsed = time.perf_counter() - start
    result.server_cpu = cpu_seconds(target.process.pid) - server0
    result.client_cpu = time.process_time() - client0
    return result


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0] * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes for colsec")
    ap.add_argument("--only", choices=["colsec", "medallion"], default=None)
    ap.add_argument(
        "--database-url", default=None, help="serve colsec from a fresh schema of this PostgreSQL"
    )
    args = ap.parse_args()
    drop_schema = None
    database_url = None
    if args.database_url:
        from taxii.server import prepare_postgres_schema

        database_url, drop_schema = prepare_postgres_schema(args.database_url)

    objects = make_objects(args.objects)
    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory(prefix="taxii-bench-") as tmp:
        folder = Path(tmp)
        for name in ("colsec", "medallion"):
            if args.only and name != args.only:
                continue
            target = (
                start_colsec(folder, objects, args.workers, database_url)
                if name == "colsec"
                else start_medallion(folder, objects, args.limit)
            )
            gc.collect()
            gc.freeze()  # the 100,000 generated objects must not put GC pauses into the client's timings
            try:
                print(f"{name}: {args.clients} clients for {args.seconds:.0f}s ...", flush=True)
                results[name] = run_load(target, clients=args.clients, seconds=args.seconds, limit=args.limit)
            finally:
                target.stop()
    if drop_schema is not None:
        drop_schema()

    backend = "PostgreSQL" if database_url else "SQLite"
    print()
    print(f"colsec on {backend} with {args.workers} worker(s); "
          f"{args.objects:,} objects, {args.clients} concurrent clients, page limit {args.limit}, "
          f"{args.seconds:.0f}s per server, {os.cpu_count()} CPUs")  # fmt: skip
    head = f"{'server':<10} {'req/s':>8} {'obj/s':>10} {'page p50':>9} {'page p99':>9} {'get p50':>8} {'get p99':>8} {'errors':>6} {'unfinished':>10} {'server CPU':>10} {'client CPU':>10}"
    print(head)
    print("-" * len(head))
    rates = {}
    for name, r in results.items():
        reqs = len(r.page) + len(r.single)
        rates[name] = reqs / r.elapsed
        print(
            f"{name:<10} {reqs / r.elapsed:>8.1f} {r.objects / r.elapsed:>10,.0f} {pct(r.page, 50):>7.1f}ms "
            f"{pct(r.page, 99):>7.1f}ms {pct(r.single, 50):>6.1f}ms {pct(r.single, 99):>6.1f}ms {r.errors:>6} {r.unfinished:>10} {r.server_cpu / r.elapsed:>9.0%} {r.client_cpu / r.elapsed:>9.0%}"
        )
    if len(rates) == 2 and rates["medallion"] == 0:
        m = results["medallion"]
        print(
            f"medallion completed no request in {m.elapsed:.0f}s; ratio colsec/medallion requests/s "
            f">= {rates['colsec'] * m.elapsed:.0f}x (as if one request had completed)"
        )
    elif len(rates) == 2:
        c, m = results["colsec"], results["medallion"]
        print(
            f"ratio colsec/medallion: requests/s {rates['colsec'] / rates['medallion']:.1f}x, "
            f"objects/s {(c.objects / c.elapsed) / max(m.objects / m.elapsed, 1e-9):.1f}x"
        )


if __name__ == "__main__":
    main()
