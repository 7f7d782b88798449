"""The web benches' shared store and request loop (``bench/web.py``, ``bench/web_search.py``).

One fixture serves both: the demo alliance plus N objects with searchable text (indicators
named from a mixed English/Russian vocabulary with their values and a label, ATT&CK-like
techniques with T-ids, descriptions and kill-chain phases, intrusion sets with aliases,
malware, relationships between them, groupings of 500 members), a realistic TLP mix, owners
rotating over the members a thousand objects at a time, every object added "now" (the
dashboard's 14-day window covers all of them: its worst case).

The rows are written straight into the tables the write gate fills (``stix_object``,
``observable``, ``search_doc`` and SQLite's ``search_fts``, ``object_link``; ``activity_count``
follows by its triggers on ``stix_object``, as for any write), with the gate's
own derivations (``colsec.fulltext.document_terms``, ``colsec.stix.observables.extract``): the
importer took ~40 min for a million objects on a loaded machine, this a few minutes.  A built
SQLite store is cached under the temp dir keyed by size and by the generator's code, so an
edit of the generator builds anew and a rerun measures at once.
"""

from __future__ import annotations

import hashlib
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

NS = uuid.UUID("0c5e3a1f-7d2b-4e9a-b6c8-1f2e3d4c5b6a")
EN = ("phishing campaign credential harvesting loader backdoor ransomware beacon exfiltration scanner botnet "
      "wiper dropper stealer implant spearphishing watering hole supply chain exploit kit c2 relay proxy "
      "banking trojan remote access tool keylogger miner rootkit worm").split()  # fmt: skip
RU = ("фишинговая рассылка кампания вредоносный загрузчик шифровальщик бэкдор эксфильтрация сканер ботнет "
      "похищение учётных данных вложение письмо энергетика банк атака уязвимость эксплуатация сервер "
      "управляющий узел разведка закрепление").split()  # fmt: skip
TACTICS = ("reconnaissance", "resource-development", "initial-access", "execution", "persistence",
           "privilege-escalation", "defense-evasion", "credential-access", "discovery", "lateral-movement",
           "collection", "command-and-control", "exfiltration", "impact")  # fmt: skip
OWNER_RUN = 1000  # consecutive objects of one owner
CHUNK = 20_000


def _oid(kind: str, i: int) -> str:
    return f"{kind}--{uuid.uuid5(NS, f'{kind}{i}')}"


_VOCAB = EN + RU
_WEIGHTS = [0.6 / len(EN)] * len(EN) + [0.4 / len(RU)] * len(RU)  # six English words in ten


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(_VOCAB, _WEIGHTS, k=n))


def objects(start: int, stop: int, ts: str, rng: random.Random, tlps: list[Any]) -> list[dict[str, Any]]:
    """Objects ``start`` .. ``stop`` - 1 of the fixture (a relationship only when both ends are in range)."""
    from colsec.stix.tlp import marking_id

    out: list[dict[str, Any]] = []
    for i in range(start, stop):
        base = {"spec_version": "2.1", "created": ts, "modified": ts,
                "object_marking_refs": [marking_id(rng.choice(tlps))]}  # fmt: skip
        kind = i % 100
        if kind < 70:
            a, b, c = (i >> 16) & 255, (i >> 8) & 255, i & 255
            value = f"10.{a}.{b}.{c}" if i % 2 == 0 else f"host{i}.bench.example.net"
            path = "ipv4-addr:value" if i % 2 == 0 else "domain-name:value"
            out.append({**base, "type": "indicator", "id": _oid("indicator", i), "name": f"{_words(rng, 3)} {i}",
                        "pattern": f"[{path} = '{value}']", "pattern_type": "stix", "valid_from": ts,
                        "labels": [rng.choice(EN)]})  # fmt: skip
        elif kind < 78:
            # techniques T1000-T1999, each with sub-techniques .001-.007 (T1566 from 57,000 objects on)
            sub = kind - 70
            tid = f"T{1000 + (i // 100) % 1000}" + (f".{sub:03d}" if sub else "")
            out.append({**base, "type": "attack-pattern", "id": _oid("attack-pattern", i), "name": f"{_words(rng, 2)} {tid}",
                        "description": _words(rng, 60),
                        "external_references": [{"source_name": "mitre-attack", "external_id": tid,
                                                 "url": f"https://attack.mitre.org/techniques/{tid.replace('.', '/')}/"}],
                        "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": rng.choice(TACTICS)}]})  # fmt: skip
        elif kind < 82:
            out.append({**base, "type": "intrusion-set", "id": _oid("intrusion-set", i), "name": f"Group {i}",
                        "aliases": [f"Bear {i}", f"Panda {i}"], "description": _words(rng, 40)})  # fmt: skip
        elif kind < 85:
            out.append({**base, "type": "malware", "id": _oid("malware", i), "name": f"{rng.choice(EN)}-{i}",
                        "is_family": True, "malware_types": [rng.choice(("trojan", "ransomware", "worm"))],
                        "description": _words(rng, 40)})  # fmt: skip
        elif kind == 85 and i % 1000 == 85:
            out.append({**base, "type": "grouping", "id": _oid("grouping", i), "name": f"Case {i}",
                        "context": "suspicious-activity",
                        "object_refs": [_oid("indicator", j) for j in range(max(0, i - 1000), i) if j % 100 < 70][:500]})  # fmt: skip
        else:  # a relationship from the nearest intrusion set to a nearby technique
            src = i - (i % 100) + 78
            dst = i - (i % 100) + 70 + (i % 8)
            if src >= start and dst >= start:
                out.append({**base, "type": "relationship", "id": _oid("relationship", i), "relationship_type": "uses",
                            "source_ref": _oid("intrusion-set", src), "target_ref": _oid("attack-pattern", dst)})  # fmt: skip
    return out


