"""Large MISP event import: colsec's converter and store import beside misp-stix, in one run.

Usage: python bench/misp_import.py [--attributes 200000] [--reference 5000] [--no-store]
Each row runs in its own process and prints wall seconds, CPU seconds, attributes/s and
peak RSS: colsec converting only, colsec converting and storing into a fresh SQLite
node (the write gate's checks, observables index and audit included; the node's post-import
steps, correlation, scores and exposure, timed apart in their own column), and misp-stix
(the reference converter) on a smaller event of the same mix.  A large import's correlation,
scores, exposure and alerts are a job it queues (``colsec.intel.hooks``): the job is run after
the import by the node's job runner and timed in a column of its own.  Target (issue 20):
200,000 attributes imported in < 20 s with < 500 MB peak, with the node's default limits
(the event's grouping lists every object, ~37 MB of ids, which count against the unit cap).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

TYPES = [
    ("ip-dst", "198.51.{a}.{b}"),
    ("ip-src", "203.0.{a}.{b}"),
    ("domain", "host{n}.example.com"),
    ("url", "https://host{n}.example.net/path/{n}"),
    ("md5", "{h32}"),
    ("sha256", "{h64}"),
    ("filename|sha1", "file{n}.exe|{h40}"),
    ("email-src", "user{n}@example.org"),
    ("hostname", "www{n}.example.org"),
    ("sha1", "{h40}"),
]


def generate(path: str, n: int) -> None:
    """Write a MISP event with n attributes of the common kinds (streamed to disk)."""
    with open(path, "w") as f:
        head = json.dumps(
            {"uuid": str(uuid.uuid4()), "info": "bench event", "date": "2026-01-01", "timestamp": "1767225600",
             "published": False, "distribution": "1", "Orgc": {"name": "Bench CERT", "uuid": str(uuid.uuid4())},
             "Tag": [{"name": "tlp:amber"}]}
        )  # fmt: skip
        f.write('{"Event": ' + head[:-1] + ', "Attribute": [')
        for i in range(n):
            t, tmpl = TYPES[i % len(TYPES)]
            h = uuid.UUID(int=i).hex
            value = tmpl.format(a=(i >> 8) & 255, b=i & 255, n=i, h32=h, h40=(h + h)[:40], h64=h + h)
            attr = {
                "uuid": str(uuid.uuid4()),
                "type": t,
                "value": value,
                "to_ids": i % 3 != 0,
                "timestamp": "1767225600",
                "comment": "" if i % 5 else "seen in campaign",
            }
            if i % 7 == 0:
                attr["Tag"] = [{"name": "tlp:green"}, {"name": "kill-chain:Delivery"}]
            f.write(("," if i else "") + json.dumps(attr))
        f.write("]}}")


def run_child(mode: str, path: str, extra: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, path, *extra], capture_output=True, text=True
    )
    if out.returncode:
        print(out.stderr[-3000:], file=sys.stderr)
        raise SystemExit(out.returncode)
    return json.loads(out.stdout.strip().splitlines()[-1])


def import_file(path: str, timings: dict[str, float] | None = None) -> int:
    """Import one MISP file into a fresh SQLite node through the product's import path.

    The node is built as ``colsec serve`` builds it (``build_node``), so the post-import steps
    (correlation, scores, exposure, cross-member alerts, urgent pushes) run as in production;
    each is timed on its own into ``timings["post_import"]``, apart from the import proper.
    """
    from colsec.accounts.roles import SYSTEM
    from colsec.accounts.service import create_organisation
    from colsec.federation.push import queue_urgent
    from colsec.formats.service import import_source
    from colsec.intel.hooks import IntelConfig, post_import_step
    from colsec.migrations import upgrade
    from colsec.node import build_node
    from colsec.settings import Settings

    spent = timings if timings is not None else {}
    spent.setdefault("post_import", 0.0)

    def timed(step: Any) -> Any:
        def run(db: Any, seqs: Any) -> None:
            spent.setdefault("rss_import_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            t, c = time.perf_counter(), time.process_time()
            try:
                step(db, seqs)
            finally:
                spent["post_import"] += time.perf_counter() - t
                spent["post_import_cpu"] = spent.get("post_import_cpu", 0.0) + time.process_time() - c

        return run

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data",
            database_url=f"sqlite:///{tmp}/bench.db",
            secret_key="bench-secret-key",
        )
        steps = (post_import_step(IntelConfig.from_settings(settings)), queue_urgent)
        node = build_node(settings, post_import=[timed(step) for step in steps])
        db = node.database
        upgrade(db.engine)
        with db.unit_of_work() as session:
            org = create_organisation(session, actor=SYSTEM, name="Bench CERT", short_name="bench")
            org_id = org.id
        spent["post_import"] = spent["post_import_cpu"] = 0.0  # setup's own import ran them too
        spent.pop("rss_import_mb", None)
        t0, c0, m0 = time.perf_counter(), time.process_time(), time.thread_time()
        with db.unit_of_work() as session:
            report = import_source(
                session,
                actor=SYSTEM,
                data=Path(path).read_bytes(),
                owner_org_id=org_id,
            )
        # the import's unit of work, committed, without the node's setup and the post-import steps
        spent["import"] = time.perf_counter() - t0 - spent["post_import"]
        spent["import_cpu"] = time.process_time() - c0 - spent["post_import_cpu"]
        spent["import_main_cpu"] = time.thread_time() - m0 - spent["post_import_cpu"]
        # A large import's post-import work is a job (colsec.intel.hooks): run by the node's
        # runner as a worker would, after the import has answered, and timed apart.
        t, c = time.perf_counter(), time.process_time()
        spent["jobs_run"] = node.job_runner(schedules=()).run_once()
        spent["deferred"] = time.perf_counter() - t
        spent["deferred_cpu"] = time.process_time() - c
        db.dispose()
    return report.received


# CPU sections of the import (--split): (module, function, section).  Wrapping a name the
# store no longer has is skipped, so the split follows the store as it changes.
SECTIONS = [
    ("colsec.store.service", "validate_object", "store: validate each object"),
    ("colsec.store.service", "limit_problem", "store: limits per object"),
    ("colsec.store.service", "_store_batch", "store: batches (gate, rows, inserts, companions)"),
    ("colsec.store.service", "held_versions", "store: batches: held versions lookup"),
    ("colsec.store.inserts", "_insert_sqlite", "store: batches: object rows INSERT"),
    ("colsec.store.inserts", "record_versions", "store: batches: companion rows (all)"),
    ("colsec.store.companions", "index_versions", "store: batches: companion rows: text index"),
]


WRITER = "writer thread: "  # the keys of the writer thread's jobs (``colsec.store.writebehind``)
WAITS = "main thread waiting for the writer thread (wall)"


def install_split(cpu: dict[str, float]) -> None:
    """CPU seconds per section of the main thread and per job of the import's writer thread
    (thread time: robust to other load on the machine, and the writer's CPU, which runs beside
    the main thread's, is not counted in the main thread's sections), and the wall seconds the
    main thread waits for the writer: which of the two bounds the import's wall."""
    import importlib

    import colsec.formats.adapters as adapters
    import colsec.store.service as service
    from colsec.formats.registry import IMPORTERS, ImportFormat
    from colsec.store.writebehind import WriteBehind

    def add(key: str, value: float) -> None:
        cpu[key] = cpu.get(key, 0.0) + value

    def wrap(module: Any, name: str, key: str) -> None:
        inner = getattr(module, name)

        def run(*args: Any, **kwargs: Any) -> Any:
            t = time.thread_time()
            try:
                return inner(*args, **kwargs)
            finally:
                add(key, time.thread_time() - t)

        setattr(module, name, run)

    submit, drain = WriteBehind.submit, WriteBehind.drain

    def timed_submit(self: Any, fn: Any, *args: Any) -> Any:
        def job(*job_args: Any) -> Any:
            t = time.thread_time()
            try:
                return fn(*job_args)
            finally:
                add(WRITER + fn.__name__, time.thread_time() - t)

        return submit(self, job, *args)

    def timed_drain(self: Any) -> None:
        t = time.perf_counter()
        for waiting in list(self._jobs):
            waiting.exception()  # the jobs' end, before the session work ``drain`` runs after them
        add(WAITS, time.perf_counter() - t)
        drain(self)

    WriteBehind.submit, WriteBehind.drain = timed_submit, timed_drain  # type: ignore[method-assign]
    if hasattr(service, "_store_batch"):
        store_batch = service._store_batch

        def waited_store_batch(db: Any, unit: Any, batch: Any, stored: Any, result: Any) -> Any:
            if stored is not None:  # the writer thread's look-up of the batch's stored ids
                t = time.perf_counter()
                stored.exception()
                add(WAITS, time.perf_counter() - t)
            return store_batch(db, unit, batch, stored, result)

        service._store_batch = waited_store_batch

    for module_name, name, key in SECTIONS:
        module = importlib.import_module(module_name)
        if hasattr(module, name):
            wrap(module, name, key)
    plain = adapters.parse_misp

    def parse(data: bytes) -> Any:
        for unit in plain(data):
            objects = iter(unit.objects)

            def converted(objects: Any = objects) -> Any:
                while True:
                    t = time.thread_time()
                    obj = next(objects, None)
                    add("MISP: parse, check and convert", time.thread_time() - t)
                    if obj is None:
                        return
                    yield obj

            unit.objects = converted()
            yield unit

    object.__setattr__(IMPORTERS[ImportFormat.MISP], "parse", parse)


