"""Correlation benchmark: full set-based build over N observables, then one incremental 10,000-object import.

Synthetic, realistic mix (IPs, domains with some parents present, URLs, hashes,
e-mails, a few CIDRs), two observables per object, six member organisations,
~5% of observables drawn from a shared pool (about four holders per shared value).
The data is bulk-loaded first (not timed); each timed phase runs in a fresh
subprocess so its peak RSS is its own.

    python bench/correlation.py --n 1000000 [--backends sqlite,pg] [--pg URL] [--incremental 10000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ORGS = 6
SHARED_FRACTION = 0.05
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _value(kind: str, i: int) -> str:
    """Deterministic value number ``i`` of a kind (negative i: the shared pool)."""
    tag = f"s{-i}" if i < 0 else str(i)
    if kind == "ipv4":
        x = (abs(i) * 2654435761 + (7 if i < 0 else 0)) % (2**32 - 2**24) + 2**24
        return f"{x >> 24}.{(x >> 16) & 255}.{(x >> 8) & 255}.{x & 255}"
    if kind == "domain":
        return f"h{tag}.d{abs(i) // 7}.example{abs(i) % 50}.com"
    if kind == "parent":
        return f"d{abs(i) // 7}.example{abs(i) % 50}.com"
    if kind == "url":
        return f"http://h{tag}.d{abs(i) // 7}.example{abs(i) % 50}.net/p/{tag}"
    if kind == "email":
        return f"u{tag}@d{abs(i) // 7}.example{abs(i) % 50}.org"
    if kind == "cidr4":
        x = (abs(i) * 2654435761) % (2**32 - 2**24) + 2**24
        return f"{x >> 24}.{(x >> 16) & 255}.{(x >> 8) & 255}.0/24"
    return hashlib.blake2b(f"{kind}{tag}".encode(), digest_size=32 if kind == "sha256" else 16).hexdigest()


_MIX = [("ipv4", 0.28), ("domain", 0.22), ("url", 0.2), ("sha256", 0.15), ("md5", 0.05), ("email", 0.05),
        ("parent", 0.0495), ("cidr4", 0.0005)]  # fmt: skip
_STORE_KIND = {"parent": "domain"}


def synthetic(
    n_obs: int, seed: int, start: int = 0, prefix: str = "b"
) -> Iterator[tuple[str, int, list[tuple[str, str]]]]:
    """(object id, owner index, [(kind, value), (kind, value)]) for n_obs observables."""
    rng = random.Random(seed)
    kinds = [k for k, _ in _MIX]
    weights = [w for _, w in _MIX]
    pool = max(1, int(n_obs * SHARED_FRACTION / 4))
    for obj in range(n_obs // 2):
        pairs = []
        for j in range(2):
            kind = rng.choices(kinds, weights)[0]
            i = start + obj * 2 + j
            if rng.random() < SHARED_FRACTION:
                i = -1 - rng.randrange(pool)
            pairs.append((_STORE_KIND.get(kind, kind), _value(kind, i)))
        yield (
            f"indicator--{uuid.UUID(int=int(hashlib.md5(prefix.encode()).hexdigest()[:4], 16) << 96 | (start + obj), version=4)}",
            rng.randrange(ORGS),
            pairs,
        )


LOAD = r"""
import json, sys, time
from colsec.db import Database
from colsec.migrations import upgrade
from colsec.accounts import service as accounts
from colsec.accounts.roles import SYSTEM
sys.path.insert(0, sys.argv[3])
from correlation import synthetic
url, n = sys.argv[1], int(sys.argv[2])
db = Database(url)
upgrade(db.engine)
with db.unit_of_work() as s:
    orgs = [accounts.create_organisation(s, actor=SYSTEM, name=f"Bench member {i}", short_name=f"BM{i}").id for i in range(6)]
t = time.perf_counter()
raw = db.engine.raw_connection()
cur = raw.cursor()
sqlite = db.sqlite
if sqlite:
    cur.execute("BEGIN")
start = "2026-11-01T00:00:00.000Z"
body = '{"type":"indicator","spec_version":"2.1"}'
seq0 = 1_000_000
objs, obs = [], []
def flush():
    if sqlite:
        cur.executemany("INSERT INTO stix_object (seq, id, type, spec_version, created, modified, owner_org_id, tlp, revoked, is_latest, date_added, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", objs)
        cur.executemany("INSERT INTO observable (kind, value, object_seq, object_id) VALUES (?,?,?,?)", obs)
    else:
        with cur.copy("COPY stix_object (seq, id, type, spec_version, created, modified, owner_org_id, tlp, revoked, is_latest, date_added, body) FROM STDIN") as cp:
            for r in objs: cp.write_row(r)
        with cur.copy("COPY observable (kind, value, object_seq, object_id) FROM STDIN") as cp:
            for r in obs: cp.write_row(r)
    objs.clear(); obs.clear()
    if sqlite:
        raw.commit(); cur.execute("BEGIN")
for k, (oid, owner, pairs) in enumerate(synthetic(n, 1)):
    seq = seq0 + k
    objs.append((seq, oid, "indicator", "2.1", start, start, orgs[owner], 1, False, True, f"2026-11-01T00:00:00.{k % 1000000:06d}Z", body))
    for kind, value in set(pairs):
        obs.append((kind, value, seq, oid))
    if len(objs) >= 50000:
        flush()
flush()
if not sqlite:
    cur.execute("SELECT setval(pg_get_serial_sequence('stix_object', 'seq'), (SELECT max(seq) FROM stix_object))")
    cur.execute("ANALYZE")
raw.commit()
if sqlite:
    cur.execute("ANALYZE")
