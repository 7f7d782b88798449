"""TAXII 2.1 server verbs: API roots, discovery and collections; reads and writes live beside it.

``reads`` (access check, pages, envelopes), ``writes`` (statuses, stored envelopes,
deletes) and ``rights`` (the collection's read/write lists) are re-exported here, so a
caller names every TAXII verb as ``service.<verb>``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.errors import InvalidInput, NotFound
from colsec.store import audit
from colsec.store.models import Collection
from colsec.taxii.access import CollectionRef, read_access
from colsec.taxii.models import TaxiiApiRoot, TaxiiDiscovery
from colsec.taxii.reads import Filters, Page, has_object, read_page
from colsec.taxii.rights import can_read, can_write, check_rights, may, parse_rights
from colsec.taxii.writes import (
    STATUS_KEEP,
    add_objects,
    create_pending_status,
    delete_object,
    envelope_versions,
    fail_status,
    get_status,
    status_resource,
)

__all__ = [
    "DEFAULT_ROOT",
    "STATUS_KEEP",
    "ApiRootInfo",
    "CollectionRef",
    "Filters",
    "Page",
    "add_objects",
    "api_root_names",
    "collection_resource",
    "create_collection",
    "create_pending_status",
    "delete_object",
    "discovery",
    "envelope_versions",
    "fail_status",
    "get_api_root",
    "get_collection",
    "get_status",
    "has_object",
    "list_collections",
    "may",
    "parse_rights",
    "read_access",
    "read_page",
    "status_resource",
    "visible_collections",
]


STIX_MEDIA = "application/stix+json;version=2.1"
DEFAULT_ROOT = "root"
_ROOT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")


# --- API roots and discovery --------------------------------------------------------------------


@dataclass(frozen=True)
class ApiRootInfo:
    name: str
    title: str
    description: str
    max_content_length: int


def api_root_names(db: Session) -> list[str]:
    """Configured roots, roots named by collections, and ``root`` on a node that configured none."""
    names = set(db.execute(select(TaxiiApiRoot.name)).scalars())
    names |= set(db.execute(select(Collection.api_root).distinct()).scalars())
    if not names:
        names.add(DEFAULT_ROOT)
    return sorted(names)


def get_api_root(db: Session, name: str, *, max_body: int) -> ApiRootInfo:
    row = db.get(TaxiiApiRoot, name)
    if row is not None:
        limit = min(row.max_content_length or max_body, max_body)
        return ApiRootInfo(row.name, row.title, row.description, limit)
    if name in api_root_names(db):
        return ApiRootInfo(name, f"colsec API root {name}", "STIX 2.1 collections of this node", max_body)
    raise NotFound(f"API root {name!r} not found")


def discovery(db: Session, *, base_url: str, node_name: str) -> dict[str, Any]:
    row = db.get(TaxiiDiscovery, 1)
    names = api_root_names(db)
    roots = [f"{base_url}taxii2/{n}/" for n in names]
    body: dict[str, Any] = {
        "title": row.title if row else f"colsec node {node_name}",
        "description": row.description if row else "TAXII 2.1 server of a colsec node",
        "api_roots": roots,
    }
    if row and row.contact:
        body["contact"] = row.contact
    default = row.default_root if row and row.default_root in names else None
    if default is None and DEFAULT_ROOT in names:
        default = DEFAULT_ROOT
    if default is not None:
        body["default"] = f"{base_url}taxii2/{default}/"
    return body


# --- collections --------------------------------------------------------------------------------


def create_collection(
    db: Session,
    *,
    actor: Actor,
    title: str,
    api_root: str = DEFAULT_ROOT,
    description: str = "",
    alias: str | None = None,
    can_read: Sequence[str] = ("*",),
    can_write: Sequence[str] = (),
    collection_id: str | None = None,
    media_types: Sequence[str] = (STIX_MEDIA,),
) -> Collection:
    if not title.strip():
        raise InvalidInput("collection title must not be empty")
    if not _ROOT_RE.match(api_root):
        raise InvalidInput(f"invalid API root name {api_root!r}")
    cid = collection_id or str(uuid.uuid4())
    try:
        cid = str(uuid.UUID(cid))
    except ValueError:
        raise InvalidInput(f"collection id {cid!r} is not a UUID") from None
    if db.get(Collection, cid) is not None:
        raise InvalidInput(f"collection {cid} already exists")
    coll = Collection(
        id=cid,
        api_root=api_root,
        alias=alias,
        title=title,
        description=description,
        media_types=orjson.dumps(list(media_types)).decode(),
        can_read=orjson.dumps(list(can_read)).decode(),
        can_write=orjson.dumps(list(can_write)).decode(),
    )
    db.add(coll)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="taxii.collection.create",
        target=cid,
        details={
            "title": title,
            "api_root": api_root,
            "can_read": list(can_read),
            "can_write": list(can_write),
        },
    )
    return coll


def list_collections(db: Session, *, api_root: str | None = None) -> list[Collection]:
    stmt = select(Collection).order_by(Collection.api_root, Collection.created_at, Collection.id)
    if api_root is not None:
        stmt = stmt.where(Collection.api_root == api_root)
    return list(db.execute(stmt).scalars())


def collection_resource(coll: Collection, actor: Actor) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": coll.id,
        "title": coll.title,
        "can_read": can_read(actor, coll),
        "can_write": can_write(actor, coll),
        "media_types": orjson.loads(coll.media_types),
    }
    if coll.description:
        body["description"] = coll.description
    if coll.alias:
        body["alias"] = coll.alias
    return body


def visible_collections(db: Session, *, actor: Actor, api_root: str) -> list[Collection]:
    """Collections the caller holds any right on (others are not listed)."""
    return [c for c in list_collections(db, api_root=api_root) if can_read(actor, c) or can_write(actor, c)]


def get_collection(
    db: Session,
    *,
    actor: Actor,
    api_root: str,
    collection_id: str,
    need: Literal["any", "read", "write"] = "any",
) -> Collection:
    """The collection, or 404 when it does not exist here; 403 when the caller's rights forbid ``need``.

    A collection the caller may neither read nor write answers exactly as a missing one: its
    existence is not disclosed to organisations it is not meant for.
    """
    coll = db.get(Collection, collection_id)
    found = (coll.api_root, coll.can_read, coll.can_write) if coll is not None else None
    check_rights(actor, collection_id, api_root, found, need)
    assert coll is not None
    return coll
