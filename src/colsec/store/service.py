"""Adding STIX objects: the one write gate; validated, bounded, deduplicated, versioned, indexed.

``import_objects`` is the only inserter of object rows (its row writer,
``colsec.store.inserts``, runs after the rules, from its batch step ``colsec.store.batches``; a
test scans the source for others), so the rules in ``colsec.store.gate`` (limits, clock skew, owner, origin,
markings never widening) hold for every path that writes objects.  It streams: it
consumes any iterable of dicts in batches, so a bundle of a million objects never
sits in memory.  The caller owns the transaction; when any object is refused the
whole call raises and the caller rolls back, so nothing of the unit is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor, Role
from colsec.db import lock_for_append
from colsec.errors import InvalidInput, StixValidationError, TooLarge
from colsec.gcpause import release_free_memory, young_gc_only
from colsec.gcpause import tick as gc_tick
from colsec.stix.tlp import TLP, marking_id, tlp_of
from colsec.stix.validate import ObjectFacts, validate_object
from colsec.store import audit
from colsec.store.batches import Batch, Unit, store_batch
from colsec.store.gate import (
    Lookup,
    WriteLimits,
    Writer,
    any_held,
    group_claim,
    limit_problem,
    local_org_ids,
)
from colsec.store.models import EXERCISE_RUN, StixObject
from colsec.store.policy import GROUP_PROPERTY, restricted_tlp
from colsec.store.publishing import include_new
from colsec.store.results import MAX_REPORTED_ERRORS, ImportResult, add_error, raw_version, twice
from colsec.store.rows import Clock as _Clock
from colsec.store.rows import driver_cursor, sqlite_cursor
from colsec.store.seen import SeenVersions, UnitIds, body_digest, version_key
from colsec.store.writebehind import WriteBehind

__all__ = [
    "BATCH_SIZE",
    "MAX_REPORTED_ERRORS",
    "POST_IMPORT",
    "ImportResult",
    "PostImportStep",
    "WriteLimits",
    "import_objects",
]

BATCH_SIZE = 1000
# Young containers piled up before a batch's end collects them (``colsec.gcpause.tick``): a
# quarter of a million, tens of MB should every one be cyclic garbage; an import's batches make
# next to none, so they mostly run with no collection at all.
YOUNG_GC_AT = 250_000

# Called as step(db, inserted seqs) at the end of every import, inside its transaction, so
# derived data (correlation, scores, exposure) lands atomically with the objects.  The node
# (``colsec.node``) puts its steps in the info of every session its database opens, under this
# key: no entry point can import without them, and two nodes in one process never share them.
# A step that leaves this import's derived data to a job returns the job's id: the import
# reports it (``ImportResult.follow_up_jobs``), so its page can say that work is still pending.
PostImportStep = Callable[[Session, Sequence[int]], str | None]
POST_IMPORT = "post_import"


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
    limits: WriteLimits | None = None,
    declassify: bool = False,
    facts_for: Callable[[Mapping[str, Any]], ObjectFacts | None] | None = None,
) -> ImportResult:
    """Validate and store objects as one unit; raise listing every refused object.

    Writes by a ``peer`` account (TAXII push, sync) are received writes: their owner
    claims and versions are checked against the peer (``colsec.store.gate``).
    ``keep_going`` stores the valid objects and reports the refused ones instead of
    refusing the unit (TAXII POST semantics: per-object success and failure).
    ``declassify`` lets the owner publish a version with a wider marking (audited).
    ``limits`` come from the node's settings (``WriteLimits.from_settings``); the
    defaults are the settings' defaults.  ``facts_for`` gives the facts of an object its producer
    built in a shape proven valid (``colsec.formats.misp_facts``), None to validate it here; the
    write gate's checks run on every object either way.
    """
    behind = WriteBehind()
    try:
        with young_gc_only():
            return _import_objects(
                db, actor=actor, objects=objects, owner_org_id=owner_org_id, default_tlp=default_tlp,
                collection_ids=collection_ids, recipient_org_ids=recipient_org_ids,
                sharing_group_id=sharing_group_id, origin=origin, progress=progress, keep_going=keep_going,
                limits=limits or WriteLimits(), declassify=declassify, behind=behind, facts_for=facts_for,
            )  # fmt: skip
    finally:
        behind.close()  # no statement outlives the call, whatever it raised


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
    limits: WriteLimits,
    declassify: bool,
    behind: WriteBehind,
    facts_for: Callable[[Mapping[str, Any]], ObjectFacts | None] | None = None,
) -> ImportResult:
    received = actor.role is Role.PEER
    writer = Writer(
        owner_org_id=owner_org_id if owner_org_id is not None else actor.org_id,
        received=received,
        sender_org_id=actor.org_id if received else None,
        origin=origin,
        declassify=declassify and not received,
        local_org_ids=local_org_ids(db) if received else frozenset(),
    )
    lock_for_append(db)
    unit = Unit(
        actor, writer, _Clock(db), Lookup(db), collection_ids, recipient_org_ids, sharing_group_id, keep_going,
        behind,
    )  # fmt: skip
    result = ImportResult()
    seen = SeenVersions()
    batch: Batch = []
    batch_keys: list[tuple[bytes, bytes]] = []  # (version key, body digest) of each batch entry
    failed = False
    claim = group_claim(db, sharing_group_id) if sharing_group_id is not None else None
    horizon = limits.horizon()
    # A body no longer than both byte caps, with timestamps before the horizon, breaks no limit:
    # ``limit_problem`` is asked only about the others.
    plain_size = min(limits.max_object_bytes, limits.max_string_length)
    max_objects = limits.max_objects_per_unit
    # SQLite and PostgreSQL: a full batch waits for the next one while the writer thread finds
    # whether any of its ids is stored (``any_held``, after the rows before it): a fresh import's
    # lookups leave the main thread.  Elsewhere (the session's lookups) a batch is stored when full.
    probe_cur = sqlite_cursor(db) or (
        driver_cursor(db) if db.get_bind().dialect.name == "postgresql" else None
    )
    # Into a store that held no object (under the append lock), only this unit's own ids can be
    # held; into one that held few (a new node's own organisations), those and the unit's own:
    # read once the unit fills a batch (a unit of one batch looks its ids up once anyway).
    empty = db.execute(select(StixObject.seq).limit(1)).first() is None
    unit_ids = UnitIds() if empty else None
    ids_read = empty
    waiting: tuple[Batch, Future[bool]] | None = None

    def flush() -> None:
        nonlocal failed, waiting, unit_ids, ids_read
        # Repeats of versions received long before (spilled out of the recent ones) leave the batch here.
        older = seen.older([k for k, _ in batch_keys])
        if any(p is not None for p in older):
            kept = []
            for entry, (_, digest), prior in zip(batch, batch_keys, older, strict=True):
                if prior is None:
                    kept.append(entry)
                elif prior != digest:
                    failed = True
                    add_error(result, entry[1].id, twice(entry[1].id), entry[1].modified)
                else:
                    result.unchanged += 1
            batch[:] = kept
        if waiting is not None and (keep_going or not failed):
            store_batch(db, unit, *waiting, result)
        waiting = None
        if batch and (keep_going or not failed):
            ids = [entry[1].id for entry in batch]
            if not ids_read and not behind.inline:
                ids_read = True
                behind.drain()  # none submitted yet: no batch of the unit has been stored
                unit_ids = few_stored_ids(db)
            answered = unit_ids.answer(ids) if unit_ids is not None else None
            if probe_cur is not None and not behind.inline:
                waiting = (list(batch), answered or behind.submit(any_held, probe_cur, ids))
            else:
                store_batch(db, unit, batch, answered, result)
        batch.clear()
        batch_keys.clear()
        seen.spill()
        gc_tick(grown=YOUNG_GC_AT)

    for obj in objects:
        result.received += 1
        if result.received > max_objects:
            raise TooLarge(f"more than {max_objects} objects in one unit; nothing was imported")
        try:
            built = facts_for(obj) if facts_for is not None else None
            facts = built if built is not None else validate_object(obj)
        except StixValidationError as exc:
            failed = True
            add_error(result, exc.object_id, exc.message, raw_version(obj))
            continue
        body_obj = dict(obj)
        level = tlp_of(body_obj)
        if level is None and facts.type != "marking-definition":
            body_obj["object_marking_refs"] = [
                *body_obj.get("object_marking_refs", []),
                marking_id(default_tlp),
            ]
            level = default_tlp
        if "granular_markings" in body_obj:  # they restrict the whole row (colsec.store.policy)
            level = restricted_tlp(body_obj, level)
        if claim is not None and GROUP_PROPERTY not in body_obj and facts.type != "marking-definition":
            body_obj[GROUP_PROPERTY] = claim  # the restriction travels with the object to peers
        body = orjson.dumps(body_obj, option=orjson.OPT_SORT_KEYS)
        if len(body) > plain_size or facts.modified > horizon or (facts.created or "") > horizon:
            problem = limit_problem(facts, body, body_obj, limits, horizon)
            if problem is not None:
                failed = True
                add_error(result, facts.id, problem, facts.modified)
                continue
        key, digest = version_key(facts.id, facts.modified), body_digest(body)
        prior = seen.recent(key, digest)
        if prior is not None:
            if prior != digest:
                failed = True
                add_error(result, facts.id, twice(facts.id), facts.modified)
            else:
                result.unchanged += 1
            continue
        # The text the row stores; the bytes go now (a grouping of every object is ~37 MB).
        batch.append((body_obj, facts, body.decode(), TLP.AMBER if level is None else level))
        batch_keys.append((key, digest))
        del body
        if len(batch) >= BATCH_SIZE:
            flush()
            if progress is not None:
                progress(result.received)
    obj = body_obj = {}  # the last object may be a grouping of every id: not held while it is written
    behind.inline = True  # nothing left to overlap the last batch with
    if result.received > BATCH_SIZE:
        # A large unit's last batch may hold its grouping of every id, a row the driver copies
        # twice more (74 MB at 700,000 ids): the heap the earlier batches freed goes back first.
        behind.drain()
        release_free_memory()
    flush()
    behind.drain()
    result.settle()
    if progress is not None:
        progress(result.received)
    if failed and not keep_going:
        n = len(result.errors)
        first = result.errors[0]["message"] if result.errors else "invalid objects"
        raise InvalidInput(
            f"{n} invalid object(s); nothing was imported. First: {first}",
            details={"errors": result.errors, "received": result.received},
        )
    # An exercise run's objects (stamped in ``_insert_rows``) join no collection and feed no derived
    # data: correlation, scores, matching and peer pushes only ever see real objects.
    if result.inserted_seqs and not db.info.get(EXERCISE_RUN):
        include_new(db, result.inserted_seqs)  # filter collections publish what matches
        steps: Sequence[PostImportStep] = db.info.get(POST_IMPORT, ())
        for step in steps:
            job_id = step(db, result.inserted_seqs)
            if job_id is not None:
                result.follow_up_jobs.append(job_id)
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


#: A store of at most this many versions has its ids read once by an import that fills a batch,
#: in place of a probe of its index for every batch (3 s of the writer thread's 23 s in a
#: 200,000-attribute MISP event into a new node, which holds its organisations' identities).
FEW_STORED = 10_000


def few_stored_ids(db: Session) -> UnitIds | None:
    """The ids of a store holding at most ``FEW_STORED`` versions, None for a larger one."""
    ids = db.execute(select(StixObject.id).limit(FEW_STORED + 1)).scalars().all()
    if len(ids) > FEW_STORED:
        return None
    held = UnitIds()
    held.add(list(ids))
    return held
