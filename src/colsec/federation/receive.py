"""Storing one page a peer sent: ownership, sharing groups and the cursor, in one transaction.

What a peer sends keeps its creator, markings and sharing group; TLP:RED and AMBER+STRICT
objects are addressed to our organisation only, so they are never re-shared wider than they
came.  A sharing group named in an object maps to a local group that is never wider than the
claim.  The objects and the new ``added_after`` cursor commit together (the caller owns the
transaction), which is what lets a pull resume from its last page after a crash.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.errors import ColsecError
from colsec.federation.models import PeerCursor
from colsec.federation.peers import PeerConfig
from colsec.federation.service import GROUP_PROPERTY
from colsec.stix.ids import is_valid_id, parse_timestamp
from colsec.stix.tlp import TLP, tlp_of
from colsec.store.models import Collection, SharingGroup, SharingGroupMember, StixObject
from colsec.store.peers import Peer
from colsec.store.policy import SharedFacts, received_facts, restricted_tlp
from colsec.store.service import WriteLimits, import_objects

__all__ = ["MAX_GROUP_MEMBERS", "store_page"]

MAX_GROUP_MEMBERS = 1000


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
