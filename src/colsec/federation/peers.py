"""A peer as sync and push see it: a detached copy of its row, its client and the actor it writes as.

Sync and push hold no session while they wait on the network, so they work from ``PeerConfig``
(loaded in a short read transaction) rather than from the ORM row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from colsec.accounts.roles import Actor, Role
from colsec.db import Database
from colsec.federation.service import peer_collections
from colsec.outbound import DENY_ALL, OutboundPolicy
from colsec.store.peers import Peer
from colsec.taxii.client import TaxiiClient

__all__ = ["PeerConfig", "load_peer", "load_peers"]


@dataclass(frozen=True)
class PeerConfig:
    """A detached copy of a peer row: sync holds no session while it waits on the network."""

    id: int
    name: str
    url: str
    token: str | None
    username: str | None
    organisation_id: int
    local_org_id: int | None
    collections: tuple[str, ...]
    push_collection: str | None
    local_collection: str | None
    pull_interval_seconds: int
    enabled: bool

    def client(self, *, outbound: OutboundPolicy = DENY_ALL, **kw: Any) -> TaxiiClient:
        return TaxiiClient(self.url, token=self.token, username=self.username, outbound=outbound, **kw)

    @property
    def actor(self) -> Actor:
        return Actor(username=f"peer:{self.name}", role=Role.PEER, org_id=self.organisation_id)


def _config(peer: Peer) -> PeerConfig:
    return PeerConfig(
        id=peer.id,
        name=peer.name,
        url=peer.url,
        token=peer.token,
        username=peer.username,
        organisation_id=peer.organisation_id,
        local_org_id=peer.local_org_id,
        collections=tuple(peer_collections(peer)),
        push_collection=peer.push_collection,
        local_collection=peer.local_collection,
        pull_interval_seconds=peer.pull_interval_seconds,
        enabled=peer.enabled,
    )


def load_peer(database: Database, name: str) -> PeerConfig:
    from colsec.federation.service import get_peer

    with database.unit_of_work(write=False) as s:
        return _config(get_peer(s, name))


def load_peers(database: Database) -> list[PeerConfig]:
    with database.unit_of_work(write=False) as s:
        return [_config(p) for p in s.execute(select(Peer).order_by(Peer.name)).scalars()]
