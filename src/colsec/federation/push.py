"""Push for urgency: urgent objects created here leave for peers' inbox collections through the outbox.

Pulls stay the source of truth; a push only shortens the delay.  An object is
urgent when its body carries ``"x_colsec_urgent": true``.  Only objects whose
whole restriction is in their TLP marking are pushed (TLP:CLEAR, GREEN and
AMBER without a sharing group, each only to peers the policy allows): a plain
TAXII POST cannot carry our sharing groups or recipient lists, so everything
narrower waits for the peer's next pull, which carries them.

The write that creates an urgent object queues the push in its own transaction
(``queue_urgent``, a post-import step the node wires): one outbox row per peer
naming the object versions, so a rolled-back import pushes nothing and a
committed one cannot be forgotten by a crash.  ``PeerPushSender`` delivers a
row from any worker; it reads the versions again and checks the policy at send
time, so a version restricted after it was queued stays home.  A TAXII add of a
version the peer already holds changes nothing there, so a redelivery after a
lost acknowledgement duplicates nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.db import Database
from colsec.federation.peers import PeerConfig, load_peers
from colsec.outbound import DENY_ALL, OutboundPolicy
from colsec.outbox import Channel, Outgoing, put
from colsec.outbox.delivery import Claimed, DeliveryFailed
from colsec.stix.tlp import TLP
from colsec.store.models import StixObject
from colsec.store.peers import Peer
from colsec.store.policy import visible_clause
from colsec.store.queries import recipient_for_org
from colsec.store.versions import latest_for_owner
from colsec.taxii.responses import TaxiiClientError

__all__ = [
    "PUSH_EVENT",
    "URGENT_PROPERTY",
    "PeerPushSender",
    "PushResult",
    "push_ids",
    "push_objects",
    "queue_ids",
    "queue_urgent",
]

log = logging.getLogger(__name__)
URGENT_PROPERTY = "x_colsec_urgent"
_URGENT_TEXT = f'"{URGENT_PROPERTY}":true'  # bodies are stored as compact JSON with sorted keys
PUSH_EVENT = "stix.push"
BATCH = 500  # object versions per outbox row (one TAXII POST)
_CHUNK = 1000  # seqs per IN (...) list


@dataclass
class PushResult:
    peer: str
    pushed: int = 0
    error: str | None = None


def _chunks(values: Iterable[int], size: int) -> Iterator[list[int]]:
    it = iter(values)
    while chunk := list(islice(it, size)):
        yield chunk


def _pushable() -> Any:
    """What a plain TAXII POST can carry: the whole restriction is the TLP marking."""
    return StixObject.sharing_group_id.is_(None) & (StixObject.tlp <= int(TLP.AMBER))


def _allowed(db: Session, org_id: int, seqs: Sequence[int]) -> list[int]:
    """Of these versions, those that may leave for a peer speaking for ``org_id`` (policy per version)."""
    to = recipient_for_org(db, org_id)
    allowed: list[int] = []
    for chunk in _chunks(seqs, _CHUNK):
        allowed += db.execute(
            select(StixObject.seq).where(StixObject.seq.in_(chunk), _pushable(), visible_clause(to))
        ).scalars()
    return sorted(allowed)


def _pushing_peers(db: Session) -> list[Peer]:
    return list(
        db.execute(
            select(Peer).where(Peer.enabled.is_(True), Peer.push_collection.is_not(None)).order_by(Peer.id)
        ).scalars()
    )


def _queue(db: Session, peers: Sequence[Peer], seqs: Sequence[int], *, key: str) -> int:
    messages = [
        Outgoing(
            channel=Channel.PEER_PUSH,
            destination=f"peer:{peer.id}",
            event=PUSH_EVENT,
            idempotency_key=f"peer-push:{peer.id}:{chunk[0]}-{chunk[-1]}:{len(chunk)}{key}",
            org_id=peer.organisation_id,
            payload={"seqs": chunk},
        )
        for peer in peers
        for chunk in _chunks(_allowed(db, peer.organisation_id, seqs), BATCH)
    ]
    return put(db, messages)


def queue_urgent(db: Session, seqs: Sequence[int]) -> None:
    """Post-import step: queue the urgent versions this unit created, in its transaction.

    Costs one indexed query when no peer takes pushes, which is most imports.
    """
    peers = _pushing_peers(db)
    if not peers or not seqs:
        return
    urgent: list[int] = []
    for chunk in _chunks(seqs, _CHUNK):
        urgent += db.execute(
            select(StixObject.seq).where(
                StixObject.seq.in_(chunk),
                StixObject.origin.is_(None),  # only what this node created: peers push their own
                StixObject.body.contains(_URGENT_TEXT),
                _pushable(),
            )
        ).scalars()
    if urgent:
        _queue(db, peers, urgent, key="")


def queue_ids(db: Session, *, actor: Actor, object_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The owner's "push now" of the latest versions: queued like an urgent write, delivered by workers.

    Another organisation's object answers as absent, or as forbidden when the caller may see it.
    """
    seqs = [latest_for_owner(db, actor=actor, object_id=i, action="push it").seq for i in object_ids]
    queued = []
    nonce = f":{uuid.uuid4().hex}"  # a repeated "push now" is a new effect, not a duplicate
    for peer in _pushing_peers(db):
        allowed = _allowed(db, peer.organisation_id, seqs)
        _queue(db, [peer], allowed, key=nonce)
        queued.append({"peer": peer.name, "queued": len(allowed)})
    return queued


