"""Push for urgency: urgent objects created here are POSTed to peers' inbox collections at once.

Pulls stay the source of truth; a push only shortens the delay.  An object is
urgent when its body carries ``"x_colsec_urgent": true``.  Only objects whose
whole restriction is in their TLP marking are pushed (TLP:CLEAR, GREEN and
AMBER without a sharing group, each only to peers the policy allows): a plain
TAXII POST cannot carry our sharing groups or recipient lists, so everything
narrower waits for the peer's next pull, which carries them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, select, update

from colsec.db import Database
from colsec.federation.models import Peer
from colsec.federation.sync import PeerConfig, load_peers
from colsec.outbound import DENY_ALL, OutboundPolicy
from colsec.stix.tlp import TLP
from colsec.store.models import StixObject
from colsec.store.policy import visible_clause
from colsec.store.queries import recipient_for_org
from colsec.taxii.client import TaxiiClientError

__all__ = ["URGENT_PROPERTY", "PushResult", "max_seq", "push_new_urgent", "push_objects"]

log = logging.getLogger(__name__)
URGENT_PROPERTY = "x_colsec_urgent"
_URGENT_TEXT = f'"{URGENT_PROPERTY}":true'  # bodies are stored as compact JSON with sorted keys


@dataclass
class PushResult:
    peer: str
    pushed: int = 0
    error: str | None = None


def max_seq(database: Database) -> int:
    with database.unit_of_work(write=False) as s:
        return int(s.execute(select(func.coalesce(func.max(StixObject.seq), 0))).scalar_one())


def _pushable(row: StixObject) -> bool:
    return row.sharing_group_id is None and row.tlp <= int(TLP.AMBER)


def push_objects(
    database: Database,
    rows: Sequence[StixObject],
    *,
    peers: Sequence[PeerConfig] | None = None,
    outbound: OutboundPolicy = DENY_ALL,
    timeout: float = 5.0,
) -> list[PushResult]:
    """POST these object versions to every peer with an inbox collection that may see them."""
    results: list[PushResult] = []
    targets = [
        p for p in (peers if peers is not None else load_peers(database)) if p.enabled and p.push_collection
    ]
    for peer in targets:
        with database.unit_of_work(write=False) as s:
            # The store's own visibility (policy per version): a version superseded by a
            # restricted one since it was picked up does not leave.
            to = recipient_for_org(s, peer.organisation_id)
            seqs = [r.seq for r in rows if _pushable(r)]
            allowed = set(
                s.execute(
                    select(StixObject.seq).where(StixObject.seq.in_(seqs), visible_clause(to))
                ).scalars()
            )
        objs: list[dict[str, Any]] = [orjson.loads(r.body) for r in rows if r.seq in allowed]
        result = PushResult(peer=peer.name)
        results.append(result)
        if not objs:
            continue
        try:
            with peer.client(outbound=outbound, timeout=timeout, max_retries=1, backoff=0.2) as client:
                assert peer.push_collection is not None
                client.add_objects(peer.push_collection, objs)
            result.pushed = len(objs)
        except TaxiiClientError as exc:
            result.error = exc.message
            log.warning("push to %s failed: %s", peer.name, exc.message)
            continue
        with database.unit_of_work() as s:
            s.execute(
                update(Peer).where(Peer.id == peer.id).values(objects_pushed=Peer.objects_pushed + len(objs))
            )
    return results


def push_new_urgent(database: Database, after_seq: int, **kw: Any) -> tuple[int, list[PushResult]]:
    """Push urgent objects created here with ``seq > after_seq``; returns the new high-water mark."""
    with database.unit_of_work(write=False) as s:
        rows = list(
            s.execute(
                select(StixObject)
                .where(
                    StixObject.seq > after_seq,
                    StixObject.origin.is_(None),
                    StixObject.body.contains(_URGENT_TEXT),
                )
                .order_by(StixObject.seq)
                .limit(500)
            ).scalars()
        )
        top = int(s.execute(select(func.coalesce(func.max(StixObject.seq), 0))).scalar_one())
    if not rows:
        return max(top, after_seq), []
    high = rows[-1].seq if len(rows) == 500 else max(top, after_seq)
    return high, push_objects(database, rows, **kw)


def push_ids(database: Database, object_ids: Sequence[str], **kw: Any) -> list[PushResult]:
    """Push the latest versions of named objects now (operator's ``colsec peer push``)."""
    with database.unit_of_work(write=False) as s:
        rows = list(
            s.execute(
                select(StixObject).where(StixObject.id.in_(list(object_ids)), StixObject.is_latest)
            ).scalars()
        )
    return push_objects(database, rows, **kw)
