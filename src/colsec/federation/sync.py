"""Pull sync: page through each peer collection and store every page with its cursor.

Each page is one transaction: the objects and the new ``added_after`` cursor
commit together, so a crash at any point resumes from the last committed page
with nothing lost; re-delivered objects are deduplicated by ``(id, modified)``.
What a peer sends keeps its creator, markings and sharing group; TLP:RED and
AMBER+STRICT objects are addressed to our organisation only, so they are never
re-shared wider than they came.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor, Role
from colsec.db import Database
from colsec.errors import ColsecError
from colsec.federation.models import PeerCursor
from colsec.federation.service import GROUP_PROPERTY, peer_collections
from colsec.outbound import DENY_ALL, OutboundPolicy
from colsec.stix.ids import is_valid_id, parse_timestamp
from colsec.stix.tlp import TLP, tlp_of
from colsec.store.models import Collection, SharingGroup, SharingGroupMember, StixObject
from colsec.store.peers import Peer
from colsec.store.policy import SharedFacts, received_facts, restricted_tlp
from colsec.store.service import WriteLimits, import_objects
from colsec.taxii.client import TaxiiClient
from colsec.taxii.responses import ObjectsPage, TaxiiClientError, safe_resume_point

__all__ = [
    "PeerConfig",
    "SyncReport",
    "load_peer",
    "load_peers",
    "pull_once",
    "store_page",
    "sync_all",
    "sync_peer",
]

log = logging.getLogger(__name__)
MAX_GROUP_MEMBERS = 1000


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


# -- one page --------------------------------------------------------------------------------


class _GroupResolver:
    """Map a sharing group named in an object body to a local group, never a wider one.

    The local group holds the claimed members that exist here.  A local group of
    the same name with other members is never reused (that could widen it): the
    claim then gets its own group, suffixed with a digest of its member list.
    """

    def __init__(self, db: Session) -> None:
        self.db = db
        self.cache: dict[bytes, int] = {}

    def resolve(self, value: Any) -> int:
        if (
            not isinstance(value, Mapping)
            or not isinstance(value.get("name"), str)
            or not value["name"].strip()
            or not isinstance(value.get("members"), list)
            or len(value["members"]) > MAX_GROUP_MEMBERS
            or not all(is_valid_id(m, "identity") for m in value["members"])
        ):
            raise ColsecError(f"invalid {GROUP_PROPERTY}: needs a name and a list of identity ids")
        name = value["name"][:100]
        claimed = sorted(set(value["members"]))
        key = orjson.dumps([name, claimed])
        if key in self.cache:
            return self.cache[key]
        db = self.db
        known = dict(
            db.execute(
                select(Organisation.identity_id, Organisation.id).where(Organisation.identity_id.in_(claimed))
            ).all()
        )
        wanted = set(known.values())
        digest = hashlib.sha256("\n".join(claimed).encode()).hexdigest()[:8]
        group_id: int | None = None
        for candidate in (name, f"{name}#{digest}"):
            g = db.execute(select(SharingGroup).where(SharingGroup.name == candidate)).scalar_one_or_none()
            if g is None:
                g = SharingGroup(name=candidate, description="received with objects from a peer")
                db.add(g)
                db.flush()
                for org_id in wanted:
                    db.add(SharingGroupMember(group_id=g.id, organisation_id=org_id))
                db.flush()
                group_id = g.id
                break
            have = set(
                db.execute(
                    select(SharingGroupMember.organisation_id).where(SharingGroupMember.group_id == g.id)
                ).scalars()
            )
            if have == wanted:
                group_id = g.id
                break
        if group_id is None:
            raise ColsecError(f"sharing group {name!r}: conflicting local groups")
        self.cache[key] = group_id
        return group_id


def store_page(
    db: Session,
    peer: PeerConfig,
    collection_id: str,
    objects: list[dict[str, Any]],
    cursor: str | None,
    *,
    limits: WriteLimits | None = None,
) -> tuple[int, int, list[dict[str, str]]]:
    """Store one page and move the cursor, in the caller's transaction; (inserted, rejected, why).

    Ownership comes from the peer: an object is owned by the organisation its
    ``created_by_ref`` names when known here, else by the peer's organisation.  The write
    gate (``colsec.store.gate``) refuses what the peer may not claim (one of this node's
    organisations as creator, versions of objects another peer or this node holds, a
    wider marking); each refusal is recorded in the result.
    """
    rejected: list[dict[str, str]] = []
    ids = list({o["id"] for o in objects})
    pushed: set[str] = set()  # came from this peer by push (stored as local): record the origin
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        pushed.update(
            db.execute(
                select(StixObject.id).where(
                    StixObject.id.in_(chunk),
                    StixObject.origin.is_(None),
                    StixObject.owner_org_id == peer.organisation_id,
                )
            ).scalars()
        )
    if pushed:
        db.execute(
            update(StixObject)
            .where(StixObject.id.in_(list(pushed)), StixObject.origin.is_(None))
            .where(StixObject.owner_org_id == peer.organisation_id)
            .values(origin=peer.name)
        )
    target = peer.local_collection or collection_id
    collection_ids = [target] if db.get(Collection, target) is not None else []
    refs = list({o["created_by_ref"] for o in objects if isinstance(o.get("created_by_ref"), str)})
    creators = (
        dict(
            db.execute(
                select(Organisation.identity_id, Organisation.id).where(Organisation.identity_id.in_(refs))
            ).all()
        )
        if refs
        else {}
    )
    groups = _GroupResolver(db)
    parts: dict[tuple[int, int | None, tuple[int, ...]], list[dict[str, Any]]] = defaultdict(list)
    for obj in objects:
        oid = obj["id"]
        group_id = None
        if GROUP_PROPERTY in obj:
            try:
                group_id = groups.resolve(obj[GROUP_PROPERTY])
            except ColsecError as exc:
                rejected.append({"id": oid, "message": exc.message})
                continue
        facts = received_facts(
            SharedFacts(owner_org_id=None, tlp=restricted_tlp(obj, tlp_of(obj, TLP.AMBER)) or TLP.AMBER),
            creator_org_id=creators.get(str(obj.get("created_by_ref") or "")),
            sender_org_id=peer.organisation_id,
            our_org_id=peer.local_org_id,
            group_members_here=None,
        )
        assert facts.owner_org_id is not None
        parts[(facts.owner_org_id, group_id, tuple(sorted(facts.recipients)))].append(obj)
    inserted = 0
    for (owner, group_id, recipients), objs in parts.items():
        result = import_objects(
            db,
            actor=peer.actor,
            objects=objs,
            owner_org_id=owner,
            sharing_group_id=group_id,
            recipient_org_ids=list(recipients),
            origin=peer.name,
            collection_ids=collection_ids,
            keep_going=True,
            limits=limits,
        )
        inserted += result.inserted
        rejected.extend(result.errors)
        missing = result.received - result.inserted - result.unchanged - len(result.errors)
        if missing > 0:
            rejected.extend({"id": "", "message": "rejected"} for _ in range(missing))
    _advance_cursor(db, peer.id, collection_id, cursor)
    values: dict[str, Any] = {
        "objects_received": Peer.objects_received + len(objects),
        "objects_rejected": Peer.objects_rejected + len(rejected),
    }
    if cursor is not None:
        values["newest_date_added"] = cursor
    db.execute(update(Peer).where(Peer.id == peer.id).values(**values))
    return inserted, len(rejected), rejected


def _advance_cursor(db: Session, peer_id: int, collection_id: str, cursor: str | None) -> None:
    now = datetime.now(UTC)
    row = db.get(PeerCursor, (peer_id, collection_id))
    if row is None:
        db.add(
            PeerCursor(
                peer_id=peer_id, collection_id=collection_id, added_after=cursor, pages=1, updated_at=now
            )
        )
        db.flush()
        return
    values: dict[str, Any] = {"pages": PeerCursor.pages + 1, "updated_at": now}
    if cursor is not None:
        # Conditional: a concurrent or late writer never moves the cursor backwards.
        if row.added_after is None or parse_timestamp(cursor) > parse_timestamp(row.added_after):
            values["added_after"] = cursor
    db.execute(
        update(PeerCursor)
        .where(PeerCursor.peer_id == peer_id, PeerCursor.collection_id == collection_id)
        .where(or_(PeerCursor.added_after.is_(None), PeerCursor.added_after == row.added_after))
        .values(**values)
    )
    db.expire(row)


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