def child(mode: str, path: str, no_store: bool, split: bool = False) -> None:
    t0 = time.perf_counter()
    c0 = time.process_time()
    n_objects = 0
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    if split:
        install_split(cpu)
    if mode == "ours":
        if no_store:
            from colsec.formats.misp_import import read_misp_units

            for unit in read_misp_units(Path(path).read_bytes()):
                for _ in unit.objects:
                    n_objects += 1
        else:
            n_objects = import_file(path, timings)
    else:
        from colsec.formats.misp_to_stix import reference_convert

        n_objects = len(reference_convert(json.loads(Path(path).read_bytes())["Event"]))
    elapsed = time.perf_counter() - t0
    cpu_s = time.process_time() - c0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "cpu": cpu_s,
                "objects": n_objects,
                "rss_mb": rss_mb,
                "split": cpu,
                **timings,
            }
        )
    )


def print_split(name: str, r: dict) -> None:
    """The import's CPU seconds by section, the post-import steps apart; peak RSS before them."""
    total = r["import_cpu"]
    split = r.get("split") or {}
    print(f"{name}: import CPU {total:.1f} s, peak RSS before post-import {r.get('rss_import_mb', 0):.0f} MB")
    if not split:  # sections are timed with --split only
        print(f"  {'post-import steps (apart, same transaction)':55} {r['post_import_cpu']:7.1f} s CPU")
        print(f"  {'queued jobs, run after the import (apart)':55} {r['deferred_cpu']:7.1f} s CPU")
        return
    main = r["import_main_cpu"]
    writer = {k: v for k, v in split.items() if k.startswith(WRITER)}
    sections = {k: v for k, v in split.items() if k not in writer and k != WAITS}
    top = [k for k in sections if not k.startswith("store: batches: ")]
    rest = main - sum(sections[k] for k in top)
    order = ["MISP: parse, check and convert", *(key for _, _, key in SECTIONS)]
    ranked = sorted(sections.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
    print(f"  main thread CPU {main:.1f} s, writer thread CPU {sum(writer.values()):.1f} s:")
    for key, value in [*ranked, ("store: rest of the per-object loop, audit, commit", rest), *writer.items()]:
        print(f"  {key:55} {value:7.1f} s {100 * value / total:5.1f}%")
    print(f"  {WAITS:55} {split.get(WAITS, 0.0):7.1f} s")
    print(f"  {'post-import steps (apart, same transaction)':55} {r['post_import_cpu']:7.1f} s")
    print(f"  {'queued jobs, run after the import (apart)':55} {r['deferred_cpu']:7.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--attributes", type=int, default=200_000)
    ap.add_argument("--reference", type=int, default=5_000, help="attributes for the misp-stix run (0: skip)")
    ap.add_argument("--no-store", action="store_true", help="convert only, do not write to a database")
    ap.add_argument("--split", action="store_true", help="print where the import's CPU time goes, by section")
    ap.add_argument("--child", nargs=2)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.no_store, args.split)
        return
    rows: list[tuple[str, int, dict]] = []
    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "big.json")
        generate(big, args.attributes)
        rows.append(("colsec (convert only)", args.attributes, run_child("ours", big, ["--no-store"])))
        if not args.no_store:
            extra = ["--split"] if args.split else []
            rows.append(("colsec (convert + store)", args.attributes, run_child("ours", big, extra)))
        if args.reference:
            small = os.path.join(tmp, "small.json")
            generate(small, args.reference)
            rows.append(("misp-stix (reference)", args.reference, run_child("ref", small, [])))
    print(
        f"{'converter':26} {'attributes':>10} {'objects':>9} {'seconds':>8} {'CPU s':>7} {'attr/s':>9} "
        f"{'peak RSS MB':>11} {'import s':>8} {'post-import s':>13} {'job s':>6}"
    )
    for name, n, r in rows:
        split = (
            f" {r['import']:>8.1f} {r['post_import']:>13.1f} {r['deferred']:>6.1f}"
            if "import" in r
            else f" {'-':>8} {'-':>13} {'-':>6}"
        )
        print(
            f"{name:26} {n:>10} {r['objects']:>9} {r['seconds']:>8.1f} {r['cpu']:>7.1f} "
            f"{n / r.get('import', r['seconds']):>9.0f} {r['rss_mb']:>11.0f}{split}"
        )
    print(
        "seconds: the whole child process (node setup included); attr/s: of import s where measured;"
        " import s: the import's unit of work up to"
        " its commit, post-import steps excluded; post-import s: correlation, scores, exposure, alerts and"
        " urgent pushes, which run inside that transaction; job s: the jobs the import queued (a large"
        " import's correlation, scores, exposure and alerts), run after it by the node's job runner"
    )
    for name, _, r in rows:
        if "import_cpu" in r:
            print_split(name, r)
    if args.reference:
        ref = rows[-1][1] / rows[-1][2]["seconds"]
        for name, n, r in rows[:-1]:
            print(f"{name}: {n / r.get('import', r['seconds']) / ref:.0f}x misp-stix's attributes/s")
    print(
        f"target: {args.attributes:,} attributes stored in < 20 s, < 500 MB peak; "
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
