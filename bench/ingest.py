"""Ingest benchmark: ATT&CK Enterprise into SQLite and PostgreSQL, and a synthetic 1M-indicator bundle.

Each run happens in a fresh subprocess so peak RSS is that import's own.  Two references
in the same run: the raw insert ceiling (the same ``stix_object`` rows, prepared beforehand,
inserted in batches of 1,000 into the same migrated schema in one transaction and committed: no
validation, gate, index rows, audit or derived data; the table's own indexes and triggers run)
and the field's library
(stix2.parse) on the same objects, without storing anything.  colsec's time includes reading
the file (streamed); the parse column says how much of it that is.  CPU seconds are printed
beside wall time (the client's, and on a local PostgreSQL its backend's from /proc): on a machine
loaded by other work they, not wall time, compare colsec with the ceiling.  colsec's client CPU
includes its writer thread's (``colsec.store.writebehind``), which overlaps the main thread's in
wall time: the main thread's CPU, printed beside it, is the import's critical path on a quiet machine.  The colsec code
measured is the one on ``PYTHONPATH``, so one bench compares two trees in the same run.

    python bench/ingest.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test] [--synthetic 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ATTACK = REPO.parent / "shared" / "data" / "attack" / "enterprise-attack-18.1.stix21.json.gz"

# CPU seconds of the PostgreSQL backend serving a connection, read from /proc when the server is
# local (0 otherwise): unlike wall time, it holds on a machine loaded by other work.
SERVER_CPU = r"""
import os
def server_cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
"""

CHILD = (
    SERVER_CPU
    + r"""
import json, resource, sys, time
from pathlib import Path
from colsec.db import Database
from colsec.migrations import upgrade
from colsec.accounts.roles import SYSTEM
from colsec.formats.stix_bundle import read_stix_file
from colsec.store.service import import_objects
from colsec.stix.tlp import TLP
url, path = sys.argv[1], Path(sys.argv[2])
db = Database(url)
upgrade(db.engine)
t, cpu, main = time.perf_counter(), time.process_time(), time.thread_time()
with db.unit_of_work() as s:
    pid = None if url.startswith("sqlite") else s.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
    server = server_cpu(pid)
    r = import_objects(s, actor=SYSTEM, objects=read_stix_file(path), default_tlp=TLP.CLEAR)