n_obs = db.engine.connect().exec_driver_sql("SELECT count(*) FROM observable").scalar()
print(json.dumps({"observables": n_obs, "load_seconds": time.perf_counter() - t}))
"""

FULL = r"""
import json, resource, sys, time
from colsec.db import Database
from colsec.intel.correlation import rebuild
db = Database(sys.argv[1])
t = time.perf_counter()
with db.unit_of_work() as s:
    st = rebuild(s)
print(json.dumps({"seconds": time.perf_counter() - t, "active": st.active, "capped": st.capped, "edges": st.edges,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

INCREMENTAL = r"""
import json, resource, sys, time
from sqlalchemy import select
from colsec.db import Database
from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor, Role
from colsec.intel import hooks
from colsec.intel.correlation import correlate_new
from colsec.store.service import import_objects
sys.path.insert(0, sys.argv[4])
from correlation import synthetic
url, n_objects, n_existing = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
db = Database(url)
def objects(org_ids):
    for oid, owner, pairs in synthetic(n_objects * 2, 2, start=n_existing * 10, prefix="inc"):
        pattern = " OR ".join(f"[{ {'ipv4': 'ipv4-addr:value', 'domain': 'domain-name:value', 'url': 'url:value', 'email': 'email-addr:value', 'cidr4': 'ipv4-addr:value'}.get(k, 'file:hashes.' + (chr(39) + 'SHA-256' + chr(39) if k == 'sha256' else 'MD5'))} = '{v}']" for k, v in pairs)
        yield {"type": "indicator", "spec_version": "2.1", "id": oid, "created": "2026-11-20T00:00:00.000Z",
               "modified": "2026-11-20T00:00:00.000Z", "pattern": pattern, "pattern_type": "stix",
               "valid_from": "2026-11-20T00:00:00.000Z"}
with db.unit_of_work() as s:
    org_id = s.execute(select(Organisation.id).where(Organisation.short_name == "BM1")).scalar_one()
    actor = Actor(username="bench", role=Role.ANALYST, org_id=org_id, org_short_name="BM1")
    t = time.perf_counter()
    res = import_objects(s, actor=actor, objects=objects(None), owner_org_id=org_id)
    t_import = time.perf_counter() - t
    t = time.perf_counter()
    st = correlate_new(s, res.inserted_seqs)
    t_corr = time.perf_counter() - t
    s.rollback()
with db.unit_of_work() as s:
    t = time.perf_counter()
    res = import_objects(s, actor=actor, objects=objects(None), owner_org_id=org_id)
    t_import2 = time.perf_counter() - t
    t = time.perf_counter()
    hooks.on_import(s, res.inserted_seqs, config=hooks.IntelConfig())
    t_hook = time.perf_counter() - t
    s.rollback()
print(json.dumps({"objects": res.inserted, "import_seconds": t_import, "correlate_seconds": t_corr,
                  "changed": len(st.changed), "hook_seconds": t_hook,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _run(code: str, *args: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"benchmark step failed ({proc.returncode})")
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _pg_url(base: str) -> tuple[str, str]:
    import sqlalchemy as sa

    schema = f"bench_corr_{os.getpid()}"
    eng = sa.create_engine(base)
    with eng.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    eng.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def _drop_pg(base: str, schema: str) -> None:
    import sqlalchemy as sa

    eng = sa.create_engine(base)
    with eng.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    eng.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--n", type=int, default=1_000_000, help="observables to correlate (10000000 for the full run)"
    )
    ap.add_argument("--backends", default="sqlite,pg")
    ap.add_argument("--pg", default=os.environ.get("COLSEC_BENCH_PG", PG_DEFAULT))
    ap.add_argument("--incremental", type=int, default=10_000, help="objects in the incremental import")
    args = ap.parse_args()
    here = str(Path(__file__).resolve().parent)
    rows = []
    for backend in args.backends.split(","):
        tmp = tempfile.mkdtemp(prefix="colsec-bench-corr-")
        schema = None
        if backend == "sqlite":
            url = f"sqlite:///{tmp}/bench.db"
        else:
            url, schema = _pg_url(args.pg)
        try:
            print(f"[{backend}] loading {args.n:,} observables ...", flush=True)
            load = _run(LOAD, url, str(args.n), here)
            print(
                f"[{backend}] loaded {load['observables']:,} in {load['load_seconds']:.0f}s; full correlation ...",
                flush=True,
            )
            full = _run(FULL, url)
            print(f"[{backend}] full: {full}", flush=True)
            inc = _run(INCREMENTAL, url, str(args.incremental), str(args.n), here)
            print(f"[{backend}] incremental: {inc}", flush=True)
            rows.append((backend, load, full, inc))
        finally:
            if schema:
                _drop_pg(args.pg, schema)
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(f"{'backend':8} {'observables':>12} {'full s':>8} {'full RSS MB':>11} {'active':>9} {'edges':>8} "
          f"{'inc objs':>8} {'inc corr s':>10} {'inc hook s':>10} {'import s':>9}")  # fmt: skip
    for backend, load, full, inc in rows:
        print(
            f"{backend:8} {load['observables']:>12,} {full['seconds']:>8.1f} {full['rss_mb']:>11.0f} {full['active']:>9,} "
            f"{full['edges']:>8,} {inc['objects']:>8,} {inc['correlate_seconds']:>10.2f} {inc['hook_seconds']:>10.2f} "
            f"{inc['import_seconds']:>9.1f}"
        )  # fmt: skip
    print("targets: full < 300 s and RSS < 4096 MB at 10M; incremental correlation of 10,000 objects < 2 s")


if __name__ == "__main__":
    main()
