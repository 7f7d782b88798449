"""Publishing over TAXII: collections defined by a filter, and objects added or removed by hand.

The write gate (``store.service.import_objects``) calls ``include_new`` once per import,
after its rows are inserted and in the same transaction, so objects arriving by any path
(CLI, API, UI, TAXII, sync, derived data) join the collections whose filter they match.
Membership only says what a collection offers: every TAXII read still applies the
sharing policy for its reader.  A filter's TLP ceiling holds for every member version,
including new versions that inherit their predecessor's collections.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.db import lock_for_append
from colsec.errors import Forbidden, InvalidInput, NotFound
from colsec.stix.tlp import TLP, TLP_BY_NAME
from colsec.store import audit
from colsec.store.models import Collection, CollectionFilter, CollectionObject, SharingGroup, StixObject
from colsec.store.rows import Clock, join_known_versions, join_new_versions

__all__ = [
    "FILTER_KEYS",
    "FilterSpec",
    "add_objects",
    "clear_filter",
    "get_filter",
    "include_existing",
    "include_new",
    "parse_filter_terms",
    "remove_objects",
    "resolve_filter",
    "set_filter",
]

CHUNK = 1000
FILTER_KEYS = ("type", "owner", "label", "tlp", "group")


@dataclass(frozen=True)
class FilterSpec:
    """What a filter collection takes in; an empty list means any value."""

    types: tuple[str, ...] = ()
    owner_org_ids: tuple[int, ...] = ()
    labels: tuple[str, ...] = ()
    max_tlp: TLP | None = None
    sharing_group_id: int | None = None

    def matches(self, row: Any, labels: Iterable[str] = ()) -> bool:
        if self.types and row.type not in self.types:
            return False
        if self.owner_org_ids and row.owner_org_id not in self.owner_org_ids:
            return False
        if self.max_tlp is not None and row.tlp > int(self.max_tlp):
            return False
        if self.sharing_group_id is not None and row.sharing_group_id != self.sharing_group_id:
            return False
        return not self.labels or bool(set(self.labels) & set(labels))

    def to_dict(self) -> dict[str, Any]:
        return {
            "types": list(self.types),
            "owner_org_ids": list(self.owner_org_ids),
            "labels": list(self.labels),
            "max_tlp": self.max_tlp.label if self.max_tlp is not None else None,
            "sharing_group_id": self.sharing_group_id,
        }


def _require_operator(actor: Actor) -> None:
    if not actor.is_operator:
        raise Forbidden("only the node operator may change what a collection publishes")


def _collection(db: Session, collection_id: str) -> Collection:
    coll = db.get(Collection, collection_id)
    if coll is None:
        raise NotFound(f"collection {collection_id} not found")
    return coll


def parse_filter_terms(terms: Sequence[str]) -> dict[str, list[str]]:
    """``key=value[,value]`` terms (as the CLI takes them) grouped by key; unknown keys are refused."""
    out: dict[str, list[str]] = {k: [] for k in FILTER_KEYS}
    for term in terms:
        key, sep, value = term.partition("=")
        key = key.strip().lower()
        if not sep or key not in out:
            raise InvalidInput(
                f"filter term {term!r}: use KEY=VALUE with KEY one of {', '.join(FILTER_KEYS)}"
            )
        out[key].extend(v.strip() for v in value.split(",") if v.strip())
    return out


def resolve_filter(
    db: Session,
    *,
    types: Sequence[str] = (),
    owners: Sequence[str] = (),
    labels: Sequence[str] = (),
    tlp: str | None = None,
    group: str | None = None,
) -> FilterSpec:
    """A filter from names (organisation short names, TLP and sharing group names), each checked."""
    from colsec.accounts.models import Organisation

    owner_ids: list[int] = []
    for name in owners:
        oid = db.execute(select(Organisation.id).where(Organisation.short_name == name)).scalar()
        if oid is None:
            raise NotFound(f"organisation {name!r} not found")
        owner_ids.append(oid)
    level = None
    if tlp:
        level = TLP_BY_NAME.get(tlp.strip().lower().removeprefix("tlp:"))
        if level is None:
            raise InvalidInput(f"unknown TLP {tlp!r}")
    group_id = None
    if group:
        group_id = db.execute(select(SharingGroup.id).where(SharingGroup.name == group)).scalar()
        if group_id is None:
            raise NotFound(f"sharing group {group!r} not found")
    return FilterSpec(
        types=tuple(dict.fromkeys(t.strip() for t in types if t.strip())),
        owner_org_ids=tuple(dict.fromkeys(owner_ids)),
        labels=tuple(dict.fromkeys(label.strip() for label in labels if label.strip())),
        max_tlp=level,
        sharing_group_id=group_id,
    )


def _spec(row: CollectionFilter) -> FilterSpec:
    return FilterSpec(
        types=tuple(orjson.loads(row.types)),
        owner_org_ids=tuple(orjson.loads(row.owner_org_ids)),
        labels=tuple(orjson.loads(row.labels)),
        max_tlp=TLP(row.max_tlp) if row.max_tlp is not None else None,
        sharing_group_id=row.sharing_group_id,
    )


def get_filter(db: Session, collection_id: str) -> FilterSpec | None:
    row = db.get(CollectionFilter, collection_id)
    return _spec(row) if row is not None else None


def set_filter(db: Session, *, actor: Actor, collection_id: str, spec: FilterSpec) -> None:
    """Define (or redefine) the collection by a filter; objects stored from now on that match it join."""
    _require_operator(actor)
    _collection(db, collection_id)
    row = db.get(CollectionFilter, collection_id) or CollectionFilter(collection_id=collection_id)
    row.types = orjson.dumps(list(spec.types)).decode()
    row.owner_org_ids = orjson.dumps(list(spec.owner_org_ids)).decode()
    row.labels = orjson.dumps(list(spec.labels)).decode()
    row.max_tlp = int(spec.max_tlp) if spec.max_tlp is not None else None
    row.sharing_group_id = spec.sharing_group_id
    db.add(row)
    db.flush()
    audit.record(
        db, actor=actor, action="collection.filter.set", target=collection_id, details=spec.to_dict()
    )


def clear_filter(db: Session, *, actor: Actor, collection_id: str) -> None:
    """Stop including new objects; members stay until removed."""
    _require_operator(actor)
    _collection(db, collection_id)
    db.execute(delete(CollectionFilter).where(CollectionFilter.collection_id == collection_id))
    audit.record(db, actor=actor, action="collection.filter.clear", target=collection_id, details={})


def _include(
    db: Session, seqs: Sequence[int], specs: list[tuple[str, FilterSpec]], clock: Clock | None = None
) -> int:
    """Members for the versions ``seqs`` that ``specs`` match; the members matched.

    Without ``clock`` the versions are this transaction's new ones and join at their own
    ``date_added``; with it they were stored before and join now (``join_known_versions``).
    """
    need_labels = any(spec.labels for _, spec in specs)
    cols: list[Any] = [StixObject.seq, StixObject.type, StixObject.owner_org_id, StixObject.tlp,
                       StixObject.sharing_group_id]  # fmt: skip
    if need_labels:
        cols.append(StixObject.body)
    added = 0
    for i in range(0, len(seqs), CHUNK):
        chunk = list(seqs[i : i + CHUNK])
        members: list[tuple[str, int]] = []
        for row in db.execute(select(*cols).where(StixObject.seq.in_(chunk))).all():
            labels: list[str] = []
            if need_labels:
                found = orjson.loads(row.body).get("labels")
                labels = [v for v in found if isinstance(v, str)] if isinstance(found, list) else []
            members += [(c, row.seq) for c, s in specs if s.matches(row, labels)]
        if clock is None:
            join_new_versions(db, members)
        else:
            join_known_versions(db, members, clock)
        added += len(members)
        for cid, spec in specs:  # the ceiling also holds for versions that inherited membership
            if spec.max_tlp is not None:
                above = select(StixObject.seq).where(
                    StixObject.seq.in_(chunk), StixObject.tlp > int(spec.max_tlp)
                )
                db.execute(
                    delete(CollectionObject).where(
                        CollectionObject.collection_id == cid, CollectionObject.object_seq.in_(above)
                    )
                )
    return added


def include_new(db: Session, seqs: Sequence[int]) -> None:
    """Called by the write gate after an insert: matching new versions join filter collections."""
    if not seqs:
        return
    specs = [(row.collection_id, _spec(row)) for row in db.execute(select(CollectionFilter)).scalars()]
    if specs:
        _include(db, seqs, specs)


def include_existing(db: Session, *, actor: Actor, collection_id: str) -> int:
    """Add the objects already stored that match the collection's filter (every version of each)."""
    _require_operator(actor)
    spec = get_filter(db, collection_id)
    if spec is None:
        raise InvalidInput(f"collection {collection_id} has no filter")
    lock_for_append(db)  # the members' stamps come from the one clock writers share
    clock = Clock(db)
    added, last = 0, 0
    while True:
        seqs = list(
            db.execute(
                select(StixObject.seq).where(StixObject.seq > last).order_by(StixObject.seq).limit(CHUNK)
            ).scalars()
        )
        if not seqs:
            break
        added += _include(db, seqs, [(collection_id, spec)], clock)
        last = seqs[-1]
    audit.record(db, actor=actor, action="collection.filter.backfill", target=collection_id,
                 details={"matched": added})  # fmt: skip
    return added