def generator_version() -> str:
    """A hash of the generator's code (its syntax tree: formatting and comments aside)."""
    import ast
    import inspect
    import textwrap

    code = "".join(
        ast.dump(ast.parse(textwrap.dedent(inspect.getsource(f))))
        for f in (_words, objects, build, _append, _numbered)
    )
    return hashlib.sha256(code.encode()).hexdigest()[:12]


def build(database_url: str, n: int) -> None:
    """The demo alliance, then ``n`` fixture objects with their index rows, in chunks of CHUNK."""
    import orjson
    from sqlalchemy import func, select, text

    from colsec.accounts.models import Organisation
    from colsec.db import Database
    from colsec.demo import build_demo
    from colsec.fulltext import document_terms
    from colsec.intel.hooks import IntelConfig
    from colsec.migrations import upgrade
    from colsec.node import demo_extensions
    from colsec.stix.ids import format_timestamp, now_timestamp, parse_timestamp
    from colsec.stix.observables import extract
    from colsec.stix.tlp import TLP, tlp_of
    from colsec.store.models import ObjectLink, Observable, SearchDoc, StixObject

    database = Database(database_url)
    upgrade(database.engine)
    sqlite = database.engine.dialect.name == "sqlite"
    with database.unit_of_work() as db:
        build_demo(db, extensions=demo_extensions(IntelConfig()))
        members = [
            o.id for o in db.execute(select(Organisation).where(Organisation.kind == "member")).scalars()
        ]
        seq0 = int(db.execute(select(func.max(StixObject.seq))).scalar() or 0)
        last = db.execute(select(func.max(StixObject.date_added))).scalar()
    # As the write gate's clock: date_added strictly increasing with seq, one microsecond apart.
    added0 = parse_timestamp(last or now_timestamp())
    rng = random.Random(19)
    tlps = [TLP.CLEAR, TLP.GREEN, TLP.GREEN, TLP.AMBER, TLP.AMBER, TLP.AMBER, TLP.AMBER_STRICT, TLP.RED]
    started = time.perf_counter()
    for start in range(0, n, CHUNK):
        ts = now_timestamp()
        objs, docs, obs, links = [], [], [], []
        for number, obj in _numbered(objects(start, min(n, start + CHUNK), ts, rng, tlps)):
            seq = seq0 + number + 1
            added = format_timestamp(added0 + timedelta(microseconds=number + 1))
            objs.append({
                "seq": seq, "id": obj["id"], "type": obj["type"], "spec_version": "2.1", "created": ts,
                "modified": ts, "created_by_ref": None, "owner_org_id": members[(number // OWNER_RUN) % len(members)],
                "tlp": int(tlp_of(obj) or TLP.AMBER), "sharing_group_id": None, "revoked": False, "is_latest": True,
                "date_added": added, "origin": None, "body": orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode(),
            })  # fmt: skip
            docs.append({"seq": seq, "terms": document_terms(obj)})
            obs.extend(
                {"kind": k, "value": v, "object_seq": seq, "object_id": obj["id"]}
                for k, v in set(extract(obj))
            )
            if obj["type"] == "relationship":
                links.extend({"ref_id": obj[k], "seq": seq} for k in ("source_ref", "target_ref"))
        with database.unit_of_work() as db:
            for model, rows in (
                (StixObject, objs),
                (SearchDoc, docs),
                (Observable, obs),
                (ObjectLink, links),
            ):
                _append(db, model.__table__, rows, sqlite=sqlite)
        print(f"\r  wrote {min(n, start + CHUNK):>9,} / {n:,} objects "
              f"({min(n, start + CHUNK) / (time.perf_counter() - started):,.0f}/s)", end="", file=sys.stderr, flush=True)  # fmt: skip
    print(file=sys.stderr)
    # The FTS5 index of search_doc in one pass (the gate inserts it row by row), and the planner's
    # statistics.  In a committed unit: the engine's begin hook opens a transaction even under
    # AUTOCOMMIT, so a statement there would be rolled back on close.
    with database.unit_of_work() as db:
        if sqlite:
            db.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))
            db.execute(text("ANALYZE"))
        else:
            db.execute(
                text("SELECT setval(pg_get_serial_sequence('stix_object', 'seq'), max(seq)) FROM stix_object")
            )
    if not sqlite:  # VACUUM runs outside any transaction: on the driver's own autocommit connection
        raw = database.engine.raw_connection()
        try:
            raw.driver_connection.autocommit = True  # type: ignore[union-attr]
            raw.driver_connection.execute("VACUUM ANALYZE")  # type: ignore[union-attr]
        finally:
            raw.close()
    database.dispose()