def _send(database: Database, peer: PeerConfig, objs: list[dict[str, Any]], **client_kw: Any) -> None:
    """POST to the peer's inbox and count it; raises ``TaxiiClientError`` when the peer did not take it."""
    with peer.client(**client_kw) as client:
        assert peer.push_collection is not None
        client.add_objects(peer.push_collection, objs)
    with database.unit_of_work() as s:
        s.execute(
            update(Peer).where(Peer.id == peer.id).values(objects_pushed=Peer.objects_pushed + len(objs))
        )


def _bodies(database: Database, peer: PeerConfig, seqs: Sequence[int]) -> list[dict[str, Any]]:
    """The versions that may still leave for this peer, read and checked now (not when queued)."""
    with database.unit_of_work(write=False) as s:
        allowed = _allowed(s, peer.organisation_id, seqs)
        bodies: list[dict[str, Any]] = []
        for chunk in _chunks(allowed, _CHUNK):
            bodies += (
                orjson.loads(b)
                for b in s.execute(
                    select(StixObject.body).where(StixObject.seq.in_(chunk)).order_by(StixObject.seq)
                ).scalars()
            )
        return bodies


class PeerPushSender:
    """The outbox sender of ``peer-push`` rows: one TAXII POST of the row's versions to the peer's inbox."""

    def __init__(self, database: Database, outbound: OutboundPolicy, *, timeout: float = 10.0) -> None:
        self.database = database
        self.outbound = outbound
        self.timeout = timeout

    def send(self, message: Claimed) -> None:
        peer_id = int(message.destination.removeprefix("peer:"))
        peer = next((p for p in load_peers(self.database) if p.id == peer_id), None)
        if peer is None or not peer.enabled or not peer.push_collection:
            raise DeliveryFailed(f"peer {peer_id} no longer takes pushes", permanent=True)
        seqs = [int(s) for s in message.payload.get("seqs", [])]
        objs = _bodies(self.database, peer, seqs)
        if not objs:
            return  # restricted or replaced since it was queued: nothing may leave, and nothing is owed
        try:
            _send(self.database, peer, objs, outbound=self.outbound, timeout=self.timeout, max_retries=0)
        except TaxiiClientError as exc:
            status = exc.http_status
            permanent = status is not None and 400 <= status < 500 and status not in (408, 429)
            raise DeliveryFailed(f"{peer.name}: {exc.message}", permanent=permanent) from exc


def push_objects(
    database: Database,
    rows: Sequence[StixObject],
    *,
    peers: Sequence[PeerConfig] | None = None,
    outbound: OutboundPolicy = DENY_ALL,
    timeout: float = 5.0,
) -> list[PushResult]:
    """POST these object versions to every peer with an inbox collection that may see them, now."""
    results: list[PushResult] = []
    targets = [
        p for p in (peers if peers is not None else load_peers(database)) if p.enabled and p.push_collection
    ]
    for peer in targets:
        objs = _bodies(database, peer, [r.seq for r in rows])
        result = PushResult(peer=peer.name)
        results.append(result)
        if not objs:
            continue
        try:
            _send(database, peer, objs, outbound=outbound, timeout=timeout, max_retries=1, backoff=0.2)
        except TaxiiClientError as exc:
            result.error = exc.message
            log.warning("push to %s failed: %s", peer.name, exc.message)
            continue
        result.pushed = len(objs)
    return results


def push_ids(database: Database, object_ids: Sequence[str], **kw: Any) -> list[PushResult]:
    """Push the latest versions of named objects now (the operator's ``colsec peer push``)."""
    with database.unit_of_work(write=False) as s:
        rows = list(
            s.execute(
                select(StixObject).where(StixObject.id.in_(list(object_ids)), StixObject.is_latest)
            ).scalars()
        )
    return push_objects(database, rows, **kw)
