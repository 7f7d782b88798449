"""Peers and sharing groups: the operator's verbs.  Services flush; the caller commits.

A sharing group travels with the objects it restricts: ``attach_sharing_group``
publishes a new version whose body names the group and its members' STIX
identities (property ``x_colsec_sharing_group``), so every node downstream
applies the same restriction (see ``colsec.federation.receive``).

A group has an owner organisation (NULL: the node operator) that alone, with the
node operator, changes its members: otherwise any organisation could add itself
and read the group's objects.  Every change is audited and re-publishes the
group's local objects with the new member list, so peers apply it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import SYSTEM, Actor, Role
from colsec.accounts.service import get_org_by_name
from colsec.db import is_sqlite
from colsec.errors import Conflict, Forbidden, InvalidInput, NotFound
from colsec.federation.models import PeerCursor
from colsec.stix.tlp import TLP
from colsec.store import audit
from colsec.store.models import ObjectRecipient, SharingGroup, SharingGroupMember, StixObject
from colsec.store.peers import Peer
from colsec.store.policy import GROUP_PROPERTY
from colsec.store.service import import_objects
from colsec.store.versions import latest_for_owner, next_modified

__all__ = [
    "GROUP_PROPERTY",
    "add_group_member",
    "attach_sharing_group",
    "create_peer",
    "create_sharing_group",
    "delete_peer",
    "get_peer",
    "get_sharing_group",
    "group_members",
    "list_peers",
    "list_sharing_groups",
    "peer_collections",
    "peer_status",
    "remove_group_member",
    "sharing_group_out",
    "update_peer",
]


def _insert(db: Session, table: Any) -> Any:
    return sqlite.insert(table) if is_sqlite(db) else postgresql.insert(table)


# -- peers -----------------------------------------------------------------------------------


def create_peer(
    db: Session,
    *,
    actor: Actor,
    name: str,
    url: str,
    organisation: str,
    token: str | None = None,
    username: str | None = None,
    collections: Sequence[str] = (),
    local_org: str | None = None,
    push_collection: str | None = None,
    local_collection: str | None = None,
    pull_interval_seconds: int = 60,
) -> Peer:
    if not name.strip() or len(name) > 100:
        raise InvalidInput("peer name must be 1-100 characters")
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"peer URL must start with http:// or https://: {url!r}")
    if pull_interval_seconds < 1:
        raise InvalidInput("pull interval must be at least 1 second")
    if db.execute(select(Peer.id).where(Peer.name == name)).first():
        raise Conflict(f"peer {name!r} already exists")
    org = get_org_by_name(db, organisation)
    local = get_org_by_name(db, local_org) if local_org else None
    peer = Peer(
        name=name,
        url=url if url.endswith("/") else url + "/",
        token=token,
        username=username,
        organisation_id=org.id,
        local_org_id=local.id if local else None,
        collections=orjson.dumps(list(collections)).decode(),
        push_collection=push_collection,
        local_collection=local_collection,
        pull_interval_seconds=pull_interval_seconds,
        enabled=True,
        error_count=0,
        objects_received=0,
        objects_rejected=0,
        objects_pushed=0,
    )
    db.add(peer)
    db.flush()
    audit.record(
        db, actor=actor, action="peer.create", target=name, details={"url": peer.url, "org": org.short_name}
    )
    return peer


def update_peer(db: Session, *, actor: Actor, name: str, **changes: Any) -> Peer:
    peer = get_peer(db, name)
    allowed = {
        "url",
        "token",
        "username",
        "collections",
        "push_collection",
        "local_collection",
        "pull_interval_seconds",
        "enabled",
    }
    for key, value in changes.items():
        if key not in allowed:
            raise InvalidInput(f"peer field {key!r} cannot be changed")
        if value is None:
            continue
        if key == "collections":
            value = orjson.dumps(list(value)).decode()
        setattr(peer, key, value)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="peer.update",
        target=name,
        details={k: k != "token" and str(v) for k, v in changes.items()},
    )
    return peer


def delete_peer(db: Session, *, actor: Actor, name: str) -> None:
    peer = get_peer(db, name)
    db.delete(peer)
    db.flush()
    audit.record(db, actor=actor, action="peer.delete", target=name)


def get_peer(db: Session, name: str) -> Peer:
    peer = db.execute(select(Peer).where(Peer.name == name)).scalar_one_or_none()
    if peer is None:
        raise NotFound(f"peer {name!r} not found")
    return peer


def list_peers(db: Session) -> list[Peer]:
    return list(db.execute(select(Peer).order_by(Peer.name)).scalars())


def peer_collections(peer: Peer) -> list[str]:
    value = orjson.loads(peer.collections or "[]")
    return [str(v) for v in value] if isinstance(value, list) else []


# -- sharing groups ---------------------------------------------------------------------------


def create_sharing_group(
    db: Session,
    *,
    actor: Actor,
    name: str,
    description: str = "",
    members: Sequence[str] = (),
    owner: str | None = None,
) -> SharingGroup:
    """A new group owned by the caller's organisation (the node operator may name any owner, or none)."""
    if not name.strip() or len(name) > 120:
        raise InvalidInput("sharing group name must be 1-120 characters", kind="sharing_group_name_length")
    if owner is not None and not actor.is_operator:
        raise Forbidden(
            "only the node operator may create a group for another organisation",
            kind="sharing_group_owner_operator_only",
        )
    owner_id = get_org_by_name(db, owner).id if owner is not None else actor.org_id
    if db.execute(select(SharingGroup.id).where(SharingGroup.name == name)).first():
        raise Conflict(
            f"sharing group {name!r} already exists", kind="sharing_group_exists", params={"name": name}
        )
    group = SharingGroup(name=name, description=description, owner_org_id=owner_id)
    db.add(group)
    db.flush()
    for m in members:
        _add_member(db, group, get_org_by_name(db, m))
    audit.record(
        db,
        actor=actor,
        action="sharing_group.create",
        target=name,
        details={"members": list(members), "owner": owner_id},
    )
    return group


