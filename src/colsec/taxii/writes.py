"""TAXII writes: status resources, storing a posted envelope, removing an object from a collection."""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, select, true
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.db import Database
from colsec.errors import BadRequest, Forbidden, InvalidInput, NotFound
from colsec.stix.ids import now_timestamp
from colsec.stix.tlp import TLP
from colsec.store import audit, queries
from colsec.store.models import Collection, CollectionObject, StixObject
from colsec.store.results import raw_version, version_key_of
from colsec.store.service import MAX_REPORTED_ERRORS, WriteLimits, import_objects
from colsec.taxii.models import TaxiiStatus
from colsec.taxii.reads import Filters

__all__ = [
    "STATUS_KEEP",
    "add_objects",
    "create_pending_status",
    "delete_object",
    "envelope_versions",
    "fail_status",
    "get_status",
    "status_resource",
]

# The interoperability test document asks for at least 24 h; a week costs nothing.
STATUS_KEEP = timedelta(days=7)


def envelope_versions(objects: Sequence[Any]) -> list[tuple[str, str]]:
    """(id, version) for each posted item, for status details; '' where the item has none."""
    out = []
    for obj in objects:
        if isinstance(obj, Mapping):
            oid = obj.get("id")
            ver = obj.get("modified") or obj.get("created") or ""
            out.append((oid if isinstance(oid, str) else "", ver if isinstance(ver, str) else ""))
        else:
            out.append(("", ""))
    return out


