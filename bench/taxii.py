"""TAXII 2.1 read benchmark: colsec beside its raw ceiling and medallion (memory backend), one run.

The same objects are loaded into colsec's store (account ``bench``, Basic auth, one collection,
TLP:GREEN, so the sharing policy and the envelope are all on the path) and into medallion.  The
raw ceiling (``bench/taxii_ceiling.py``: Starlette and the bare driver, keyset paging over the same
rows) serves colsec's database.  Three phases per server, the same client loops for all:
``--clients`` clients walk ``objects`` with ``limit`` (following ``next``); ``--get-clients``
fetch random objects by id; taxii2-client pulls the whole collection (``as_pages``, median of
``--pull-rounds``).  colsec and the ceiling (and ``--baseline-src``, another checkout's colsec
over the same data) take turns in ``--rounds`` slices, so a shared machine's drifting load falls
on all alike.  Prints pages/s, objects/s, GET/s, p50/p99, full-pull seconds and server CPU per
request (the colsec process only: on PostgreSQL the database's own CPU is not in it), the load
generator's own CPU per GET (``cli/get``), then the ratios colsec / ceiling, colsec / baseline and
colsec / medallion.  The page and GET loops speak HTTP/1.1 over one keep-alive connection per
client with fixed request bytes (``Wire``; ``--client httpx`` runs them on httpx as before): at one
client the loop's own CPU bounds the rate, so a cheap client lets the servers' rates show.

    python bench/taxii.py [--objects 100000] [--clients 4] [--get-clients 1] [--seconds 20] [--rounds 4]
                          [--limit 1000] [--pull-rounds 3] [--workers 1] [--only colsec|ceiling|medallion]
                          [--phases pages,get,pull] [--client raw|httpx]
                          [--baseline-src ../main/src]
                          [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

With ``--database-url`` colsec serves from a fresh schema of that PostgreSQL database (dropped at
the end) instead of SQLite. ``--baseline-workers N`` serves the baseline (this checkout's code
unless ``--baseline-src``) with N uvicorn workers: ``--workers 2 --baseline-workers 1`` puts API
throughput with 2 and 1 workers on the same store into the same interleaved slices.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
import planner  # noqa: E402  (this script's folder, bench/)

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


@dataclass
class Loaded:
    """colsec's database with the benchmark's objects in one collection, readable by account ``bench``."""

    url: str
    collection_id: str
    auth: tuple[str, str]


def load_colsec(folder: Path, objects: list[dict[str, Any]], database_url: str | None) -> Loaded:
    from colsec.accounts.roles import SYSTEM
    from colsec.db import Database
    from colsec.stix.tlp import TLP
    from colsec.store.service import import_objects
    from colsec.taxii.service import create_collection
    from taxii.server import create_account, prepare_database

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
    if not database.sqlite:
        # What autovacuum gives a live PostgreSQL node within a minute of a bulk load; without it the
        # first minutes of the run read guessed plans (a GET by id scanned the whole exercise_run_id
        # index, 0.3 ms), then autovacuum's ANALYZE changed them mid-run.  SQLite has no such daemon.
        planner.analyze(database, ("stix_object", "collection_object", "api_token", "user_account"))
    database.dispose()
    return Loaded(url, cid, creds.auth)


def start_colsec(
    folder: Path, loaded: Loaded, objects: list[dict[str, Any]], workers: int, *, name: str = "colsec",
    src: str | None = None,
) -> Target:  # fmt: skip
    """colsec under uvicorn; ``src``: serve another checkout's code (``--baseline-src``) over the same data."""
    from taxii.server import start_uvicorn

    # Jobs off: the import's follow-up jobs (correlation, scores) and the runner's polling would
    # otherwise run inside the server being measured; a node runs them in ``colsec worker`` alike.
    env = {"COLSEC_JOBS_EMBEDDED": "false", **({"PYTHONPATH": src} if src else {})}
    process, port = start_uvicorn(loaded.url, folder, workers=workers, extra_env=env)
    return Target(
        name, f"http://127.0.0.1:{port}/taxii2/root/collections/{loaded.collection_id}/objects/",
        loaded.auth, process, [o["id"] for o in objects],
    )  # fmt: skip


