"""Read paths over the store; every one takes the viewer and applies the sharing policy in SQL.

The policy is per version (``visible_clause``): an older version shows only while
the latest version of its id is visible to the same reader.

Paging is keyset on ``(date_added, seq)``: stable under concurrent writes, never
skipping or repeating a row, cheap at any depth (no OFFSET).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from colsec.accounts.models import Organisation
from colsec.errors import InvalidInput, NotFound
from colsec.stix.ids import canonical_timestamp
from colsec.store.models import CollectionObject, Observable, StixObject
from colsec.store.policy import Recipient, row_visible_clause, visible_clause

__all__ = [
    "Cursor",
    "ObjectPage",
    "VersionFilter",
    "count_by_type",
    "decode_cursor",
    "encode_cursor",
    "get_object",
    "list_objects",
    "recipient_for_org",
    "search_observables",
]

VersionFilter = str  # "last" | "first" | "all" | a timestamp; comma-separated list allowed


@dataclass(frozen=True, slots=True)
class Cursor:
    date_added: str
    seq: int


def encode_cursor(c: Cursor) -> str:
    return f"{c.date_added}_{c.seq}"


def decode_cursor(text: str) -> Cursor:
    try:
        date_added, seq = text.rsplit("_", 1)
        number = int(seq)
        if not 0 <= number < 2**63:  # beyond a 64-bit column: a 500 in the driver otherwise
            raise ValueError
        return Cursor(canonical_timestamp(date_added), number)
    except (ValueError, TypeError):
        raise InvalidInput(f"invalid paging cursor {text!r}") from None


@dataclass
class ObjectPage:
    rows: list[StixObject]
    more: bool
    next: Cursor | None

    def objects(self) -> list[dict[str, Any]]:
        return [orjson.loads(r.body) for r in self.rows]


_ORG_KIND = select(Organisation.kind).where(
    Organisation.id == bindparam("org_id")
)  # built once: every read asks


def recipient_for_org(db: Session, org_id: int | None) -> Recipient:
    if org_id is None:
        return Recipient(org_id=None, alliance_member=False)
    kind = db.execute(_ORG_KIND, {"org_id": org_id}).scalar()
    return Recipient(org_id=org_id, alliance_member=kind != "external")


def version_clause(
    stmt: Select[Any],
    versions: Sequence[str],
    viewer: Recipient | None = None,
    collection: ColumnElement[Any] | None = None,
    added: ColumnElement[Any] | InstrumentedAttribute[Any] | None = None,
) -> Select[Any]:
    """Restrict ``stmt`` to the asked versions; ``first`` is the earliest version ``viewer`` may see.

    Counting only visible versions keeps ``first`` from answering "nothing" where an
    earlier, hidden version exists (the answer would reveal that history).  In a
    ``collection`` (TAXII 2.1 §3.4.2: the versions a collection holds) ``first`` and ``last``
    are the earliest and latest of its versions the viewer may see: a version removed from
    the collection, or never published into it, leaves the one before as its latest.
    ``added`` is the collection's ``date_added`` of the row: the version TAXII names for an
    object that states none (an SCO), so a timestamp selects such an object by it too.
    """
    conds: list[ColumnElement[bool]] = []
    for v in versions:
        if v == "all":
            return stmt
        if v == "last":
            latest: ColumnElement[bool] = StixObject.is_latest == true()
            if collection is not None:  # the newest in the store is the newest anywhere it is
                newer = aliased(StixObject, name="o3")
                latest = or_(
                    latest,
                    ~_held_version(newer, collection, viewer)
                    .where(newer.modified > StixObject.modified)
                    .exists(),
                )
            conds.append(latest)
        elif v == "first":
            o2 = aliased(StixObject, name="o2")
            earliest = select(func.min(o2.modified)).where(o2.id == StixObject.id)
            if viewer is not None:
                earliest = earliest.where(row_visible_clause(viewer, row=o2))
            if collection is not None:
                earliest = earliest.where(_member(o2, collection))
            conds.append(StixObject.modified == earliest.scalar_subquery())
        else:
            try:
                ts = canonical_timestamp(v)
            except ValueError:
                raise InvalidInput(
                    f"invalid version filter {v!r}: use first, last, all or a timestamp"
                ) from None
            stated: ColumnElement[bool] = StixObject.modified == ts
            if added is not None:
                stated = or_(stated, and_(StixObject.modified == "", added == ts))
            conds.append(stated)
    return stmt.where(or_(*conds)) if conds else stmt


def _member(row: Any, collection: ColumnElement[Any]) -> ColumnElement[bool]:
    """``row`` (an alias of ``StixObject``) is a version ``collection`` holds."""
    return (
        select(CollectionObject.object_seq)
        .where(CollectionObject.collection_id == collection, CollectionObject.object_seq == row.seq)
        .exists()
    )


def _held_version(row: Any, collection: ColumnElement[Any], viewer: Recipient | None) -> Select[Any]:
    """Another version of the outer row's object that ``collection`` holds (and ``viewer`` may see)."""
    stmt = select(row.seq).where(row.id == StixObject.id, _member(row, collection))
    return stmt.where(row_visible_clause(viewer, row=row)) if viewer is not None else stmt


