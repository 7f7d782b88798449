"""One batch of an import through the write gate: decided, then handed to the writer thread.

A batch's decisions read the store (the versions held, their recipients and bodies) only when
one of its ids may be stored.  When none can be (``UnitIds`` answered, or the writer thread's
probe already has) and every id not held is a plain write (``unheld``), the batch is decided
before the batch ahead of it is drained: the writer thread goes on writing that batch meanwhile,
instead of idling while this thread decides (a tenth of a million-indicator import's wall time).
Everything that touches the session still waits for the drain.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.errors import Forbidden
from colsec.stix.tlp import TLP
from colsec.stix.validate import ObjectFacts
from colsec.store import audit
from colsec.store.companions import indexed_body
from colsec.store.gate import (
    Decision,
    Held,
    Lookup,
    Verdict,
    Writer,
    decide,
    held_versions,
    record_co_holders,
    unheld,
)
from colsec.store.inserts import Target, insert_rows
from colsec.store.results import ImportResult, add_error
from colsec.store.rows import Clock
from colsec.store.writebehind import WriteBehind

__all__ = ["Batch", "Unit", "store_batch"]

#: (body, facts, body text, TLP) of each object of a batch, in the order received
Batch = list[tuple[dict[str, Any], ObjectFacts, str, TLP]]


@dataclass
class Unit:
    """What every batch of one call shares."""

    actor: Actor
    writer: Writer
    clock: Clock
    look: Lookup
    collection_ids: Sequence[str]
    recipient_org_ids: Sequence[int]
    sharing_group_id: int | None
    keep_going: bool
    behind: WriteBehind  # the writer thread: drained before each use of the session


@dataclass
class _Decided:
    """A batch's rows and what goes beside them."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    by_key: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    recipients: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    stated: dict[tuple[str, str], tuple[tuple[str, str], ...]] = field(default_factory=dict)
    co_holds: dict[tuple[int, int], str] = field(default_factory=dict)
    widened: list[tuple[ObjectFacts, Held, Decision, int]] = field(default_factory=list)
    held_ids: set[str] = field(default_factory=set)


def store_batch(
    db: Session, unit: Unit, batch: Batch, stored: Future[bool] | None, result: ImportResult
) -> None:
    """``stored``: whether any id of the batch is stored, asked on the writer thread or answered
    by the unit's own ids (None: ask here)."""
    fresh = unheld(unit.writer, unit.sharing_group_id)  # most of an import: ids not held yet
    if fresh is not None and stored is not None and stored.done() and not stored.result():
        unit.look.prefetch(())  # no body to compare: none is held
        decided = _decide(unit, batch, {}, {}, {}, fresh, result)
        unit.behind.drain()  # the rows before are in; the session is this thread's again
    else:
        unit.behind.drain()  # the previous batch's rows are in: the lookups below see them
        if stored is not None and not stored.result():
            held: dict[str, Held] = {}
            known: dict[tuple[str, str], int] = {}
        else:
            held, known = held_versions(db, list({facts.id for _, facts, _, _ in batch}))
        inherited = unit.look.recipients(h.seq for h in held.values()) if held else {}
        owner = unit.writer.owner_org_id
        unit.look.prefetch(
            [h.seq for h in held.values() if h.owner_org_id != owner]
            + [seq for (oid, _), seq in known.items() if held[oid].owner_org_id != owner]
        )
        decided = _decide(unit, batch, held, known, inherited, fresh, result)
    record_co_holders(db, decided.co_holds, result)
    if decided.rows:
        target = Target(unit.collection_ids, decided.recipients, decided.held_ids, decided.stated, unit.clock)
        insert_rows(db, decided.rows, decided.by_key, target, result, unit.behind)
    if decided.widened:
        unit.behind.drain()  # the audit below goes through the session
    for facts, prev, d, new_tlp in decided.widened:
        audit.record(
            db,
            actor=unit.actor,
            action="stix.declassify",
            target=facts.id,
            details={
                "modified": facts.modified,
                "tlp": [prev.tlp, new_tlp],
                "sharing_group": [prev.sharing_group_id, d.sharing_group_id],
            },
        )


def _decide(
    unit: Unit,
    batch: Batch,
    held: dict[str, Held],
    known: dict[tuple[str, str], int],
    inherited: dict[int, set[int]],
    fresh: Decision | None,
    result: ImportResult,
) -> _Decided:
    """The gate's decision on each object of ``batch`` (emptied: its objects are in the rows
    now), given the versions ``held`` of its ids; ``decide`` reads the store only for those."""
    out = _Decided(held_ids=set(held))
    rows, by_key, recipients, stated = out.rows, out.by_key, out.recipients, out.stated
    named = frozenset(unit.recipient_org_ids)
    for body_obj, facts, body, level in batch:
        prev = held.get(facts.id)
        if prev is None and fresh is not None:
            d = fresh  # a plain write, widening nothing
        else:
            d = decide(
                unit.writer, facts=facts, obj=body_obj, level=int(level), group_id=unit.sharing_group_id,
                held=prev, known_seq=known.get((facts.id, facts.modified)), look=unit.look,
            )  # fmt: skip
            if d.verdict is Verdict.REFUSE:
                if not unit.keep_going:
                    raise Forbidden(d.message)
                add_error(result, facts.id, d.message, facts.modified)
                continue
            if d.verdict is Verdict.CO_HOLD and d.seq is not None and d.owner_org_id is not None:
                out.co_holds.setdefault((d.seq, d.owner_org_id), facts.type)
                continue
            if d.verdict is Verdict.SAME:
                result.unchanged += 1
                continue
            if d.verdict is not Verdict.WRITE:  # answered like a fresh write; nothing to record
                result.inserted += 1
                result.by_type[facts.type] += 1
                continue
            if d.widens and prev is not None:
                out.widened.append((facts, prev, d, int(level)))
        rows.append((  # in OBJECT_COLUMNS order
            facts.id, facts.type, facts.spec_version, facts.created, facts.modified, facts.created_by_ref,
            d.owner_org_id, int(level), d.sharing_group_id, facts.revoked, True, unit.clock.next(),
            unit.writer.origin, body,
        ))  # fmt: skip
        by_key[(facts.id, facts.modified)] = indexed_body(body_obj)
        if facts.observables is not None:
            stated[(facts.id, facts.modified)] = facts.observables
        # Recipients named by the caller are the version's audience (it may narrow); naming none
        # keeps the latest version's (revocation, edits), so none is dropped silently.
        audience = named or (inherited.get(prev.seq) if prev is not None else None)
        if audience:  # none named and none inherited: no entry (read as none)
            recipients[(facts.id, facts.modified)] = set(audience)
    # The batch's objects are in rows and by_key now: a large event's grouping (its object_refs,
    # ~75 MB at 700,000 ids) is let go before its 37 MB row is handed to the database (this
    # frame's last object goes with it on return).
    batch.clear()
    return out
