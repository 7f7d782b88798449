"""Fault injection: a 10,000-object sync survives SIGKILLed receivers, a restarted server and cut responses.

Each round adds objects on A (some permitted for B, some not), then runs the
receiver (`colsec sync` in its own process) and injects one random fault: the
receiver is killed at a random moment, A's server is killed and restarted
mid-sync, or responses are cut at a random byte.  After every round B holds a
duplicate-free subset of what A permits B; after recovery, exactly that set.
Seed and round count: COLSEC_FAULT_SEED, COLSEC_FAULT_ROUNDS (default 20).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from colsec.accounts.models import Organisation
from colsec.accounts.roles import SYSTEM, Role
from colsec.db import Database
from colsec.federation import service as fed
from colsec.federation.models import PeerCursor
from colsec.federation.sync import sync_peer
from colsec.stix.tlp import TLP
from colsec.store import queries
from colsec.store.models import SharingGroup, StixObject
from colsec.store.service import import_objects
from federation.cutproxy import CutProxy
from federation.nodes import ALLIANCE, start_node
from federation.stixgen import indicator
from loopback import LOOPBACK, LOOPBACK_ENV
from taxii.server import create_account, prepare_database, start_uvicorn

ROUNDS = int(os.environ.get("COLSEC_FAULT_ROUNDS", "20"))
SEED = int(os.environ.get("COLSEC_FAULT_SEED", str(int(time.time()))))


def _add(database: Database, start: int, count: int, rng: random.Random) -> None:
    """Objects on A: mostly GREEN, some AMBER for a group without B, some RED for nobody (never for B)."""
    with database.unit_of_work() as s:
        orgs = dict(s.execute(select(Organisation.short_name, Organisation.id)).all())
        group = s.execute(select(SharingGroup).where(SharingGroup.name == "not-b")).scalar_one_or_none()
        if group is None:
            group = fed.create_sharing_group(s, actor=SYSTEM, name="not-b", members=["ORG-C"])
        buckets: dict[tuple[TLP, int | None], list[dict[str, object]]] = {}
        for n in range(start, start + count):
            roll = rng.random()
            level, gid = (
                (TLP.GREEN, None) if roll < 0.8 else (TLP.AMBER, group.id) if roll < 0.9 else (TLP.RED, None)
            )
            extra = {"x_colsec_sharing_group": {"name": "not-b", "members": []}} if gid else {}
            buckets.setdefault((level, gid), []).append(indicator(n, tlp=level, tag="faults", **extra))
        for (_level, gid), objs in buckets.items():
            import_objects(
                s,
                actor=SYSTEM,
                objects=objs,
                owner_org_id=orgs["ORG-A"],
                collection_ids=[ALLIANCE],
                sharing_group_id=gid,
            )


def _permitted(database: Database) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    with database.unit_of_work(write=False) as s:
        viewer = queries.recipient_for_org(
            s, s.execute(select(Organisation.id).where(Organisation.short_name == "ORG-B")).scalar_one()
        )
        cursor = None
        while True:
            page = queries.list_objects(
                s, viewer=viewer, collection_id=ALLIANCE, versions=["all"], cursor=cursor, limit=5000
            )
            out.update((r.id, r.modified) for r in page.rows)
            if not page.more:
                return out
            cursor = page.next


def _held(database: Database) -> tuple[set[tuple[str, str]], int]:
    with database.unit_of_work(write=False) as s:
        rows = s.execute(
            select(StixObject.id, StixObject.modified).where(StixObject.origin == "node-A")
        ).all()
        n = s.execute(
            select(func.count()).select_from(StixObject).where(StixObject.origin == "node-A")
        ).scalar_one()
    return {(i, m) for i, m in rows}, int(n)


def _pages(database: Database) -> int:
    with database.unit_of_work(write=False) as s:
        return int(s.execute(select(func.coalesce(func.sum(PeerCursor.pages), 0))).scalar_one())


def _wait_for_progress(database: Database, proc: subprocess.Popen[bytes], timeout: float) -> None:
    start, before = time.monotonic(), _pages(database)
    while time.monotonic() - start < timeout and proc.poll() is None:
        if _pages(database) > before:
            return
        time.sleep(0.05)


@pytest.mark.slow
def test_sync_survives_random_faults(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    print(f"fault seed {SEED}, {ROUNDS} rounds")
    a = start_node(tmp_path / "A", "A", sync=False)
    proxy = CutProxy(a.port, seed=SEED)
    b_url = prepare_database(tmp_path / "B" / "colsec.db")
    b = Database(b_url)
    try:
        for short in ("ORG-A", "ORG-B", "ORG-C"):
            create_account(b, f"analyst-{short.lower()}", org=short)
        creds = a.add_account("peer-b", org="ORG-B", role=Role.PEER)
        with b.unit_of_work() as s:
            fed.create_peer(
                s, actor=SYSTEM, name="node-A", url=f"http://127.0.0.1:{proxy.port}/taxii2/root/", organisation="ORG-A",
                username=creds.username, token=creds.token, collections=[ALLIANCE], local_org="ORG-B",
            )  # fmt: skip
        t_seed = time.monotonic()
        _add(a.database, 0, 10_000, rng)
        print(f"seeded 10,000 objects on A in {time.monotonic() - t_seed:.1f}s")
        total = 10_000
        env = {
            **os.environ,
            **LOOPBACK_ENV,
            "COLSEC_DATABASE_URL": b_url,
            "COLSEC_DATA_DIR": str(tmp_path / "B"),
        }
        faults: dict[str, int] = {}
        for round_no in range(ROUNDS):
            if round_no > 0:
                extra = rng.randint(0, 300)
                _add(a.database, total, extra, rng)
                total += extra
            t0 = time.monotonic()
            fault = rng.choice(["kill_receiver", "restart_server", "cut_responses"])
            faults[fault] = faults.get(fault, 0) + 1
            if fault == "cut_responses":
                proxy.arm(rng.randint(1, 3))
            cmd = [
                sys.executable,
                "-m",
                "colsec",
                "sync",
                "--peer",
                "node-A",
                "--page-size",
                str(rng.choice([50, 100, 250])),
            ]
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if fault != "cut_responses":
                _wait_for_progress(b, proc, timeout=30)  # strike while the receiver is storing pages
                time.sleep(rng.uniform(0.0, 0.4))
            if fault == "kill_receiver":
                proc.send_signal(signal.SIGKILL)
            elif fault == "restart_server":
                port = a.port
                a.process.send_signal(signal.SIGKILL)
                a.process.wait(10)
                time.sleep(rng.uniform(0.0, 1.0))
                a.process, _ = start_uvicorn(
                    a.database_url, a.folder, port=port, extra_env={"COLSEC_SYNC_ENABLED": "false"}
                )
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            proxy.arm(0)
            held, rows = _held(b)
            print(
                f"round {round_no}: {fault}, exit {proc.returncode}, B holds {len(held)}, {time.monotonic() - t0:.1f}s"
            )
            assert rows == len(held), f"round {round_no}: duplicate versions on B"
            extra_rows = held - _permitted(a.database)
            assert not extra_rows, (
                f"round {round_no} ({fault}): B holds what A does not permit it: {list(extra_rows)[:3]}"
            )
        # Recovery: one clean run, then both stores hold exactly the permitted set.
        report = sync_peer(b, "node-A", page_size=500, outbound=LOOPBACK)
        assert report.ok, report.error
        held, rows = _held(b)
        permitted = _permitted(a.database)
        assert rows == len(held)
        assert held == permitted, f"missing {len(permitted - held)}, unexpected {len(held - permitted)}"
        assert len(permitted) > 0.7 * total
        assert len(faults) >= 2 or ROUNDS < 6
    finally:
        proxy.close()
        b.dispose()
        a.stop()
