"""Chains of real colsec nodes (uvicorn processes, separate SQLite databases) wired as TAXII peers.

    A ──► B ──► C      B pulls A's "alliance" collection, C pulls B's.

Every node knows the same organisations (same STIX identities): ORG-A, ORG-B,
ORG-C (alliance members) and ORG-X (external).  Each node's peer account for its
downstream neighbour has role ``peer`` and that neighbour's organisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from colsec.accounts.roles import SYSTEM, Role
from colsec.federation import service as fed
from loopback import LOOPBACK_ENV
from taxii.server import Node, create_account, prepare_database, run_node

ALLIANCE = "1c0a4b7e-2f3d-4e5a-8b9c-0d1e2f3a4b5c"
ORGS = {"A": "ORG-A", "B": "ORG-B", "C": "ORG-C"}


@dataclass
class Chain:
    nodes: dict[str, Node]

    def stop(self) -> None:
        for n in self.nodes.values():
            n.stop()


def start_node(
    folder: Path, letter: str, *, sync: bool, port: int | None = None, url: str | None = None
) -> Node:
    env = {
        "COLSEC_SYNC_ENABLED": "true" if sync else "false",
        "COLSEC_NODE_NAME": f"node-{letter}",
        **LOOPBACK_ENV,
    }
    fresh = url is None
    url = url or prepare_database(folder / "colsec.db")
    if fresh:
        from colsec.db import Database

        database = Database(url)
        for short in ("ORG-A", "ORG-B", "ORG-C"):
            create_account(database, f"analyst-{short.lower()}", org=short, role=Role.ANALYST)
        create_account(database, "outsider", org="ORG-X", role=Role.ANALYST, kind="external")
        database.dispose()
    node = run_node(folder, database_url=url, extra_env=env)
    if fresh:
        node.add_collection("alliance", can_read=["*"], can_write=["*"], collection_id=ALLIANCE)
    else:
        node.collections["alliance"] = ALLIANCE
    return node


def link(
    upstream: Node, downstream: Node, up: str, down: str, *, interval: int = 60, push: bool = False
) -> None:
    """``downstream`` pulls ``upstream``'s alliance collection with a peer account made on ``upstream``."""
    creds = upstream.add_account(f"peer-{down.lower()}", org=ORGS[down], role=Role.PEER)
    with downstream.session() as s:
        fed.create_peer(
            s,
            actor=SYSTEM,
            name=f"node-{up}",
            url=upstream.root_url(),
            organisation=ORGS[up],
            username=creds.username,
            token=creds.token,
            collections=[ALLIANCE],
            local_org=ORGS[down],
            pull_interval_seconds=interval,
        )
    if push:
        back = downstream.add_account(f"pusher-{up.lower()}", org=ORGS[up], role=Role.PEER)
        with upstream.session() as s:
            fed.create_peer(
                s,
                actor=SYSTEM,
                name=f"node-{down}",
                url=downstream.root_url(),
                organisation=ORGS[down],
                username=back.username,
                token=back.token,
                collections=[ALLIANCE],
                local_org=ORGS[up],
                push_collection=ALLIANCE,
                pull_interval_seconds=3600,
            )
            fed.update_peer(s, actor=SYSTEM, name=f"node-{down}", enabled=True)


def chain(folder: Path, *, sync: bool = False, interval: int = 60, push: bool = False) -> Chain:
    nodes = {x: start_node(folder / x, x, sync=sync) for x in "ABC"}
    try:
        link(nodes["A"], nodes["B"], "A", "B", interval=interval, push=push)
        link(nodes["B"], nodes["C"], "B", "C", interval=interval, push=push)
    except BaseException:
        for n in nodes.values():
            n.stop()
        raise
    return Chain(nodes)