def _append(db: Any, table: Any, rows: list[dict[str, Any]], *, sqlite: bool) -> None:
    """Plain rows into ``table``: SQLite's driver executemany (a third of the ORM's time), else Core."""
    from sqlalchemy import insert

    if not rows:
        return
    if not sqlite:
        db.execute(insert(table), rows)
        return
    cols = list(rows[0])
    cur = db.connection().connection.driver_connection.cursor()
    cur.executemany(f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [tuple(r[c] for c in cols) for r in rows])  # fmt: skip


_COUNTER = [0]


def _numbered(objs: Iterable[dict[str, Any]]) -> Iterable[tuple[int, dict[str, Any]]]:
    """Running numbers across chunks (a chunk's relationships may be fewer than its indices)."""
    for obj in objs:
        yield _COUNTER[0], obj
        _COUNTER[0] += 1


def store_url(n: int, database_url: str | None, *, no_build: bool, rebuild: bool) -> str:
    """The database to measure: ``database_url`` (built unless ``no_build``) or the cached SQLite store."""
    if database_url:
        if not no_build:
            _timed_build(database_url, n)
        return database_url
    cache = Path(tempfile.gettempdir()) / "colsec-bench-web"
    cache.mkdir(exist_ok=True)
    db_file = cache / f"{n}-{generator_version()}.db"
    if rebuild or not db_file.exists():
        for old in cache.glob(f"{n}-*"):
            old.unlink()
        partial = db_file.with_suffix(".building")
        _timed_build(f"sqlite:///{partial}", n)
        partial.rename(db_file)
    else:
        print(f"using the cached store {db_file}", file=sys.stderr)
    return f"sqlite:///{db_file}"


def _timed_build(url: str, n: int) -> None:
    print(f"building demo + {n:,} objects in {url.split('@')[-1]} ...", file=sys.stderr)
    t = time.perf_counter()
    build(url, n)
    print(f"  built in {time.perf_counter() - t:.0f} s", file=sys.stderr)


# --- measuring ---------------------------------------------------------------------------------


def app_client(database_url: str, data_dir: Path, username: str = "nm-analyst") -> tuple[Any, Any]:
    """(TestClient signed in as ``username``, the Database to dispose) over the node's real app."""
    from fastapi.testclient import TestClient

    from colsec.db import Database
    from colsec.demo import DEMO_PASSWORD
    from colsec.migrations import upgrade
    from colsec.settings import Settings
    from colsec.web.app import create_app

    settings = Settings(data_dir=data_dir, database_url=database_url, secret_key="bench-secret")
    database = Database(database_url)
    upgrade(database.engine)  # a cached store gets this code's indexes
    client = TestClient(create_app(settings, database=database))
    client.__enter__()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"csrf_token": token, "username": username, "password": DEMO_PASSWORD},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    return client, database


def timed(
    client: Any, path: str, repeat: int, before: Any = None
) -> tuple[list[float], list[float], list[float]]:
    """(server ms, client ms, CPU ms) of ``repeat`` requests after one warming request.

    Server time is the app's ``Server-Timing`` (from the route's first dependency to the rendered
    page); where a route has none (the JSON API) the client time stands in.  CPU time is this
    process's (app and test client) per request: on a loaded machine it stays what the request
    costs while the wall times grow with the run queue.
    """
    server, wall, cpu = [], [], []
    for i in range(repeat + 1):
        if before is not None:
            before()
        t, c = time.perf_counter(), time.process_time()
        resp = client.get(path)
        elapsed, used = (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000
        assert resp.status_code == 200, (path, resp.status_code, resp.text[:300])
        timing = resp.headers.get("server-timing", "")
        st = float(timing.split("dur=")[1]) if "dur=" in timing else elapsed
        if i:
            server.append(st)
            wall.append(elapsed)
            cpu.append(used)
    return server, wall, cpu


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def report(title: str, rows: list[tuple[str, float, list[float], list[float], list[float]]]) -> int:
    """Print one table (target judged on p95 server time); returns how many rows missed it."""
    import os

    print(f"\n{title}; load average {os.getloadavg()[0]:.2f}")
    print(
        f"{'request':<44} {'server p50':>11} {'server p95':>11} {'client p50':>11} {'CPU p50':>10}  target (p95)"
    )
    over = 0
    for name, target, server, wall, cpu in rows:
        ok = "ok" if p95(server) < target else "SLOW"
        over += ok == "SLOW"
        print(f"{name:<44} {statistics.median(server):>8.1f} ms {p95(server):>8.1f} ms "
              f"{statistics.median(wall):>8.1f} ms {statistics.median(cpu):>7.1f} ms  <{target:.0f} ms {ok}")  # fmt: skip
    print(f"{len(rows) - over} of {len(rows)} within target", flush=True)
    return over
