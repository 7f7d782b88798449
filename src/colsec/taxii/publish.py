"""What a node operator publishes over TAXII: collections by filter, objects added or removed by hand.

One verb per use, shared by the CLI, the JSON API and the admin page; membership and
filter evaluation live in ``colsec.store.publishing`` because the write gate fills
filter collections as objects arrive.  Only administrators (node operators) publish.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor
from colsec.errors import Forbidden, NotFound
from colsec.store import publishing
from colsec.store.models import Collection, CollectionObject, SharingGroup
from colsec.store.publishing import FilterSpec
from colsec.taxii.service import DEFAULT_ROOT, create_collection, list_collections, parse_rights

__all__ = [
    "CollectionSummary",
    "FilterNames",
    "add_objects",
    "collection_summary",
    "get_summary",
    "list_summaries",
    "publish_collection",
    "remove_objects",
    "set_collection_filter",
]


@dataclass
class FilterNames:
    """A filter as people name it: organisation short names, a TLP name, a sharing group name."""

    types: list[str] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    tlp: str | None = None
    group: str | None = None

    @classmethod
    def from_terms(cls, terms: Sequence[str]) -> FilterNames:
        """From CLI terms such as ``type=indicator,malware`` or ``tlp=green``."""
        parsed = publishing.parse_filter_terms(terms)
        return cls(
            types=parsed["type"],
            owners=parsed["owner"],
            labels=parsed["label"],
            tlp=parsed["tlp"][-1] if parsed["tlp"] else None,
            group=parsed["group"][-1] if parsed["group"] else None,
        )

    def resolve(self, db: Session) -> FilterSpec:
        return publishing.resolve_filter(
            db, types=self.types, owners=self.owners, labels=self.labels, tlp=self.tlp, group=self.group
        )


@dataclass
class CollectionSummary:
    id: str
    api_root: str
    title: str
    description: str
    can_read: list[str]
    can_write: list[str]
    versions: int
    filter: dict[str, Any] | None


def _require_operator(actor: Actor) -> None:
    if not actor.is_operator:
        raise Forbidden("only the node operator may manage published collections")


def _filter_names(db: Session, spec: FilterSpec) -> dict[str, Any]:
    owners = (
        dict(db.execute(select(Organisation.id, Organisation.short_name)).all()) if spec.owner_org_ids else {}
    )
    group = db.get(SharingGroup, spec.sharing_group_id) if spec.sharing_group_id is not None else None
    return {
        "types": list(spec.types),
        "owners": [owners.get(o, str(o)) for o in spec.owner_org_ids],
        "labels": list(spec.labels),
        "tlp": spec.max_tlp.label if spec.max_tlp is not None else None,
        "group": group.name if group is not None else None,
    }


def collection_summary(db: Session, coll: Collection, versions: int | None = None) -> CollectionSummary:
    if versions is None:
        versions = db.execute(
            select(func.count())
            .select_from(CollectionObject)
            .where(CollectionObject.collection_id == coll.id)
        ).scalar_one()
    spec = publishing.get_filter(db, coll.id)
    return CollectionSummary(
        id=coll.id, api_root=coll.api_root, title=coll.title, description=coll.description,
        can_read=parse_rights(coll.can_read), can_write=parse_rights(coll.can_write), versions=int(versions),
        filter=_filter_names(db, spec) if spec is not None else None,
    )  # fmt: skip


def list_summaries(db: Session, *, actor: Actor) -> list[CollectionSummary]:
    _require_operator(actor)
    counts = dict(
        db.execute(
            select(CollectionObject.collection_id, func.count()).group_by(CollectionObject.collection_id)
        ).all()
    )
    return [collection_summary(db, c, counts.get(c.id, 0)) for c in list_collections(db)]


def _get(db: Session, collection_id: str) -> Collection:
    coll = db.get(Collection, collection_id)
    if coll is None:
        raise NotFound(f"collection {collection_id} not found")
    return coll


def get_summary(db: Session, *, actor: Actor, collection_id: str) -> CollectionSummary:
    _require_operator(actor)
    return collection_summary(db, _get(db, collection_id))


def publish_collection(
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
    filter_names: FilterNames | None = None,
    include_existing: bool = False,
) -> CollectionSummary:
    """Create a collection, optionally defined by a filter (and filled now with what already matches)."""
    _require_operator(actor)
    spec = filter_names.resolve(db) if filter_names is not None else None
    coll = create_collection(
        db, actor=actor, title=title, api_root=api_root, description=description, alias=alias,
        can_read=can_read, can_write=can_write, collection_id=collection_id,
    )  # fmt: skip
    if spec is not None:
        publishing.set_filter(db, actor=actor, collection_id=coll.id, spec=spec)
        if include_existing:
            publishing.include_existing(db, actor=actor, collection_id=coll.id)
    return collection_summary(db, coll)


def set_collection_filter(
    db: Session,
    *,
    actor: Actor,
    collection_id: str,
    filter_names: FilterNames | None,
    include_existing: bool = False,
) -> CollectionSummary:
    """Define, redefine or (with ``None``) drop a collection's filter; members stay until removed."""
    _require_operator(actor)
    coll = _get(db, collection_id)
    if filter_names is None:
        publishing.clear_filter(db, actor=actor, collection_id=coll.id)
    else:
        publishing.set_filter(db, actor=actor, collection_id=coll.id, spec=filter_names.resolve(db))
        if include_existing:
            publishing.include_existing(db, actor=actor, collection_id=coll.id)
    return collection_summary(db, coll)


def add_objects(db: Session, *, actor: Actor, collection_id: str, object_ids: Sequence[str]) -> int:
    return publishing.add_objects(db, actor=actor, collection_id=collection_id, object_ids=object_ids)


def remove_objects(db: Session, *, actor: Actor, collection_id: str, object_ids: Sequence[str]) -> int:
    return publishing.remove_objects(db, actor=actor, collection_id=collection_id, object_ids=object_ids)