elapsed, cpu, main = time.perf_counter() - t, time.process_time() - cpu, time.thread_time() - main
print(json.dumps({"n": r.received, "inserted": r.inserted, "seconds": elapsed, "cpu": cpu, "main_cpu": main,
                  "server_cpu": server_cpu(pid) - server,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
)

# The raw insert ceiling: the rows colsec's gate would store (same columns, same body JSON),
# built before the clock starts; only the driver's bulk insert of stix_object and the commit are
# timed: one multi-row INSERT per 1,000 rows on SQLite (an executemany runs a statement per row, and
# with activity_count's row trigger each statement opens a statement journal: about twice the cost),
# COPY on PostgreSQL (its executemany is a statement per row, and each statement fires the
# activity_count statement trigger: 5 s of server CPU against 0.7 s).
CEILING = (
    SERVER_CPU
    + r"""
import json, resource, sys, time, uuid
import orjson
from pathlib import Path
from colsec.db import Database
from colsec.migrations import upgrade
from colsec.formats.stix_bundle import read_stix_file
url, path = sys.argv[1], Path(sys.argv[2])
db = Database(url)
upgrade(db.engine)
cols = ("id", "type", "spec_version", "created", "modified", "created_by_ref", "owner_org_id", "tlp",
        "sharing_group_id", "revoked", "is_latest", "date_added", "origin", "body")
sqlite = url.startswith("sqlite")
t = time.perf_counter()
parse = parse_cpu = 0.0
insert = insert_cpu = 0.0
n = 0
conn = db.engine.raw_connection()
cur = conn.cursor()
pid = None
if not sqlite:
    cur.execute("SELECT pg_backend_pid()")
    pid = cur.fetchone()[0]
server = server_cpu(pid)
if sqlite:
    cur.execute("BEGIN IMMEDIATE")  # the engine leaves pysqlite in autocommit and begins itself
batch = []
def flush():
    global insert, insert_cpu
    t0, c0 = time.perf_counter(), time.process_time()
    if sqlite:
        values = ", ".join(["(" + ", ".join("?" * len(cols)) + ")"] * len(batch))
        cur.execute(f"INSERT INTO stix_object ({', '.join(cols)}) VALUES {values}", [v for row in batch for v in row])
    else:  # COPY: an executemany runs a statement per row, and each fires activity_count's statement trigger
        with cur.copy(f"COPY stix_object ({', '.join(cols)}) FROM STDIN") as copy:
            for row in batch:
                copy.write_row(row)
    insert += time.perf_counter() - t0
    insert_cpu += time.process_time() - c0
    batch.clear()
stream = iter(read_stix_file(path))
while True:
    t0, c0 = time.perf_counter(), time.process_time()
    obj = next(stream, None)
    parse += time.perf_counter() - t0
    parse_cpu += time.process_time() - c0
    if obj is None:
        break
    n += 1
    batch.append((obj["id"], obj["type"], "2.1", obj.get("created"), obj.get("modified") or obj.get("created") or "",
                  obj.get("created_by_ref"), None, 0, None, bool(obj.get("revoked")), True,
                  f"2026-12-08T00:00:{n // 1000000:02d}.{n % 1000000:06d}Z",
                  None, orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()))
    if len(batch) >= 1000:
        flush()
if batch:
    flush()
t0, c0 = time.perf_counter(), time.process_time()
conn.commit()
insert += time.perf_counter() - t0
insert_cpu += time.process_time() - c0
print(json.dumps({"n": n, "seconds": insert, "cpu": insert_cpu, "parse": parse, "parse_cpu": parse_cpu,
                  "server_cpu": server_cpu(pid) - server,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
)

REFERENCE = r"""
import gzip, json, resource, sys, time, warnings
import stix2
warnings.simplefilter("ignore")
path, limit = sys.argv[1], int(sys.argv[2])
opener = gzip.open if path.endswith(".gz") else open
with opener(path, "rb") as f:
    objs = json.load(f)["objects"][:limit]
t = time.perf_counter()
n = 0
for o in objs:
    try:
        stix2.parse(o, allow_custom=True)
    except Exception:
        pass
    n += 1
print(json.dumps({"n": n, "seconds": time.perf_counter() - t}))
"""


def run_child(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def fresh_pg(url: str) -> str:
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with create_engine(url).begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def drop_pg(url: str, schema_url: str) -> None:
    from sqlalchemy import create_engine, text

    schema = schema_url.rsplit("%3D", 1)[1]
    with create_engine(url).begin() as c:
        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def synthetic(path: Path, n: int) -> None:
    with path.open("w") as f:
        f.write(f'{{"type": "bundle", "id": "bundle--{uuid.uuid4()}", "objects": [\n')
        for i in range(n):
            kind = i % 4
            if kind == 0:
                pat = f"[ipv4-addr:value = '10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}']"
            elif kind == 1:
                pat = f"[domain-name:value = 'host{i}.example.com']"
            elif kind == 2:
                pat = f"[file:hashes.'SHA-256' = '{i:064x}']"
            else:
                pat = f"[url:value = 'http://files.example.net/{i}.bin']"
            obj = {
                "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "pattern": pat, "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
            }  # fmt: skip
            f.write(("," if i else "") + json.dumps(obj) + "\n")
        f.write("]}\n")


def _pair(rows: list[tuple[str, ...]], label: str, fresh: Callable[[str], str], path: Path) -> None:
    """colsec's import and the raw insert ceiling of the same file, each into a fresh database."""
    r = run_child(CHILD, fresh("colsec"), str(path))
    c = run_child(CEILING, fresh("ceiling"), str(path))
    rows.append(
        (
            f"{label} → colsec",
            f"{r['n']:,}",
            f"{r['n'] / r['seconds']:,.0f} obj/s ({r['seconds']:.2f} s)",
            f"{r['rss_mb']:.0f} MB",
        )
    )
    rows.append(
        (
            f"{label} → raw insert ceiling",
            f"{c['n']:,}",
            f"{c['n'] / c['seconds']:,.0f} obj/s ({c['seconds']:.2f} s)",
            f"{c['rss_mb']:.0f} MB",
        )
    )
    rows.append(
        (
            f"{label}: colsec / ceiling (file parse {c['parse']:.2f} s)",
            "",
            f"{c['seconds'] / r['seconds']:.0%}, {c['seconds'] / max(r['seconds'] - c['parse'], 1e-9):.0%} w/o parse",
            "",
        )
    )
    # Client CPU seconds: SQLite works inside the client, so on SQLite these ratios hold under load.
    # The import's main thread is its critical path: its writer thread's database work overlaps it.
    rows.append(
        (
            f"{label}: client CPU colsec {r['cpu']:.2f} s (main thread {r['main_cpu']:.2f} s), "
            f"ceiling {c['cpu']:.2f} s, parse {c['parse_cpu']:.2f} s",
            "",
            f"{c['cpu'] / r['cpu']:.0%}, {c['cpu'] / max(r['cpu'] - c['parse_cpu'], 1e-9):.0%} w/o parse",
            "",
        )
    )
    if r["server_cpu"] or c["server_cpu"]:  # PostgreSQL on this machine: its backend's CPU too
        rc, cc = r["cpu"] + r["server_cpu"], c["cpu"] + c["server_cpu"]
        rows.append(
            (
                f"{label}: client + server CPU colsec {rc:.2f} s, ceiling {cc:.2f} s "
                f"(server {r['server_cpu']:.2f} s, {c['server_cpu']:.2f} s)",
                "",
                f"{cc / rc:.0%}, {cc / max(rc - c['parse_cpu'], 1e-9):.0%} w/o parse",
                "",
            )
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", default=os.environ.get("COLSEC_TEST_DATABASE_URL"))
    ap.add_argument("--synthetic", type=int, default=1_000_000)
    ap.add_argument("--reference-sample", type=int, default=3000)
    ap.add_argument("--skip-attack", action="store_true")
    args = ap.parse_args()
    rows: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_attack:
            _pair(rows, "ATT&CK Enterprise, SQLite", lambda k: f"sqlite:///{tmp}/attack-{k}.db", ATTACK)
            if args.pg:
                schemas: list[str] = []

                def fresh(_kind: str) -> str:
                    schemas.append(fresh_pg(args.pg))
                    return schemas[-1]

                try:
                    _pair(rows, "ATT&CK Enterprise, PostgreSQL", fresh, ATTACK)
                finally:
                    for schema_url in schemas:
                        drop_pg(args.pg, schema_url)
            if args.reference_sample:
                ref = run_child(REFERENCE, str(ATTACK), str(args.reference_sample))
                rows.append(
                    (
                        "ATT&CK sample → stix2.parse only (field library)",
                        f"{ref['n']:,}",
                        f"{ref['n'] / ref['seconds']:,.0f} obj/s",
                        "-",
                    )
                )
        if args.synthetic:
            big = Path(tmp) / "synthetic.json"
            t = time.perf_counter()
            synthetic(big, args.synthetic)
            gen = time.perf_counter() - t
            size_mb = big.stat().st_size / 1e6
            label = f"synthetic {args.synthetic:,} indicators ({size_mb:.0f} MB, gen {gen:.0f} s), SQLite"
            _pair(rows, label, lambda k: f"sqlite:///{tmp}/synthetic-{k}.db", big)
    width = max(len(r[0]) for r in rows)
    print(f"{'run':<{width}}  {'objects':>10}  {'rate':>28}  {'peak RSS':>9}")
    for name, n, rate, rss in rows:
        print(f"{name:<{width}}  {n:>10}  {rate:>28}  {rss:>9}")
    print(
        "targets: ≥ 50% of the ceiling; ATT&CK Enterprise < 0.9 s on SQLite, < 1.5 s on PostgreSQL; "
        "1M indicators < 40 s and < 1 GB peak RSS"
    )


if __name__ == "__main__":
    main()