def _outcomes(
    objects: Sequence[Any], errors: Sequence[Mapping[str, str]]
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Each posted item's success or failure, its store error found by id and version, in order.

    Two versions of one id may part (one stored, one refused), and items without an id each
    keep their own message.
    """
    named = envelope_versions(objects)
    keys = [(oid, raw_version(obj)) for obj, (oid, _) in zip(objects, named, strict=True)]
    posted = set(keys)
    refused: dict[tuple[str, str], deque[str]] = {}
    by_id: dict[str, str] = {}  # an error whose version names no posted item fails its id's items
    for err in errors:
        key = (err.get("id", ""), version_key_of(err.get("version", "")))
        message = err.get("message", "invalid object")
        if key in posted:
            refused.setdefault(key, deque()).append(message)
        else:
            by_id.setdefault(key[0], message)
    successes: list[dict[str, str]] = []
    failures: list[dict[str, str]] = []
    for obj, key, (oid, ver) in zip(objects, keys, named, strict=True):
        messages = refused.get(key)
        if messages:
            message = messages.popleft()
            if not isinstance(obj, Mapping):  # the store saw a stand-in (add_objects)
                message = f"expected a JSON object, got {type(obj).__name__}"
            failures.append({"id": oid, "version": ver, "message": message})
        elif oid in by_id:
            failures.append({"id": oid, "version": ver, "message": by_id[oid]})
        elif not oid:
            failures.append({"id": oid, "version": ver, "message": "not a valid STIX object"})
        else:
            successes.append({"id": oid, "version": ver})
    return successes, failures


def _prune_statuses(db: Session) -> None:
    db.execute(delete(TaxiiStatus).where(TaxiiStatus.created_at < datetime.now(UTC) - STATUS_KEEP))


def create_pending_status(db: Session, *, actor: Actor, api_root: str, objects: Sequence[Any]) -> TaxiiStatus:
    """A status row in state pending, listing every posted object as pending."""
    _prune_statuses(db)
    pendings = [{"id": i, "version": v} for i, v in envelope_versions(objects)]
    row = TaxiiStatus(
        id=str(uuid.uuid4()),
        api_root=api_root,
        status="pending",
        request_timestamp=now_timestamp(),
        total_count=len(objects),
        pending_count=len(objects),
        pendings=orjson.dumps(pendings).decode(),
        organisation_id=actor.org_id,
    )
    db.add(row)
    db.flush()
    return row


def add_objects(
    database: Database,
    *,
    actor: Actor,
    collection_id: str,
    status_id: str,
    objects: Sequence[Any],
    default_tlp: TLP,
    limits: WriteLimits | None = None,
) -> None:
    """Store the valid objects of an envelope in the collection and complete its status resource.

    Runs in a worker thread with its own transaction; valid objects are kept when others
    fail (TAXII reports success and failure per object).
    """
    with database.unit_of_work() as db:
        items = [o if isinstance(o, Mapping) else {"_not_an_object": True} for o in objects]

        def run(chunk: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
            return import_objects(
                db, actor=actor, objects=chunk, collection_ids=[collection_id], default_tlp=default_tlp,
                keep_going=True, limits=limits,
            ).errors  # fmt: skip

        savepoint = db.begin_nested()
        errors = run(items)
        if len(errors) >= MAX_REPORTED_ERRORS:
            # The store reports a bounded number of errors; redo in chunks so every failure is named.
            savepoint.rollback()
            step = MAX_REPORTED_ERRORS // 2
            errors = [e for i in range(0, len(items), step) for e in run(items[i : i + step])]
        else:
            savepoint.commit()
        successes, failures = _outcomes(objects, errors)
        _stored_versions(db, collection_id, successes)
        row = db.get(TaxiiStatus, status_id)
        if row is None:  # pruned or never created: nothing to report into
            return
        row.status = "complete"
        row.success_count = len(successes)
        row.failure_count = len(failures)
        row.pending_count = 0
        row.successes = orjson.dumps(successes).decode()
        row.failures = orjson.dumps(failures).decode()
        row.pendings = "[]"
        audit.record(
            db,
            actor=actor,
            action="taxii.add_objects",
            target=collection_id,
            details={"status": status_id, "successes": len(successes), "failures": len(failures)},
        )


def _stored_versions(db: Session, collection_id: str, successes: list[dict[str, str]]) -> None:
    """A stored object that states no version (an SCO) gets the one its manifest entry shows,
    the time it was added to the collection: status details require a version (TAXII 2.1 §4.3.1)."""
    unversioned = list({s["id"] for s in successes if not s["version"]})
    added: dict[str, str] = {}
    for i in range(0, len(unversioned), 500):
        stmt = (
            select(StixObject.id, CollectionObject.date_added)
            .join(CollectionObject, CollectionObject.object_seq == StixObject.seq)
            .where(
                CollectionObject.collection_id == collection_id,
                StixObject.id.in_(unversioned[i : i + 500]),
                StixObject.is_latest == true(),
            )
        )
        added.update({oid: str(when) for oid, when in db.execute(stmt)})
    for item in successes:
        if not item["version"]:
            item["version"] = added.get(item["id"], "")


def fail_status(database: Database, *, status_id: str, objects: Sequence[Any]) -> None:
    """Complete a status whose processing crashed: nothing was stored, every object failed."""
    failures = [
        {"id": i, "version": v, "message": "the server could not process this envelope"}
        for i, v in envelope_versions(objects)
    ]
    with database.unit_of_work() as db:
        row = db.get(TaxiiStatus, status_id)
        if row is not None:
            row.status = "complete"
            row.success_count = 0
            row.failure_count = len(failures)
            row.pending_count = 0
            row.failures = orjson.dumps(failures).decode()
            row.pendings = "[]"


def get_status(db: Session, *, actor: Actor, api_root: str, status_id: str) -> TaxiiStatus:
    row = db.get(TaxiiStatus, status_id)
    if row is None or row.api_root != api_root:
        raise NotFound(f"status {status_id} not found")
    if not actor.is_operator and row.organisation_id != actor.org_id:
        raise NotFound(f"status {status_id} not found")  # another organisation's upload is not disclosed
    return row


def status_resource(row: TaxiiStatus) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id,
        "status": row.status,
        "request_timestamp": row.request_timestamp,
        "total_count": row.total_count,
        "success_count": row.success_count,
        "failure_count": row.failure_count,
        "pending_count": row.pending_count,
    }
    for name in ("successes", "failures", "pendings"):
        items = orjson.loads(getattr(row, name))
        if items:
            body[name] = items
    return body


def delete_object(
    db: Session, *, actor: Actor, collection: Collection, object_id: str, filters: Filters
) -> int:
    """Remove the matching versions from the collection (the store keeps them); only their owner may."""
    viewer = queries.recipient_for_org(db, actor.org_id)
    try:
        page = queries.list_objects(
            db,
            viewer=viewer,
            collection_id=collection.id,
            ids=[object_id],
            versions=filters.versions or ["all"],
            spec_versions=filters.spec_versions,
            limit=100_000,
        )
    except InvalidInput as exc:
        raise BadRequest(exc.message) from None
    if not page.rows:
        raise NotFound(f"object {object_id} not found in collection {collection.id}")
    if not actor.is_operator and any(r.owner_org_id != actor.org_id for r in page.rows):
        raise Forbidden(f"{object_id}: only the owning organisation may delete it from a collection")
    seqs = [r.seq for r in page.rows]
    db.execute(
        delete(CollectionObject).where(
            CollectionObject.collection_id == collection.id, CollectionObject.object_seq.in_(seqs)
        )
    )
    audit.record(
        db, actor=actor, action="taxii.delete_object", target=object_id,
        details={"collection": collection.id, "versions": len(seqs)},
    )  # fmt: skip
    return len(seqs)
