"""Federation benchmark: propagation latency A→B→C (pull and push) and sync throughput.

Real nodes: uvicorn processes on 127.0.0.1 over separate SQLite databases, each
running the periodic sync jobs.  The reference column pulls the same objects
from medallion (the OASIS TAXII 2.1 reference server) with the same client.

    python bench/federation.py [--objects 100000] [--reference 5000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the real-node helpers live with the tests

from sqlalchemy import select  # noqa: E402

from colsec.accounts.roles import SYSTEM, Role  # noqa: E402
from colsec.db import Database  # noqa: E402
from colsec.federation import service as fed  # noqa: E402
from colsec.federation.sync import sync_peer  # noqa: E402
from colsec.stix.tlp import TLP  # noqa: E402
from colsec.store.models import StixObject  # noqa: E402
from colsec.store.service import import_objects  # noqa: E402
from colsec.taxii.client import TaxiiClient  # noqa: E402
from federation.medallion import PASSWORD, USER, start_medallion  # noqa: E402
from federation.nodes import ALLIANCE, chain, start_node  # noqa: E402
from federation.stixgen import indicator, indicators  # noqa: E402
from taxii.server import Node, create_account, prepare_database  # noqa: E402


def _wait_for(node: Node, object_id: str, timeout: float = 30.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        with node.database.unit_of_work(write=False) as s:
            if s.execute(select(StixObject.seq).where(StixObject.id == object_id)).first():
                return time.monotonic()
        time.sleep(0.02)
    raise TimeoutError(f"{object_id} did not arrive within {timeout}s")


def latency(
    folder: Path, rounds: int, *, push: bool, verbose: bool = False
) -> tuple[list[float], list[float]]:
    """Seconds from the POST on A until the object is stored on B and on C."""
    interval = 3600 if push else 1
    c = chain(folder, sync=True, interval=interval, push=push)
    a, b, cc = c.nodes["A"], c.nodes["B"], c.nodes["C"]
    writer = a.add_account("bench-writer", org="ORG-A", role=Role.ANALYST)
    at_b: list[float] = []
    at_c: list[float] = []
    try:
        time.sleep(2.0)  # the nodes' workers start and make their first pass
        with TaxiiClient(a.root_url(), username=writer.username, token=writer.token) as client:
            for i in range(rounds):
                extra: dict[str, Any] = {"x_colsec_urgent": True} if push else {}
                obj = indicator(i, tlp=TLP.GREEN, tag=f"latency-{push}-{time.time()}", **extra)
                t0 = time.monotonic()
                client.add_objects(ALLIANCE, [obj])
                if verbose:
                    print(f"  stored on A after {_wait_for(a, obj['id']) - t0:.2f} s")
                at_b.append(_wait_for(b, obj["id"]) - t0)
                at_c.append(_wait_for(cc, obj["id"]) - t0)
                time.sleep(0.3)
    finally:
        c.stop()
    return at_b, at_c


def throughput(folder: Path, n: int) -> dict[str, float]:
    """Objects/s for one peer pulling n objects from a colsec node (page 1000)."""
    a = start_node(folder / "A", "A", sync=False)
    try:
        t = time.monotonic()
        with a.session() as s:
            owner = 1
            for i in range(0, n, 10_000):
                import_objects(
                    s, actor=SYSTEM, objects=indicators(min(10_000, n - i), tag="tp", start=i),
                    owner_org_id=owner, collection_ids=[ALLIANCE],
                )  # fmt: skip
        seed = time.monotonic() - t
        b = _receiver(folder / "B", a.root_url(), a.add_account("peer-b", org="ORG-B", role=Role.PEER))
        t = time.monotonic()
        report = sync_peer(b, "source", page_size=1000)
        elapsed = time.monotonic() - t
        assert report.ok and report.inserted == n, report
        b.dispose()
        return {"objects": n, "seed_s": seed, "sync_s": elapsed, "per_s": n / elapsed}
    finally:
        a.stop()


def _receiver(folder: Path, url: str, creds: Any, *, basic_password: bool = True) -> Database:
    b = Database(prepare_database(folder / "colsec.db"))
    for short in ("ORG-A", "ORG-B", "ORG-C"):
        create_account(b, f"analyst-{short.lower()}", org=short)
    with b.unit_of_work() as s:
        fed.create_peer(
            s, actor=SYSTEM, name="source", url=url, organisation="ORG-A", username=creds.username,
            token=creds.token, collections=[creds.collection] if hasattr(creds, "collection") else [ALLIANCE],
            local_org="ORG-B",
        )  # fmt: skip
    return b


def reference(folder: Path, n: int) -> dict[str, float]:
    """The same pull from medallion, and the same n objects from a colsec node, for a fair pair."""
    objs = indicators(n, tag="ref")
    med = start_medallion(folder / "med", max_page_size=1000)
    try:
        with TaxiiClient(med.root_url, username=USER, password=PASSWORD, timeout=300) as cl:
            for i in range(0, n, 500):
                cl.add_objects(med.collection_id, objs[i : i + 500])

        class Creds:
            username = USER
            token = PASSWORD
            collection = med.collection_id

        b = _receiver(folder / "B-med", med.root_url, Creds())
        t = time.monotonic()
        report = sync_peer(b, "source", page_size=1000, client_options={"timeout": 300})
        med_s = time.monotonic() - t
        assert report.ok and report.inserted == n, report
        b.dispose()
    finally:
        med.stop()
    ours = throughput(folder / "ours", n)
    return {"objects": n, "medallion_s": med_s, "colsec_s": ours["sync_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=20_000, help="objects for the throughput run")
    parser.add_argument("--reference", type=int, default=1_000, help="objects for the medallion comparison")
    parser.add_argument("--rounds", type=int, default=5, help="latency samples")
    parser.add_argument("--latency-only", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="colsec-bench-fed-"))

    def fmt(xs: list[float]) -> str:
        return f"median {statistics.median(xs):.2f} s, max {max(xs):.2f} s"

    try:
        pull_b, pull_c = latency(folder / "pull", args.rounds, push=False, verbose=args.verbose)
        print("propagation (GREEN indicator POSTed to A over TAXII, until stored)", flush=True)
        print(
            f"  pull, 1 s interval   A→B: {fmt(pull_b)}   A→B→C: {fmt(pull_c)}   (target A→B→C < 3 s)",
            flush=True,
        )
        push_b, push_c = latency(folder / "push", args.rounds, push=True, verbose=args.verbose)
        print(
            f"  push (urgent)        A→B: {fmt(push_b)}   A→B→C: {fmt(push_c)}   (target < 1 s)", flush=True
        )
        if args.latency_only:
            return
        ref = reference(folder / "ref", args.reference)
        print(f"pull of {ref['objects']:,} indicators, same client and receiver")
        print(
            f"  from medallion (reference): {ref['medallion_s']:.1f} s ({ref['objects'] / ref['medallion_s']:.0f}/s)"
        )
        print(
            f"  from a colsec node:         {ref['colsec_s']:.1f} s ({ref['objects'] / ref['colsec_s']:.0f}/s)",
            flush=True,
        )
        tp = throughput(folder / "tp", args.objects)
        print(
            f"sync throughput, {tp['objects']:,} indicators, page 1000: {tp['sync_s']:.1f} s = {tp['per_s']:.0f} objects/s"
        )
        print(f"  (seeding them on A took {tp['seed_s']:.1f} s)", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
