"""Scale-out figures in one command: matching through NATS JetStream, jobs, outbox, API workers.

    python bench/scale.py                            # SQLite store, local NATS at 127.0.0.1:4222
    python bench/scale.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
    python bench/scale.py --lines 20000 --indicators 5000 --skip-others

Matching: real Zeek DNS/SSL and Suricata EVE lines from the shared data, with indicators planted
on values that occur in them among synthetic ones. Printed side by side: events/s of the
in-process engine (same batch decoding, same engine, no broker: ``message_batch.BatchMatcher``
on batches of ``--batch`` lines, given their bytes as a worker receives them) and of 1 and 2
``colsec match --nats`` worker processes, with one line per message and with ``--per-message``
newline-delimited lines per message (as Vector and Fluent Bit flush them; the workers then
fetch ``--batch`` lines' worth of messages);
events per CPU-second of each (the workers' CPU read from /proc, compile time excluded) and
their ratio to the in-process engine (target >= 90 %), which runs with the workers'
garbage-collection policy. Each run matches the lines ``--copies`` times over and counts from
the moment a tenth of them is done (first batches warm caches up, once in a process's life);
every run goes once per round, in turn, for ``--rounds`` rounds, and the medians are printed
with each row's range of per-round efficiencies (the machine is shared: the reference moves
with its load, and a ratio from the same round moves less), and beside them each row's best
round against the engine's best (load only adds CPU time, so best rounds are nearest a quiet
machine's). Rows below it show the in-process engine with automatic collection
and decoding line by line (``MessageDecoder``, the workers' decoding before batches went
through the column path), as earlier versions of this script measured it; and publish-to-alert
latency (a line published to the stream until its alert is committed and written; target p99
< 100 ms).

The sections "job pickup p99", "outbox delivery p99" and "API throughput with 1 and 2 workers
on PostgreSQL" are measured by ``bench/jobs.py``, ``bench/outbox.py`` and ``bench/taxii.py``
(TAXII page walks with 8 clients and reads by id with 4, 2 workers against 1 serving the same
schema at once and taking turns in 6 slices of 10 s a phase each), which this script
runs after the matching figures (``--skip-others`` leaves them out).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
TELEMETRY = REPO.parent / "shared" / "data" / "telemetry"

from colsec.match.message_batch import BatchMatcher  # noqa: E402
from colsec.match.stream import Message, MessageDecoder  # noqa: E402

#: The first 1/WARM_SHARE of each run's lines warm caches up and are left out of its figures.
WARM_SHARE = 10
REFERENCE = "in-process engine"
Rates = tuple[float, float]  # (events/s, events per CPU-second)
Mark = tuple[float, int, float]  # (time, messages delivered or acknowledged, the workers' CPU seconds)

# Each figure owned by another script: (heading, script and arguments, target).  The PostgreSQL
# ones use ``--pg-url`` (the local server by default).
OTHER_FIGURES = [
    ("job pickup p99 (SQLite and PostgreSQL, 1 and 2 workers)", ["jobs.py", "--database-url", "{pg}"], "< 200 ms"),
    ("outbox delivery p99 (PostgreSQL)", ["outbox.py", "--backend", "pg", "--pg", "{pg}"], "< 1 s"),
    ("API throughput, 2 workers against 1 on PostgreSQL (colsec = 2 workers, baseline = 1)",
     ["taxii.py", "--only", "colsec", "--objects", "20000", "--phases", "pages,get", "--clients", "8",
      "--get-clients", "4", "--seconds", "60", "--rounds", "6", "--workers", "2", "--baseline-workers", "1",
      "--database-url", "{pg}"], "colsec / baseline pages/s > 1"),
]  # fmt: skip


def telemetry_lines(n: int) -> list[str]:
    """Up to ``n`` real lines, interleaved from Zeek DNS, Zeek SSL and Suricata EVE alerts."""
    zeek = TELEMETRY / "zeek"
    sources = [
        (zeek / "wrccdc2018_dns.head10000.ndjson").read_text().splitlines(),
        (zeek / "wrccdc2018_ssl.head8000.ndjson").read_text().splitlines(),
        [
            orjson.dumps(r).decode()
            for r in orjson.loads((TELEMETRY / "suricata" / "eve_alerts_wrccdc-2018.json").read_bytes())
        ],
    ]
    out: list[str] = []
    i = 0
    while len(out) < n and any(i < len(s) for s in sources):
        out.extend(s[i] for s in sources if i < len(s))
        i += 1
    return out[:n]


def indicators(lines: list[str], n: int, r: random.Random) -> tuple[list[dict[str, Any]], list[int]]:
    """``n`` indicators, 12 of them on values of the lines; the positions of lines that alert."""
    from colsec.stix.ids import now_timestamp

    decoded = MessageDecoder().decode(Message(i, line) for i, line in enumerate(lines))
    values: dict[tuple[str, str], list[int]] = {}
    for ev in decoded:
        for o in ev.objects.values():
            if o.get("type") in ("ipv4-addr", "domain-name") and isinstance(o.get("value"), str):
                values.setdefault((o["type"], o["value"]), []).append(ev.line)
    rare = sorted(k for k, at in values.items() if 2 <= len(at) <= 40)
    planted = r.sample(rare, min(12, len(rare)))
    patterns = [f"[{t}:value = '{v}']" for t, v in planted]
    while len(patterns) < n:  # documentation ranges and example.com: never in real traffic
        k = len(patterns)
        patterns.append(
            f"[ipv4-addr:value = '203.0.{k % 256}.{k // 256 % 256}']"
            if k % 2
            else f"[domain-name:value = 'host{k}.example.com']"
        )
    now = now_timestamp()
    objs = [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.UUID(int=r.getrandbits(128), version=4)}",
            "created": now,
            "modified": now,
            "pattern": p,
            "pattern_type": "stix",
            "valid_from": now,
        }  # fmt: skip
        for p in patterns
    ]
    hits = sorted({i for k in planted for i in values[k]})
    return objs, hits


def setup_store(url: str, objs: list[dict[str, Any]]) -> str:
    """A migrated store with one analyst and the indicators; the analyst's user name."""
    from colsec.accounts import service as accounts
    from colsec.accounts.roles import SYSTEM
    from colsec.db import Database
    from colsec.migrations import upgrade
    from colsec.store.service import import_objects

    database = Database(url)
    upgrade(database.engine)
    name = f"bench-{uuid.uuid4().hex[:6]}"
    with database.unit_of_work() as s:
        org = accounts.create_organisation(s, actor=SYSTEM, name=f"{name} agency", short_name=name.upper())
        user = accounts.create_user(
            s, actor=SYSTEM, username=name, password="bench horse battery", role="analyst", org=org
        )
        actor = accounts.actor_for(s, user)
    with database.unit_of_work() as s:
        import_objects(s, actor=actor, objects=objs)
    database.dispose()
    return name


