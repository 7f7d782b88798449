"""Adding STIX objects: validated, deduplicated, versioned, indexed, all-or-nothing per call.

``import_objects`` streams: it consumes any iterable of dicts in batches, so a
bundle of a million objects never sits in memory.  The caller owns the
transaction; when any object is invalid the whole call raises and the caller
rolls back, so nothing of the unit is written.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import Table, and_, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.db import is_sqlite, lock_for_append
from colsec.errors import Forbidden, InvalidInput, NotFound, StixValidationError
from colsec.gcpause import tick as gc_tick
from colsec.gcpause import young_gc_only
from colsec.stix.ids import format_timestamp, parse_timestamp
from colsec.stix.observables import extract as extract_observables
from colsec.stix.tlp import TLP, marking_id, tlp_of
from colsec.stix.validate import validate_object
from colsec.store import audit
from colsec.store.models import (
    CollectionObject,
    ObjectRecipient,
    Observable,
    SharingGroup,
    SharingGroupMember,
    StixObject,
)
from colsec.store.policy import GROUP_PROPERTY
from colsec.store.publishing import include_new

__all__ = [
    "BATCH_SIZE",
    "MAX_REPORTED_ERRORS",
    "POST_IMPORT_HOOKS",
    "ImportResult",
    "import_objects",
]

BATCH_SIZE = 1000
MAX_REPORTED_ERRORS = 200

# Called as hook(db, inserted seqs) at the end of every import, inside its transaction, so
# derived data (correlation, scores, exposure) lands atomically with the objects.  Filled at
# wiring time (``colsec.intel.hooks.install``), never by import side effects.
POST_IMPORT_HOOKS: list[Callable[[Session, list[int]], None]] = []


@dataclass
class ImportResult:
    received: int = 0
    inserted: int = 0
    unchanged: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, str]] = field(default_factory=list)
    inserted_ids: list[str] = field(default_factory=list)
    inserted_seqs: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "inserted": self.inserted,
            "unchanged": self.unchanged,
            "by_type": dict(self.by_type),
            "errors": self.errors,
        }


def _insert_stmt(db: Session, table: Any) -> Any:
    return sqlite.insert(table) if is_sqlite(db) else postgresql.insert(table)


class _Clock:
    """Strictly increasing date_added (µs steps) so ``added_after`` never splits a tie."""

    def __init__(self, db: Session) -> None:
        last = db.execute(select(func.max(StixObject.date_added))).scalar()
        now = datetime.now(UTC)
        start = max(now, parse_timestamp(last) + timedelta(microseconds=1)) if last else now
        self._second = start.replace(microsecond=0)
        self._prefix = format_timestamp(self._second)[:19]
        self._micro = start.microsecond

    def next(self) -> str:
        # Formats the seconds part once per second rather than once per row (a hot loop).
        if self._micro >= 1_000_000:
            self._second += timedelta(seconds=self._micro // 1_000_000)
            self._micro %= 1_000_000
            self._prefix = format_timestamp(self._second)[:19]
        value = f"{self._prefix}.{self._micro:06d}Z"
        self._micro += 1
        return value


def import_objects(
    db: Session,
    *,
    actor: Actor,
    objects: Iterable[Mapping[str, Any]],
    owner_org_id: int | None = None,
    default_tlp: TLP = TLP.AMBER,
    collection_ids: Sequence[str] = (),
    recipient_org_ids: Sequence[int] = (),
    sharing_group_id: int | None = None,
    origin: str | None = None,
    progress: Any = None,
    keep_going: bool = False,
) -> ImportResult:
    """Validate and store objects as one unit; raise InvalidInput listing every bad object.

    ``keep_going`` stores the valid objects and reports the invalid ones instead of
    refusing the unit (TAXII POST semantics: per-object success and failure).
    """
    with young_gc_only():
        return _import_objects(
            db, actor=actor, objects=objects, owner_org_id=owner_org_id, default_tlp=default_tlp,
            collection_ids=collection_ids, recipient_org_ids=recipient_org_ids,
            sharing_group_id=sharing_group_id, origin=origin, progress=progress, keep_going=keep_going,
        )  # fmt: skip


def _import_objects(
    db: Session,
    *,
    actor: Actor,
    objects: Iterable[Mapping[str, Any]],
    owner_org_id: int | None,
    default_tlp: TLP,
    collection_ids: Sequence[str],
    recipient_org_ids: Sequence[int],
    sharing_group_id: int | None,
    origin: str | None,
    progress: Any,
    keep_going: bool,
) -> ImportResult:
    owner = owner_org_id if owner_org_id is not None else actor.org_id
    lock_for_append(db)
    clock = _Clock(db)
    result = ImportResult()
    seen: dict[bytes, bytes] = {}
    batch: list[tuple[dict[str, Any], Any, bytes, TLP]] = []
    failed = False
    group_claim = _group_claim(db, sharing_group_id) if sharing_group_id is not None else None

    def flush() -> None:
        if batch and (keep_going or not failed):
            _store_batch(
                db, batch, result, owner, clock, collection_ids, recipient_org_ids, sharing_group_id,
                origin, keep_going,
            )  # fmt: skip
        batch.clear()
        gc_tick()

    for obj in objects:
        result.received += 1
        try:
            facts = validate_object(obj)
        except StixValidationError as exc:
            failed = True
            _add_error(result, exc.object_id, exc.message)
            continue
        body_obj = dict(obj)
        level = tlp_of(body_obj)
        if level is None and facts.type != "marking-definition":
            body_obj["object_marking_refs"] = [
                *body_obj.get("object_marking_refs", []),
                marking_id(default_tlp),
            ]
            level = default_tlp
        if group_claim is not None and GROUP_PROPERTY not in body_obj and facts.type != "marking-definition":
            body_obj[GROUP_PROPERTY] = group_claim  # the restriction travels with the object to peers
        body = orjson.dumps(body_obj, option=orjson.OPT_SORT_KEYS)
        key = hashlib.blake2b(f"{facts.id}|{facts.modified}".encode(), digest_size=12).digest()
        digest = hashlib.blake2b(body, digest_size=12).digest()
        prior = seen.get(key)
        if prior is not None:
            if prior != digest:
                failed = True
                _add_error(
                    result,
                    facts.id,
                    f"{facts.id}: appears twice with the same 'modified' and different content",
                )
            else:
                result.unchanged += 1
            continue
        seen[key] = digest
        batch.append((body_obj, facts, body, TLP.AMBER if level is None else level))
        if len(batch) >= BATCH_SIZE:
            flush()
            if progress is not None:
                progress(result.received)
    flush()
    if progress is not None:
        progress(result.received)
    if failed and not keep_going:
        n = len(result.errors)
        first = result.errors[0]["message"] if result.errors else "invalid objects"
        raise InvalidInput(
            f"{n} invalid object(s); nothing was imported. First: {first}",
            details={"errors": result.errors, "received": result.received},
        )
    if result.inserted_seqs:
        include_new(db, result.inserted_seqs)  # filter collections publish what matches
        for hook in POST_IMPORT_HOOKS:
            hook(db, result.inserted_seqs)
    if result.inserted:
        audit.record(
            db,
            actor=actor,
            action="stix.import",
            target=f"{result.inserted} objects",
            details={
                "inserted": result.inserted,
                "unchanged": result.unchanged,
                "by_type": dict(result.by_type),
            },
        )
    return result


def _group_claim(db: Session, group_id: int) -> dict[str, Any]:
    from colsec.accounts.models import Organisation

    name = db.execute(select(SharingGroup.name).where(SharingGroup.id == group_id)).scalar()
    if name is None:
        raise NotFound(f"sharing group {group_id} not found")
    members = db.execute(
        select(Organisation.identity_id)
        .join(SharingGroupMember, SharingGroupMember.organisation_id == Organisation.id)
        .where(SharingGroupMember.group_id == group_id)
    ).scalars()
    return {"name": name, "members": sorted(members)}


def _add_error(result: ImportResult, object_id: str | None, message: str) -> None:
    if len(result.errors) < MAX_REPORTED_ERRORS:
        result.errors.append({"id": object_id or "", "message": message})


def _store_batch(
    db: Session,
    batch: list[tuple[dict[str, Any], Any, bytes, TLP]],
    result: ImportResult,
    owner: int | None,
    clock: _Clock,
    collection_ids: Sequence[str],
    recipient_org_ids: Sequence[int],
    sharing_group_id: int | None,
    origin: str | None,
    keep_going: bool,
) -> None:
    ids = list({facts.id for _, facts, _, _ in batch})
    existing_owner = dict(
        db.execute(
            select(StixObject.id, StixObject.owner_org_id).where(StixObject.id.in_(ids), StixObject.is_latest)
        ).all()
    )
    rows: list[dict[str, Any]] = []
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for body_obj, facts, body, level in batch:
        prev_owner = existing_owner.get(facts.id, owner)
        if origin is None and facts.id in existing_owner and prev_owner != owner:
            msg = f"{facts.id}: owned by another organisation; only its owner may publish new versions"
            if not keep_going:
                raise Forbidden(msg)
            _add_error(result, facts.id, msg)
            continue
        row = {
            "id": facts.id,
            "type": facts.type,
            "spec_version": facts.spec_version,
            "created": facts.created,
            "modified": facts.modified,
            "created_by_ref": facts.created_by_ref,
            "owner_org_id": prev_owner,
            "tlp": int(level),
            "sharing_group_id": sharing_group_id,
            "revoked": facts.revoked,
            "is_latest": True,
            "date_added": clock.next(),
            "origin": origin,
            "body": body.decode(),
        }
        rows.append(row)
        by_key[(facts.id, facts.modified)] = body_obj
    if not rows:
        return
    # executemany + RETURNING uses SQLAlchemy's cached "insertmanyvalues" path: one compiled
    # statement for every batch instead of a fresh 14,000-parameter VALUES clause each time.
    stmt = (
        _insert_stmt(db, StixObject.__table__)
        .on_conflict_do_nothing(index_elements=["id", "modified"])
        .returning(StixObject.__table__.c.seq, StixObject.__table__.c.id, StixObject.__table__.c.modified)
    )
    inserted = db.execute(stmt, rows).all()
    result.inserted += len(inserted)
    result.unchanged += len(rows) - len(inserted)
    new_seqs: list[int] = []
    obs_rows: list[dict[str, Any]] = []
    for seq, oid, modified in inserted:
        new_seqs.append(seq)
        result.inserted_seqs.append(seq)
        body_obj = by_key[(oid, modified)]
        result.by_type[body_obj["type"]] += 1
        if len(result.inserted_ids) < 100_000:
            result.inserted_ids.append(oid)
        for kind, value in set(extract_observables(body_obj)):
            obs_rows.append({"kind": kind, "value": value, "object_seq": seq, "object_id": oid})
    if obs_rows:
        # Core executemany on the table: none of the ORM bulk bookkeeping per row.
        db.execute(insert(cast(Table, Observable.__table__)), obs_rows)
    multi = [oid for oid in {r[1] for r in inserted} if oid in existing_owner] + [
        oid for oid, n in Counter(r[1] for r in inserted).items() if n > 1
    ]
    if multi:
        _fix_latest(db, multi)
    if not collection_ids:
        _inherit_collections(db, [(seq, oid) for seq, oid, _ in inserted if oid in existing_owner])
    if collection_ids:
        seqs = new_seqs
        if len(inserted) < len(rows):  # already-known versions join the collection too
            keys = [(r["id"], r["modified"]) for r in rows]
            seqs = [
                s
                for (s,) in db.execute(
                    select(StixObject.seq).where(
                        StixObject.id.in_([k[0] for k in keys]),
                    )
                ).all()
            ]
            wanted = set(keys)
            seqs = [
                s
                for s, i, m in db.execute(
                    select(StixObject.seq, StixObject.id, StixObject.modified).where(StixObject.seq.in_(seqs))
                ).all()
                if (i, m) in wanted
            ]
        member_rows = [{"collection_id": c, "object_seq": s} for c in collection_ids for s in seqs]
        if member_rows:
            db.execute(
                _insert_stmt(db, CollectionObject.__table__).values(member_rows).on_conflict_do_nothing(),
            )
    if recipient_org_ids and new_seqs:
        db.execute(
            insert(ObjectRecipient),
            [{"object_seq": s, "organisation_id": o} for s in new_seqs for o in recipient_org_ids],
        )


def _inherit_collections(db: Session, new_versions: list[tuple[int, str]]) -> None:
    """A new version added without naming collections (revocation, edit) joins its earlier versions' ones.

    TAXII readers of a collection then see revocations and updates of what they already have.
    """
    if not new_versions:
        return
    ids = list({oid for _, oid in new_versions})
    by_id: dict[str, set[str]] = {}
    for cid, oid in db.execute(
        select(CollectionObject.collection_id, StixObject.id)
        .join(StixObject, StixObject.seq == CollectionObject.object_seq)
        .where(StixObject.id.in_(ids))
    ).all():
        by_id.setdefault(oid, set()).add(cid)
    rows = [
        {"collection_id": c, "object_seq": seq}
        for seq, oid in new_versions
        for c in sorted(by_id.get(oid, ()))
    ]
    if rows:
        db.execute(_insert_stmt(db, CollectionObject.__table__).values(rows).on_conflict_do_nothing())


def _fix_latest(db: Session, ids: list[str]) -> None:
    """Recompute the latest-version flag for ids that now have several versions."""
    for i in range(0, len(ids), 500):
        chunk = list(set(ids[i : i + 500]))
        newest = dict(
            db.execute(
                select(StixObject.id, func.max(StixObject.modified))
                .where(StixObject.id.in_(chunk))
                .group_by(StixObject.id)
            ).all()
        )
        db.execute(update(StixObject).where(StixObject.id.in_(chunk)).values(is_latest=False))
        for oid, modified in newest.items():
            db.execute(
                update(StixObject)
                .where(and_(StixObject.id == oid, StixObject.modified == modified))
                .values(is_latest=True)
            )


def iter_batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