def start_ceiling(folder: Path, loaded: Loaded, objects: list[dict[str, Any]]) -> Target:
    """The raw ceiling (``bench/taxii_ceiling.py``) over colsec's own database, one uvicorn worker."""
    from taxii.server import free_port

    port = free_port()
    token = base64.b64encode(":".join(loaded.auth).encode()).decode()
    env = {**os.environ, "CEILING_DATABASE_URL": loaded.url, "CEILING_AUTH": f"Basic {token}"}
    cmd = [sys.executable, "-m", "uvicorn", "taxii_ceiling:app", "--app-dir", str(REPO / "bench"),
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    with (folder / "ceiling.log").open("wb") as log:
        process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    _wait_ready(process, f"http://127.0.0.1:{port}/healthz", None, "ceiling")
    return Target(
        "ceiling", f"http://127.0.0.1:{port}/collections/{loaded.collection_id}/objects/", loaded.auth,
        process, [o["id"] for o in objects],
    )  # fmt: skip


def _wait_ready(process: subprocess.Popen[bytes], url: str, auth: tuple[str, str] | None, name: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early")
        try:
            if httpx.get(url, auth=auth, headers={"Accept": TAXII}).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{name} did not start")


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
    _wait_ready(process, f"http://127.0.0.1:{port}/taxii2/", ("bench", "bench-password"), "medallion")
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


class Wire:
    """One keep-alive HTTP/1.1 connection that sends fixed request headers: the ``raw`` client.

    At one client the loop's own CPU bounds the request rate: httpx (request and response
    models, its auth flow, a ``wait_for`` task per request) spent more CPU per GET by id than
    the servers measured.  This client writes the request line and the fixed headers as bytes
    and reads the status, the framing headers (Content-Length, chunked, ``Connection: close``)
    and the body; every server gets the same client.  A server that closes the connection
    (HTTP/1.0, medallion's development server) is reconnected for the next request.
    """

    def __init__(self, url: str, auth: tuple[str, str]) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        token = base64.b64encode(":".join(auth).encode()).decode()
        self.head = (f"Host: {parts.netloc}\r\nAccept: {TAXII}\r\nAuthorization: Basic {token}\r\n"
                     "User-Agent: colsec-bench\r\n\r\n").encode()  # fmt: skip
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, target: str) -> tuple[int, bytes]:
        """GET ``target`` (path and query): the status and the body."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.reader, self.writer
        assert reader is not None
        writer.write(b"GET " + target.encode() + b" HTTP/1.1\r\n" + self.head)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked, close = -1, False, head.startswith(b"HTTP/1.0")
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = value.strip().lower() == b"close"
        if chunked:
            body = b""
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += (await reader.readexactly(size + 2))[:-2]
            await reader.readuntil(b"\r\n")
        elif length >= 0:
            body = await reader.readexactly(length)
        else:
            body, close = await reader.read(), True
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _walk(
    fetch: Callable[[str], Awaitable[tuple[int, bytes] | None]],
    target: Target, limit: int, until: float, result: Result, seed: int, mode: str,
) -> None:  # fmt: skip
    """The client loop of both clients: ``pages`` walks the collection (following ``next``), ``get``
    fetches random ids.  ``fetch`` GETs the objects URL plus a suffix and answers the status and the
    body, or None when the run ended under the request (then counted as unfinished)."""
    rng = random.Random(seed)
    nxt: str | None = None
    while time.perf_counter() < until:
        if mode == "pages":
            suffix = "?" + urlencode({"limit": limit, **({"next": nxt} if nxt else {})})
        else:
            oid = rng.choice(target.ids)
            suffix = f"{oid}/"
        t = time.perf_counter()
        answer = await fetch(suffix)
        if answer is None:
            return
        status, content = answer
        if mode == "pages":
            if status != 200:
                result.errors += 1
                nxt = None
                continue
            body = orjson.loads(content)  # orjson: keep the load generator's CPU share small
            result.page.append(time.perf_counter() - t)
            result.objects += len(body.get("objects", []))
            nxt = body.get("next") if body.get("more") else None
        elif status == 200 and orjson.loads(content)["objects"][0]["id"] == oid:
            result.single.append(time.perf_counter() - t)
        else:
            result.errors += 1


async def _client(target: Target, limit: int, until: float, result: Result, seed: int, mode: str) -> None:
    """``_walk`` on httpx, a deadline per request."""
    async with httpx.AsyncClient(auth=target.auth, headers={"Accept": TAXII}, timeout=None) as c:

        async def fetch(suffix: str) -> tuple[int, bytes] | None:
            r = await _get(c, target.objects_url + suffix, until, result)
            return None if r is None else (r.status_code, r.content)

        await _walk(fetch, target, limit, until, result, seed, mode)


async def _raw_client(target: Target, limit: int, until: float, result: Result, seed: int, mode: str) -> None:
    """``_walk`` over a :class:`Wire`: the same requests, the same checks of each answer.

    One deadline for the whole loop (``until`` plus the grace), not one per request: a request
    it interrupts counts as unfinished.
    """
    wire = Wire(target.objects_url, target.auth)
    path = urlsplit(target.objects_url).path
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout_at(loop.time() + until - time.perf_counter() + GRACE):
            await _walk(lambda suffix: wire.get(path + suffix), target, limit, until, result, seed, mode)
    except TimeoutError:
        result.unfinished += 1
    finally:
        wire.close()


def run_load(
    target: Target, *, clients: int, seconds: float, limit: int, mode: str, client: str = "raw"
) -> Result:
    result = Result()
    loop_of = _raw_client if client == "raw" else _client
    server0, client0 = cpu_seconds(target.process.pid), time.process_time()
    start = time.perf_counter()
    until = start + seconds

    async def main() -> None:
        await asyncio.gather(*(loop_of(target, limit, until, result, i, mode) for i in range(clients)))

    with asyncio.Runner(loop_factory=_loop_factory(client)) as runner:
        runner.run(main())
    result.elapsed = time.perf_counter() - start
    result.server_cpu = cpu_seconds(target.process.pid) - server0
    result.client_cpu = time.process_time() - client0
    return result


def _loop_factory(client: str) -> Any:
    """uvloop under the raw client (the servers run on it too); asyncio's own loop under httpx, as before."""
    if client != "raw":
        return None
    import uvloop

    return uvloop.new_event_loop


def full_pull(target: Target, limit: int, expected: int, rounds: int) -> float:
    """Median seconds for taxii2-client to page through the whole collection (``as_pages``)."""
    from taxii2client.v21 import Collection, as_pages

    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        coll = Collection(
            target.objects_url.removesuffix("objects/"), user=target.auth[0], password=target.auth[1]
        )
        n = sum(len(env.get("objects", [])) for env in as_pages(coll.get_objects, per_request=limit))
        times.append(time.perf_counter() - t)
        if n != expected:
            raise RuntimeError(f"{target.name}: full pull returned {n} objects, expected {expected}")
    return statistics.median(times)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0] * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] * 1000