def _add_member(db: Session, group: SharingGroup, org: Organisation) -> None:
    db.execute(
        _insert(db, SharingGroupMember.__table__)
        .values(group_id=group.id, organisation_id=org.id)
        .on_conflict_do_nothing()
    )


def _require_owner(actor: Actor, group: SharingGroup) -> None:
    if actor.is_operator:
        return
    if (
        group.owner_org_id is None
        or group.owner_org_id != actor.org_id
        or actor.role not in (Role.ADMIN, Role.COORDINATOR)
    ):
        raise Forbidden(
            f"only the owner organisation of sharing group {group.name!r} may change its members",
            kind="sharing_group_owner_only",
            params={"name": group.name},
        )


def add_group_member(db: Session, *, actor: Actor, group: str, organisation: str) -> SharingGroup:
    g = get_sharing_group(db, group)
    _require_owner(actor, g)
    org = get_org_by_name(db, organisation)
    _add_member(db, g, org)
    db.flush()
    republished = _republish(db, g)
    audit.record(
        db,
        actor=actor,
        action="sharing_group.add_member",
        target=group,
        details={"org": org.short_name, "republished": republished},
    )
    return g


def remove_group_member(db: Session, *, actor: Actor, group: str, organisation: str) -> SharingGroup:
    g = get_sharing_group(db, group)
    _require_owner(actor, g)
    org = get_org_by_name(db, organisation)
    gone = db.execute(
        delete(SharingGroupMember).where(
            SharingGroupMember.group_id == g.id, SharingGroupMember.organisation_id == org.id
        )
    )
    if not gone.rowcount:  # type: ignore[attr-defined]
        raise NotFound(
            f"{org.short_name} is not a member of sharing group {group!r}",
            kind="sharing_group_not_member",
            params={"org": org.short_name, "name": group},
        )
    db.flush()
    republished = _republish(db, g)
    audit.record(
        db,
        actor=actor,
        action="sharing_group.remove_member",
        target=group,
        details={"org": org.short_name, "republished": republished},
    )
    return g


def _republish(db: Session, group: SharingGroup) -> int:
    """New versions of the group's local objects carrying the new member list, for peers to apply.

    Objects received from a peer are its origin's to re-version; locally the policy reads
    the membership table, so the change is effective here at once either way.
    """
    rows = list(
        db.execute(
            select(StixObject).where(
                StixObject.sharing_group_id == group.id, StixObject.is_latest, StixObject.origin.is_(None)
            )
        ).scalars()
    )
    members = sorted(o.identity_id for o in group_members(db, group.id))
    count = 0
    for row in rows:
        body = orjson.loads(row.body)
        if "modified" not in body:
            continue
        body[GROUP_PROPERTY] = {"name": group.name, "members": members}
        body["modified"] = next_modified(row.modified)
        import_objects(
            db,
            actor=SYSTEM,
            objects=[body],
            owner_org_id=row.owner_org_id,
            sharing_group_id=group.id,
            origin=None,
        )
        count += 1
    return count