def in_process(
    url: str, user: str, lines: list[str], batch: int, *, young: bool, by_line: bool = False
) -> tuple[float, float]:
    """(events/s, events per CPU-second) of the engine on the lines, decoded as the workers do
    (``by_line``: each message alone, as they did before).

    ``young``: with the collection policy of the workers and of ``colsec match FILE`` (young
    generations once per batch, ``colsec.gcpause``); without it automatic collections rescan
    this script's whole heap and make the engine look a third slower than it is.
    """
    from colsec.accounts.models import User
    from colsec.accounts.service import actor_for
    from colsec.db import Database
    from colsec.gcpause import tick, young_gc_only
    from colsec.match.service import build_engine

    database = Database(url)
    with database.unit_of_work(write=False) as s:
        from sqlalchemy import select

        actor = actor_for(s, s.execute(select(User).where(User.username == user)).scalar_one())
        engine, _ = build_engine(s, actor=actor)
    database.dispose()
    msgs = [Message(i + 1, line) for i, line in enumerate(lines)]
    seqs, payloads = [m.seq for m in msgs], [line.encode() for line in lines]  # as the workers receive them
    decoder, matcher = MessageDecoder(), BatchMatcher()
    policy = young_gc_only() if young else contextlib.nullcontext()
    starts = range(0, len(msgs), batch)
    warm = len(starts) // WARM_SHARE  # as for the workers: the first batches warm caches up
    with policy:
        for k, i in enumerate(starts):
            if k == warm:
                wall, cpu = time.perf_counter(), time.process_time()
            if by_line:
                engine.match(decoder.decode(msgs[i : i + batch]))
            else:
                matcher.match_payloads(engine, seqs[i : i + batch], payloads[i : i + batch])
            if young:
                tick()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    counted = len(lines) - starts[warm]
    return counted / wall, counted / cpu


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Workers:
    def __init__(
        self, env: dict[str, str], url: str, stream: str, user: str, n: int, out: Path, batch: int
    ) -> None:
        cmd = [
            sys.executable, "-m", "colsec", "match", "--nats", url, "--stream", stream, "--as", user,
            "--batch", str(batch), "--alerts", str(out),
        ]  # fmt: skip
        self.procs = [
            subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for _ in range(n)
        ]
        self.cpu0: list[float] = [0.0] * n
        self.ready = 0.0
        # Compiling the indicators is not matching: each worker's CPU counts from its "pulling"
        # line, read as it comes (in turn, a worker ready first would match unnoticed meanwhile).
        sel = selectors.DefaultSelector()
        for i, p in enumerate(self.procs):
            assert p.stderr is not None
            sel.register(p.stderr.fileno(), selectors.EVENT_READ, i)
        seen = [b""] * n
        while len(sel.get_map()):
            for key, _ in sel.select():
                i = key.data
                chunk = os.read(key.fd, 65536)
                seen[i] += chunk
                if b"pulling from stream" in seen[i]:
                    self.cpu0[i] = cpu_seconds(self.procs[i].pid)
                    self.ready = self.ready or time.perf_counter()
                    sel.unregister(key.fd)
                elif not chunk:
                    raise SystemExit(f"a worker ended before it started:\n{seen[i].decode()}")
        sel.close()

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) - c for p, c in zip(self.procs, self.cpu0, strict=True))

    def stop(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            p.communicate(timeout=60)


async def _js(url: str) -> Any:
    import nats

    nc = await nats.connect(url)
    return nc, nc.jetstream()


async def publish_all(url: str, stream: str, lines: list[str], *, create: bool = False) -> None:
    nc, js = await _js(url)
    try:
        if create:
            await js.add_stream(name=stream, subjects=[f"tel.{stream}"])
        for i in range(0, len(lines), 1000):
            await asyncio.gather(*(js.publish(f"tel.{stream}", x.encode()) for x in lines[i : i + 1000]))
    finally:
        await nc.close()


async def watch(
    url: str, stream: str, last: int, cpu: Callable[[], float], timeout: float = 600
) -> list[Mark]:
    """(time, messages, workers' CPU seconds) once a ``WARM_SHARE``-th of the ``last``
    messages are delivered to the workers, and once all are acknowledged.

    Delivered, not acknowledged, at the first mark: a worker behind a backlog holds several
    matched fetches before one commit acknowledges them all, so acknowledgements come in
    steps of thousands, while deliveries run at most a fetch per worker ahead of the matching
    (that fetch's work then counts against the workers: a figure on the safe side).
    Acknowledged at the last: delivered minus pending, exact whatever order two workers finish
    in (the ack floor would lag behind the batch of the slower one).
    """
    nc, js = await _js(url)
    marks: list[Mark] = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = await js.consumer_info(stream, "colsec-match")
            delivered = info.delivered.stream_seq or 0
            if not marks and delivered >= last // WARM_SHARE:
                marks.append((time.perf_counter(), delivered, cpu()))
            if marks and delivered - (info.num_ack_pending or 0) >= last:
                marks.append((time.perf_counter(), last, cpu()))
                return marks
            await asyncio.sleep(0.01)
        raise SystemExit(f"workers did not finish {last} messages in {timeout}s")
    finally:
        await nc.close()


async def delete(url: str, stream: str) -> None:
    nc, js = await _js(url)
    try:
        await js.delete_stream(stream)
    finally:
        await nc.close()


def through_nats(
    env: dict[str, str], url: str, user: str, lines: list[str], n: int, batch: int, tmp: Path, per: int = 1
) -> tuple[float, float]:
    """(events/s, events per CPU-second of all workers) with ``n`` workers on one consumer.

    The lines are in the stream before the workers start, so the figure is what the workers can
    take (a backlog), not how fast this script publishes on the same two cores. ``per`` lines
    go in one message; a fetch takes ``batch`` lines' worth of messages. Both figures count
    from the moment a ``WARM_SHARE``-th of the messages is delivered (a worker's first batches
    warm caches up, once in its life; the reference leaves out as many) to the last one's
    acknowledgement (``watch``).
    """
    stream = f"BENCH{uuid.uuid4().hex[:8]}"
    bodies = ["\n".join(lines[i : i + per]) for i in range(0, len(lines), per)]
    asyncio.run(publish_all(url, stream, bodies, create=True))
    workers = Workers(env, url, stream, user, n, tmp / f"alerts-{n}.jsonl", max(1, batch // per))
    try:
        (t0, m0, c0), (t1, m1, c1) = asyncio.run(watch(url, stream, len(bodies), workers.cpu))
    finally:
        workers.stop()
        asyncio.run(delete(url, stream))
    events = min(m1 * per, len(lines)) - m0 * per
    return events / (t1 - t0), events / (c1 - c0)


def latency(
    env: dict[str, str], url: str, user: str, lines: list[str], hits: list[int], tmp: Path, count: int
) -> list[float]:
    """Seconds from publishing an alerting line to its alert in the worker's output, one at a time."""
    stream = f"BENCHLAT{uuid.uuid4().hex[:8]}"
    asyncio.run(publish_all(url, stream, [], create=True))
    out = tmp / "latency.jsonl"
    workers = Workers(env, url, stream, user, 1, out, 500)
    samples: list[float] = []

    async def run() -> None:
        nc, js = await _js(url)
        try:
            with out.open("a+") as f:
                for k in range(count):
                    line = lines[hits[k % len(hits)]]
                    f.seek(0, os.SEEK_END)
                    t0 = time.perf_counter()
                    ack = await js.publish(f"tel.{stream}", line.encode())
                    buf = ""
                    while f'"line":{ack.seq},' not in buf:
                        chunk = f.read()
                        buf += chunk
                        if not chunk:
                            await asyncio.sleep(0.0005)
                        if time.perf_counter() - t0 > 10:
                            raise SystemExit(f"no alert for message {ack.seq} within 10 s")
                    samples.append(time.perf_counter() - t0)
                    await asyncio.sleep(0.01)
        finally:
            await nc.close()

    try:
        asyncio.run(run())
    finally:
        workers.stop()
        asyncio.run(delete(url, stream))
    return samples


def figures(rounds: int, runs: dict[str, Callable[[], tuple[float, float]]]) -> dict[str, list[Rates]]:
    """Every run once per round, in turn, ``rounds`` times: each figure's samples spread over the
    same stretch of a shared machine's load as the reference's."""
    out: dict[str, list[Rates]] = {name: [] for name in runs}
    for k in range(max(1, rounds)):
        for name, run in runs.items():
            out[name].append(run())
        print(f"   round {k + 1} of {rounds} done", flush=True)
    return out


def report(results: dict[str, list[Rates]], reference: str) -> None:
    """Median events/s and events per CPU-second of each row, and its efficiency two ways: the
    median of its per-round ratios to the reference's events per CPU-second (their range
    beside), and its best round against the reference's best. A shared machine's load only
    ever adds CPU time (contention raises the cost of every instruction), so each row's best
    round is the one nearest its cost on a quiet machine; the two agree when the machine is."""
    base = [cpu for _, cpu in results[reference]]
    best_base = max(base)
    print(f"{'':<34}{'events/s':>12}{'events/CPU-s':>15}{'efficiency':>12}{'best/best':>11}   rounds")
    for name, runs in results.items():
        ratios = [cpu / b for (_, cpu), b in zip(runs, base, strict=True)]
        rate, cpu = statistics.median(r for r, _ in runs), statistics.median(c for _, c in runs)
        spread = f"{min(ratios):.0%}-{max(ratios):.0%}"
        best = max(c for _, c in runs) / best_base
        print(
            f"{name:<34}{rate:>12,.0f}{cpu:>15,.0f}{statistics.median(ratios):>11.0%}{best:>10.0%}   {spread}"
        )


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run_others(skip: bool, pg_url: str) -> None:
    for heading, (script, *script_args), target in OTHER_FIGURES:
        print(f"\n== {heading} (target {target}) ==", flush=True)
        if skip:
            print("   not run here: --skip-others")
            continue
        argv = [a.format(pg=pg_url) for a in script_args]
        subprocess.run([sys.executable, str(REPO / "bench" / script), *argv], check=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nats", default="nats://127.0.0.1:4222")
    ap.add_argument("--database-url", help="default: a SQLite file in a temporary directory")
    ap.add_argument("--lines", type=int, default=20_000)
    ap.add_argument("--indicators", type=int, default=5_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--per-message", type=int, default=100, help="lines a message in the batched rows")
    ap.add_argument("--copies", type=int, default=2, help="each run matches the lines this many times over")
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of every run; medians are shown (shared cores are noisy)",
    )
    ap.add_argument("--latency-samples", type=int, default=300)
    ap.add_argument("--skip-others", action="store_true", help="leave out jobs, outbox and API figures")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                    help="PostgreSQL for the job, outbox and API figures (a fresh schema each)")  # fmt: skip
    args = ap.parse_args()
    r = random.Random(18)
    tmp = Path(tempfile.mkdtemp(prefix="colsec-scale-"))
    try:
        url = args.database_url or f"sqlite:///{tmp / 'colsec.db'}"
        lines = telemetry_lines(args.lines)
        objs, hits = indicators(lines, args.indicators, r)
        user = setup_store(url, objs)
        env = {
            **os.environ, "COLSEC_DATABASE_URL": url, "COLSEC_DATA_DIR": str(tmp / "data"),
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
        }  # fmt: skip
        data = lines * max(1, args.copies)
        print(f"{len(lines):,} real telemetry lines, {len(objs):,} indicators ({len(hits):,} lines alert)")
        print(f"store: {url.split(':', 1)[0]}, NATS: {args.nats}, batch {args.batch}, ", end="")
        print(
            f"{len(data):,} lines a run (the first {100 // WARM_SHARE} % not counted), {args.rounds} rounds\n"
        )
        runs: dict[str, Callable[[], Rates]] = {
            # the reference: the engine as workers and `colsec match FILE` run it (young-only gc)
            REFERENCE: lambda: in_process(url, user, data, args.batch, young=True),
            "  same, automatic gc": lambda: in_process(url, user, data, args.batch, young=False),
            "  same, line by line": lambda: in_process(url, user, data, args.batch, young=True, by_line=True),
        }
        for per in (1, args.per_message):
            for n in (1, 2):
                lines_each = f", {per} lines/msg" if per > 1 else ""
                runs[f"NATS, {n} worker{'s' if n > 1 else ''}{lines_each}"] = lambda n=n, per=per: (
                    through_nats(env, args.nats, user, data, n, args.batch, tmp, per)
                )
        report(figures(args.rounds, runs), REFERENCE)
        print(
            "(efficiency: events per CPU-second against the in-process engine's, median of the"
            " rounds' ratios; best/best: each row's best round against the engine's; target >= 90 %)"
        )
        print("(the worker rows include receiving, committing and acknowledging each message)")
        samples = latency(env, args.nats, user, lines, hits, tmp, args.latency_samples)
        ms = [s * 1000 for s in samples]
        print(
            f"\npublish-to-alert over {len(ms)} messages: p50 {pct(ms, 50):.1f} ms, "
            f"p99 {pct(ms, 99):.1f} ms, max {max(ms):.1f} ms (target p99 < 100 ms)"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    run_others(args.skip_others, args.pg_url)


if __name__ == "__main__":
    main()