@dataclass
class Figures:
    pages: Result
    gets: Result
    pull: float | None = None


def _add(total: Result, part: Result) -> None:
    total.page += part.page
    total.single += part.single
    total.objects += part.objects
    total.errors += part.errors
    total.unfinished += part.unfinished
    total.elapsed += part.elapsed
    total.server_cpu += part.server_cpu
    total.client_cpu += part.client_cpu


def measure(targets: list[Target], args: argparse.Namespace) -> dict[str, Figures]:
    """Each phase in ``--rounds`` slices, the servers taking turns (order reversed every round).

    On a shared machine the background load drifts; interleaved slices put the same drift
    into every server's figures, so the ratios printed compare like with like.
    """
    for t in targets:  # first requests compile statements and fill caches: not what is measured
        run_load(t, clients=1, seconds=1.0, limit=args.limit, mode="pages", client=args.client)
        run_load(t, clients=1, seconds=1.0, limit=args.limit, mode="get", client=args.client)
    figures = {t.name: Figures(Result(), Result()) for t in targets}
    pulls: dict[str, list[float]] = {t.name: [] for t in targets}
    piece = args.seconds / args.rounds
    phases = set(args.phases.split(","))
    for round_ in range(args.rounds):
        order = targets if round_ % 2 == 0 else targets[::-1]
        print(f"round {round_ + 1}/{args.rounds}: {args.phases}; page walk ({args.clients} clients), GET by id "
              f"({args.get_clients} client), {piece:.1f}s each ...", flush=True)  # fmt: skip
        for t in order if "pages" in phases else ():
            part = run_load(
                t, clients=args.clients, seconds=piece, limit=args.limit, mode="pages", client=args.client
            )
            _add(figures[t.name].pages, part)
        for t in order if "get" in phases else ():
            part = run_load(
                t, clients=args.get_clients, seconds=piece, limit=args.limit, mode="get", client=args.client
            )
            _add(figures[t.name].gets, part)
        for t in order if "pull" in phases else ():
            if t.name != "medallion" and round_ < args.pull_rounds:
                pulls[t.name].append(full_pull(t, args.limit, len(t.ids), 1))
    for name, times in pulls.items():
        if times:
            figures[name].pull = statistics.median(times)
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=4, help="clients walking pages")
    ap.add_argument("--get-clients", type=int, default=1, help="clients fetching single objects by id")
    ap.add_argument("--seconds", type=float, default=20.0, help="per phase and server")
    ap.add_argument("--rounds", type=int, default=4, help="slices per phase; the servers take turns")
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument(
        "--pull-rounds", type=int, default=3, help="taxii2-client full pulls (median), one per round"
    )
    ap.add_argument(
        "--phases", default="pages,get,pull", help="comma-separated subset of pages,get,pull to measure"
    )
    ap.add_argument(
        "--client", choices=["raw", "httpx"], default="raw",
        help="the page and GET loops' HTTP client, the same for every server (raw: one keep-alive connection)",
    )  # fmt: skip
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes for colsec")
    ap.add_argument(
        "--baseline-workers",
        type=int,
        default=None,
        help="also serve colsec as 'baseline' with this many workers",
    )
    ap.add_argument("--only", choices=["colsec", "ceiling", "medallion"], action="append", default=None)
    ap.add_argument(
        "--database-url", default=None, help="serve colsec from a fresh schema of this PostgreSQL"
    )
    ap.add_argument(
        "--baseline-src", default=None,
        help="also serve the same data with the colsec code of this src folder (e.g. main's), as 'baseline'",
    )  # fmt: skip
    args = ap.parse_args()
    drop_schema = None
    database_url = None
    if args.database_url:
        from taxii.server import prepare_postgres_schema

        database_url, drop_schema = prepare_postgres_schema(args.database_url)

    objects = make_objects(args.objects)
    results: dict[str, Figures] = {}
    names = [n for n in ("colsec", "ceiling", "medallion") if not args.only or n in args.only]
    if args.baseline_src or args.baseline_workers:
        names.insert(1, "baseline")
    with tempfile.TemporaryDirectory(prefix="taxii-bench-") as tmp:
        folder = Path(tmp)
        loaded = (
            load_colsec(folder, objects, database_url)
            if {"colsec", "ceiling", "baseline"} & set(names)
            else None
        )
        # colsec and its ceiling serve the same database at once and take turns; medallion runs after.
        for group in ([n for n in names if n != "medallion"], [n for n in names if n == "medallion"]):
            targets: list[Target] = []
            try:
                for name in group:
                    if name == "colsec":
                        assert loaded is not None
                        targets.append(start_colsec(folder, loaded, objects, args.workers))
                    elif name == "ceiling":
                        assert loaded is not None
                        targets.append(start_ceiling(folder, loaded, objects))
                    elif name == "baseline":
                        assert loaded is not None
                        targets.append(
                            start_colsec(
                                folder,
                                loaded,
                                objects,
                                args.baseline_workers or args.workers,
                                name=name,
                                src=args.baseline_src,
                            )
                        )
                    else:
                        targets.append(start_medallion(folder, objects, args.limit))
                gc.collect()
                gc.freeze()  # the 100,000 generated objects must not put GC pauses into the client's timings
                if targets:
                    results.update(measure(targets, args))
            finally:
                for target in targets:
                    target.stop()
    if drop_schema is not None:
        drop_schema()

    backend = "PostgreSQL" if database_url else "SQLite"
    print()
    also = f", baseline with {args.baseline_workers}" if args.baseline_workers else ""
    print(f"colsec on {backend} with {args.workers} worker(s){also}; "
          f"{args.objects:,} objects, page limit {args.limit}, {args.seconds:.0f}s per phase and server, "
          f"{os.cpu_count()} CPUs; ceiling = Starlette + raw driver keyset paging over the same rows")  # fmt: skip
    head = (f"{'server':<10} {'pages/s':>8} {'obj/s':>10} {'page p50':>9} {'page p99':>9} {'get/s':>7} "
            f"{'get p50':>8} {'get p99':>8} {'pull':>7} {'errors':>6} {'unfin.':>6} {'CPU/page':>9} {'CPU/get':>8} {'cli/get':>8}")  # fmt: skip
    print(head)
    print("-" * len(head))
    for name, f in results.items():
        p, g = f.pages, f.gets
        pull = f"{f.pull:>6.2f}s" if f.pull is not None else f"{'-':>7}"
        print(
            f"{name:<10} {_rate(len(p.page), p.elapsed):>8.1f} {_rate(p.objects, p.elapsed):>10,.0f} {pct(p.page, 50):>7.1f}ms "
            f"{pct(p.page, 99):>7.1f}ms {_rate(len(g.single), g.elapsed):>7.1f} {pct(g.single, 50):>6.2f}ms "
            f"{pct(g.single, 99):>6.2f}ms {pull} {p.errors + g.errors:>6} {p.unfinished + g.unfinished:>6} "
            f"{_cpu_per(p.server_cpu, len(p.page)):>7.2f}ms {_cpu_per(g.server_cpu, len(g.single)):>6.2f}ms "
            f"{_cpu_per(g.client_cpu, len(g.single)):>6.2f}ms"
        )
    if "baseline" in results and "ceiling" in results:
        b, r = results["baseline"], results["ceiling"]
        print(f"baseline / ceiling: pages/s {_ratio(_rate(len(b.pages.page), b.pages.elapsed), _rate(len(r.pages.page), r.pages.elapsed))}, "
              f"page p99 {_ratio(pct(b.pages.page, 99), pct(r.pages.page, 99))}, "
              f"get/s {_ratio(_rate(len(b.gets.single), b.gets.elapsed), _rate(len(r.gets.single), r.gets.elapsed))}; "
              f"server CPU per page {_ratio(_cpu_per(b.pages.server_cpu, len(b.pages.page)), _cpu_per(r.pages.server_cpu, len(r.pages.page)))}, "
              f"per get {_ratio(_cpu_per(b.gets.server_cpu, len(b.gets.single)), _cpu_per(r.gets.server_cpu, len(r.gets.single)))}")  # fmt: skip
    if "colsec" in results:
        c = results["colsec"]
        for ref in ("ceiling", "baseline", "medallion"):
            if ref not in results:
                continue
            r = results[ref]
            pages = _ratio(
                _rate(len(c.pages.page), c.pages.elapsed), _rate(len(r.pages.page), r.pages.elapsed)
            )
            gets = _ratio(
                _rate(len(c.gets.single), c.gets.elapsed), _rate(len(r.gets.single), r.gets.elapsed)
            )
            p99 = _ratio(pct(c.pages.page, 99), pct(r.pages.page, 99))
            cpu_page = _ratio(
                _cpu_per(c.pages.server_cpu, len(c.pages.page)),
                _cpu_per(r.pages.server_cpu, len(r.pages.page)),
            )
            cpu_get = _ratio(
                _cpu_per(c.gets.server_cpu, len(c.gets.single)),
                _cpu_per(r.gets.server_cpu, len(r.gets.single)),
            )
            line = (f"colsec / {ref}: pages/s {pages}, page p99 {p99}, get/s {gets}; "
                    f"server CPU per page {cpu_page}, per get {cpu_get}")  # fmt: skip
            if c.pull is not None and r.pull is not None:
                line += f", full pull time {_ratio(c.pull, r.pull)} (throughput {_ratio(r.pull, c.pull)})"
            print(line)


def _cpu_per(seconds: float, requests: int) -> float:
    """Server CPU milliseconds per request: what a request costs, whatever else runs on the machine."""
    return seconds * 1000 / requests if requests else float("nan")


def _rate(count: float, seconds: float) -> float:
    """Per second; NaN for a phase not measured (``--phases``)."""
    return count / seconds if seconds else float("nan")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b and b == b else "n/a (reference completed nothing)"


if __name__ == "__main__":
    main()