def get_sharing_group(db: Session, name: str) -> SharingGroup:
    g = db.execute(select(SharingGroup).where(SharingGroup.name == name)).scalar_one_or_none()
    if g is None:
        raise NotFound(
            f"sharing group {name!r} not found", kind="sharing_group_not_found", params={"name": name}
        )
    return g


def group_members(db: Session, group_id: int) -> list[Organisation]:
    return list(
        db.execute(
            select(Organisation)
            .join(SharingGroupMember, SharingGroupMember.organisation_id == Organisation.id)
            .where(SharingGroupMember.group_id == group_id)
            .order_by(Organisation.short_name)
        ).scalars()
    )


def list_sharing_groups(db: Session) -> list[SharingGroup]:
    return list(db.execute(select(SharingGroup).order_by(SharingGroup.name)).scalars())


def attach_sharing_group(db: Session, *, actor: Actor, object_id: str, group: str) -> dict[str, Any]:
    """Restrict an object to a sharing group: a new version that carries the group with it.

    The restriction covers the whole history: readers outside the group lose the
    earlier versions too (``colsec.store.policy.visible_clause``), here and on peers.
    A group narrows TLP:AMBER only, so attaching one to TLP:CLEAR or GREEN would
    restrict nothing: refused rather than pretended.  Named recipients stay named.
    """
    g = get_sharing_group(db, group)
    row = latest_for_owner(db, actor=actor, object_id=object_id, action="change its sharing group")
    body = orjson.loads(row.body)
    if "modified" not in body:
        raise InvalidInput(f"{object_id}: objects without versions (SCOs) cannot carry a sharing group")
    if row.tlp < int(TLP.AMBER):
        raise InvalidInput(
            f"{object_id}: a sharing group restricts TLP:AMBER objects only; this one is "
            f"{TLP(row.tlp).display}, so mark it TLP:AMBER to restrict it"
        )
    members = [o.identity_id for o in group_members(db, g.id)]
    body[GROUP_PROPERTY] = {"name": g.name, "members": sorted(members)}
    body["modified"] = next_modified(row.modified)
    recipients = db.execute(
        select(ObjectRecipient.organisation_id).where(ObjectRecipient.object_seq == row.seq)
    ).scalars()
    import_objects(
        db,
        actor=actor,
        objects=[body],
        owner_org_id=row.owner_org_id,
        sharing_group_id=g.id,
        recipient_org_ids=sorted(recipients),
        origin=row.origin,
    )
    audit.record(db, actor=actor, action="sharing_group.attach", target=object_id, details={"group": g.name})
    return dict(body)


def peer_status(db: Session, peer: Peer) -> dict[str, Any]:
    """Everything an operator needs to judge a peer: last success, lag, errors, volumes, cursors."""
    orgs = dict(db.execute(select(Organisation.id, Organisation.short_name)).all())
    cursors = {
        c: a
        for c, a in db.execute(
            select(PeerCursor.collection_id, PeerCursor.added_after).where(PeerCursor.peer_id == peer.id)
        ).all()
    }
    last = peer.last_success_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return {
        "name": peer.name,
        "url": peer.url,
        "organisation": orgs.get(peer.organisation_id),
        "local_org": orgs.get(peer.local_org_id) if peer.local_org_id else None,
        "collections": peer_collections(peer),
        "push_collection": peer.push_collection,
        "local_collection": peer.local_collection,
        "pull_interval_seconds": peer.pull_interval_seconds,
        "enabled": peer.enabled,
        "last_attempt_at": peer.last_attempt_at,
        "last_success_at": peer.last_success_at,
        "lag_seconds": round((datetime.now(UTC) - last).total_seconds(), 3) if last else None,
        "last_error": peer.last_error,
        "last_error_kind": peer.last_error_kind,
        "last_error_at": peer.last_error_at,
        "error_count": peer.error_count,
        "objects_received": peer.objects_received,
        "objects_rejected": peer.objects_rejected,
        "objects_pushed": peer.objects_pushed,
        "newest_date_added": peer.newest_date_added,
        "cursors": cursors,
    }


def sharing_group_out(db: Session, group: SharingGroup) -> dict[str, Any]:
    owner = db.get(Organisation, group.owner_org_id) if group.owner_org_id is not None else None
    return {
        "name": group.name,
        "description": group.description,
        "members": [o.short_name for o in group_members(db, group.id)],
        "owner": owner.short_name if owner is not None else None,
    }
