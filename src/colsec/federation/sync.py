"""Pull sync: page through each peer collection and store every page with its cursor.

Each page is one transaction (``receive.store_page``): the objects and the new ``added_after``
cursor commit together, so a crash at any point resumes from the last committed page with
nothing lost; re-delivered objects are deduplicated by ``(id, modified)``.  This module is the
loop around it: which peers and collections, the resume point, retries of a failed page and
the outcome recorded on the peer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from colsec.accounts.roles import Actor, Role
from colsec.db import Database
from colsec.errors import ColsecError
from colsec.federation.models import PeerCursor
from colsec.federation.peers import PeerConfig, load_peer, load_peers
from colsec.federation.receive import store_page
from colsec.outbound import DENY_ALL, OutboundPolicy
from colsec.stix.ids import parse_timestamp
from colsec.store.peers import Peer
from colsec.store.service import WriteLimits, import_objects
from colsec.taxii.client import TaxiiClient
from colsec.taxii.responses import ObjectsPage, TaxiiClientError, safe_resume_point

__all__ = ["SyncReport", "get_cursor", "pull_once", "sync_all", "sync_peer"]

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    peer: str
    collections: list[str] = field(default_factory=list)
    pages: int = 0
    received: int = 0
    inserted: int = 0
    rejected: int = 0
    error: str | None = None
    error_kind: str | None = None
    seconds: float = 0.0
    rejections: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


def get_cursor(database: Database, peer_id: int, collection_id: str) -> str | None:
    with database.unit_of_work(write=False) as s:
        return s.execute(
            select(PeerCursor.added_after).where(
                PeerCursor.peer_id == peer_id, PeerCursor.collection_id == collection_id
            )
        ).scalar()


# -- one peer --------------------------------------------------------------------------------


def _record_outcome(database: Database, peer: PeerConfig, report: SyncReport) -> None:
    now = datetime.now(UTC)
    with database.unit_of_work() as s:
        values: dict[str, Any] = {"last_attempt_at": now}
        if report.ok:
            values["last_success_at"] = now
        else:
            values.update(
                last_error=(report.error or "")[:2000],
                last_error_kind=report.error_kind,
                last_error_at=now,
                error_count=Peer.error_count + 1,
            )
        if report.rejected and report.ok:
            first = report.rejections[0]["message"] if report.rejections else "rejected objects"
            values.update(
                last_error=f"{report.rejected} object(s) refused; first: {first}"[:2000],
                last_error_kind="rejected_objects",
                last_error_at=now,
                error_count=Peer.error_count + 1,
            )
        s.execute(update(Peer).where(Peer.id == peer.id).values(**values))


def sync_peer(
    database: Database,
    peer: PeerConfig | str,
    *,
    page_size: int = 1000,
    outbound: OutboundPolicy = DENY_ALL,
    stop: threading.Event | None = None,
    on_page: Callable[[SyncReport], None] | None = None,
    client_options: Mapping[str, Any] | None = None,
    limits: WriteLimits | None = None,
) -> SyncReport:
    """Pull every configured collection of one peer until it has nothing newer."""
    cfg = load_peer(database, peer) if isinstance(peer, str) else peer
    report = SyncReport(peer=cfg.name)
    started = time.monotonic()
    try:
        with cfg.client(outbound=outbound, **dict(client_options or {})) as client:
            root = client.api_root_url()
            cols = list(cfg.collections) or [
                c["id"] for c in client.collections(root) if c.get("can_read", True)
            ]
            report.collections = cols
            for col in cols:
                cursor = get_cursor(database, cfg.id, col)
                for page in client.iter_pages(
                    col, added_after=cursor, limit=page_size, root_url=root, version="all"
                ):
                    new_cursor = _next_cursor(cursor, page)
                    with database.unit_of_work() as s:
                        inserted, rejected, why = store_page(
                            s, cfg, col, page.objects, new_cursor, limits=limits
                        )
                    cursor = new_cursor
                    report.pages += 1
                    report.received += len(page.objects)
                    report.inserted += inserted
                    report.rejected += rejected
                    if len(report.rejections) < 50:
                        report.rejections.extend(why[: 50 - len(report.rejections)])
                    if on_page is not None:
                        on_page(report)
                    if stop is not None and stop.is_set():
                        break
    except TaxiiClientError as exc:
        report.error, report.error_kind = exc.message, exc.kind
    except ColsecError as exc:
        report.error, report.error_kind = exc.message, exc.code
    except Exception as exc:  # a sync must never take the node down; record and go on
        log.exception("sync with peer %s failed", cfg.name)
        report.error, report.error_kind = f"{exc.__class__.__name__}: {exc}", "internal"
    report.seconds = time.monotonic() - started
    try:
        _record_outcome(database, cfg, report)
    except Exception:  # status is best effort; the data and cursor are already safe
        log.exception("could not record sync status for %s", cfg.name)
    return report


def _next_cursor(current: str | None, page: ObjectsPage) -> str | None:
    point = safe_resume_point(page)
    if point is None:
        return current
    if current is not None and parse_timestamp(point) <= parse_timestamp(current):
        return current
    return point


def sync_all(database: Database, *, only: str | None = None, **kw: Any) -> list[SyncReport]:
    peers = [p for p in load_peers(database) if p.enabled and (only is None or p.name == only)]
    if only is not None and not peers:
        from colsec.errors import NotFound

        raise NotFound(f"peer {only!r} not found or disabled")
    return [sync_peer(database, p, **kw) for p in peers]


def pull_once(
    database: Database,
    url: str,
    *,
    actor: Actor,
    collections: list[str] | None = None,
    token: str | None = None,
    username: str | None = None,
    owner_org_id: int | None = None,
    origin: str | None = None,
    added_after: str | None = None,
    outbound: OutboundPolicy = DENY_ALL,
    page_size: int = 1000,
    on_page: Callable[[SyncReport], None] | None = None,
    limits: WriteLimits | None = None,
) -> SyncReport:
    """Pull collections from any TAXII 2.1 server once (no stored peer, no cursor); one transaction a page.

    The server is treated as a peer speaking for the owner organisation: the write gate
    lets it version only that organisation's objects and what it sent itself.
    """
    from urllib.parse import urlsplit

    source = origin or (urlsplit(url).hostname or url)
    sender = Actor(
        username=actor.username,
        role=Role.PEER,
        org_id=owner_org_id if owner_org_id is not None else actor.org_id,
        org_short_name=actor.org_short_name,
        user_id=actor.user_id,
    )
    report = SyncReport(peer=source)
    started = time.monotonic()
    with TaxiiClient(url, token=token, username=username, outbound=outbound) as client:
        root = client.api_root_url()
        cols = collections or [c["id"] for c in client.collections(root) if c.get("can_read", True)]
        report.collections = list(cols)
        for col in cols:
            for page in client.iter_pages(
                col, added_after=added_after, limit=page_size, root_url=root, version="all"
            ):
                with database.unit_of_work() as s:
                    result = import_objects(
                        s,
                        actor=sender,
                        objects=page.objects,
                        owner_org_id=owner_org_id,
                        origin=source,
                        keep_going=True,
                        limits=limits,
                    )
                report.pages += 1
                report.received += len(page.objects)
                report.inserted += result.inserted
                report.rejected += result.received - result.inserted - result.unchanged
                report.rejections.extend(result.errors[: max(0, 50 - len(report.rejections))])
                if on_page is not None:
                    on_page(report)
    report.seconds = time.monotonic() - started
    return report