def _versions(db: Session, object_ids: Sequence[str]) -> list[tuple[int, str, int]]:
    ids = list(dict.fromkeys(object_ids))
    if not ids:
        raise InvalidInput("name at least one object id")
    rows = [(r.seq, r.id, r.tlp) for r in db.execute(
        select(StixObject.seq, StixObject.id, StixObject.tlp).where(StixObject.id.in_(ids))
    ).all()]  # fmt: skip
    missing = sorted(set(ids) - {oid for _, oid, _ in rows})
    if missing:
        raise NotFound(f"{len(missing)} object(s) not in the store: {', '.join(missing[:5])}")
    return rows


def add_objects(db: Session, *, actor: Actor, collection_id: str, object_ids: Sequence[str]) -> int:
    """Put every version of the named objects in the collection; returns the versions added.

    A filter collection's TLP ceiling is refused, not silently skipped.
    """
    _require_operator(actor)
    _collection(db, collection_id)
    rows = _versions(db, object_ids)
    spec = get_filter(db, collection_id)
    if spec is not None and spec.max_tlp is not None:
        above = sorted({oid for _, oid, tlp in rows if tlp > int(spec.max_tlp)})
        if above:
            raise InvalidInput(
                f"{len(above)} object(s) above the collection's ceiling {spec.max_tlp.display}: {', '.join(above[:5])}"
            )
    lock_for_append(db)  # the members' stamps come from the one clock writers share
    added = join_known_versions(db, [(collection_id, seq) for seq, _, _ in rows], Clock(db))
    audit.record(db, actor=actor, action="collection.objects.add", target=collection_id,
                 details={"objects": len(set(object_ids)), "versions": added})  # fmt: skip
    return added


def remove_objects(db: Session, *, actor: Actor, collection_id: str, object_ids: Sequence[str]) -> int:
    """Take every version of the named objects out of the collection (the store keeps them)."""
    _require_operator(actor)
    _collection(db, collection_id)
    seqs = [seq for seq, _, _ in _versions(db, object_ids)]
    removed = 0
    for i in range(0, len(seqs), CHUNK):
        result = db.execute(
            delete(CollectionObject).where(
                CollectionObject.collection_id == collection_id,
                CollectionObject.object_seq.in_(seqs[i : i + CHUNK]),
            )
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
    audit.record(db, actor=actor, action="collection.objects.remove", target=collection_id,
                 details={"objects": len(set(object_ids)), "versions": removed})  # fmt: skip
    return removed