def list_objects(
    db: Session,
    *,
    viewer: Recipient,
    types: Sequence[str] = (),
    ids: Sequence[str] = (),
    versions: Sequence[str] = ("last",),
    spec_versions: Sequence[str] = (),
    added_after: str | None = None,
    cursor: Cursor | None = None,
    limit: int = 100,
    collection_id: str | None = None,
    owner_org_id: int | None = None,
    max_tlp: int | None = None,
    include_revoked: bool = True,
    newest_first: bool = False,
) -> ObjectPage:
    stmt = select(StixObject).where(visible_clause(viewer))
    if collection_id is not None:
        stmt = stmt.where(
            StixObject.seq.in_(
                select(CollectionObject.object_seq).where(CollectionObject.collection_id == collection_id)
            )
        )
    if types:
        stmt = stmt.where(StixObject.type.in_(list(types)))
    if ids:
        stmt = stmt.where(StixObject.id.in_(list(ids)))
    if spec_versions:
        stmt = stmt.where(StixObject.spec_version.in_(list(spec_versions)))
    if owner_org_id is not None:
        stmt = stmt.where(StixObject.owner_org_id == owner_org_id)
    if max_tlp is not None:
        stmt = stmt.where(StixObject.tlp <= max_tlp)
    if not include_revoked:
        stmt = stmt.where(StixObject.revoked.is_(False))
    in_collection: ColumnElement[Any] | None = None
    added: ColumnElement[Any] | None = None
    if collection_id is not None:
        in_collection = bindparam("version_cid", collection_id)
        added = (
            select(CollectionObject.date_added)
            .where(
                CollectionObject.collection_id == in_collection, CollectionObject.object_seq == StixObject.seq
            )
            .scalar_subquery()
        )
    stmt = version_clause(stmt, versions, viewer, in_collection, added)
    if added_after is not None:
        try:
            stmt = stmt.where(StixObject.date_added > canonical_timestamp(added_after))
        except ValueError:
            raise InvalidInput(f"invalid added_after timestamp {added_after!r}") from None
    if cursor is not None:
        stmt = stmt.where(
            or_(
                StixObject.date_added > cursor.date_added,
                and_(StixObject.date_added == cursor.date_added, StixObject.seq > cursor.seq),
            )
        )
    if newest_first:
        stmt = stmt.order_by(StixObject.date_added.desc(), StixObject.seq.desc())
    else:
        stmt = stmt.order_by(StixObject.date_added, StixObject.seq)
    rows = list(db.execute(stmt.limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = Cursor(rows[-1].date_added, rows[-1].seq) if more and rows else None
    return ObjectPage(rows=rows, more=more, next=nxt)


def get_object(db: Session, *, viewer: Recipient, object_id: str, version: str = "last") -> dict[str, Any]:
    page = list_objects(db, viewer=viewer, ids=[object_id], versions=[version], limit=1)
    if not page.rows:
        raise NotFound(f"object {object_id} not found")
    return dict(orjson.loads(page.rows[0].body))


def count_by_type(db: Session, *, viewer: Recipient) -> dict[str, int]:
    stmt = (
        select(StixObject.type, func.count())
        .where(StixObject.is_latest, visible_clause(viewer))
        .group_by(StixObject.type)
        .order_by(func.count().desc())
    )
    return {t: n for t, n in db.execute(stmt).all()}


def search_observables(
    db: Session, *, viewer: Recipient, value: str, kind: str | None = None, limit: int = 100
) -> list[StixObject]:
    """Latest visible objects that state this observable value."""
    stmt = (
        select(StixObject)
        .join(Observable, Observable.object_seq == StixObject.seq)
        .where(Observable.value == value, StixObject.is_latest, visible_clause(viewer))
    )
    if kind:
        stmt = stmt.where(Observable.kind == kind)
    return list(db.execute(stmt.limit(limit)).scalars().unique())
