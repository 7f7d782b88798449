"""Tamper-evident audit log: each row's hash covers the previous row's hash.

Writers append under the same lock that orders ``seq`` so the chain never forks;
``verify`` recomputes the chain and reports the first broken row, and compares it
with the signed checkpoints of ``audit_anchor`` so a deleted or rewritten tail shows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.db import lock_for_append
from colsec.stix.ids import now_timestamp
from colsec.store.audit_anchor import AuditAnchor, Checkpoint
from colsec.store.models import AuditEntry

__all__ = ["GENESIS", "VerifyResult", "entries", "record", "verify", "verify_anchored"]

GENESIS = "0" * 64


def _digest(prev: str, at: str, actor: str, org: str | None, action: str, target: str, details: str) -> str:
    payload = orjson.dumps([prev, at, actor, org, action, target, details])
    return hashlib.sha256(payload).hexdigest()


def entries(
    db: Session,
    *,
    organisation: str | None,
    action: str = "",
    actor: str = "",
    before: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """The newest rows first, for the administration page: every organisation's for the node
    operator (``organisation`` None), else those done by one organisation's people.  ``action`` is
    a prefix (``crisis.``), ``actor`` a username; ``before`` pages on by id."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(min(max(limit, 1), 500))
    if organisation is not None:
        stmt = stmt.where(AuditEntry.organisation == organisation)
    if action:
        escaped = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(AuditEntry.action.like(escaped + "%", escape="\\"))
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if before is not None:
        stmt = stmt.where(AuditEntry.id < before)
    return list(db.execute(stmt).scalars())


def record(
    db: Session, *, actor: Actor, action: str, target: str = "", details: dict[str, Any] | None = None
) -> AuditEntry:
    """Append one audit row in the caller's transaction."""
    lock_for_append(db)
    last = db.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    anchor = db.info.get("audit_anchor")
    if isinstance(anchor, AuditAnchor):
        txn = db.get_transaction()
        # Before this transaction's first row the head is committed state: only then anchor it.
        anchor.before_append(db, first_in_transaction=db.info.get("audit_txn") is not txn)
        db.info["audit_txn"] = txn
    prev = last or GENESIS
    at = now_timestamp()
    details_text = orjson.dumps(details or {}, option=orjson.OPT_SORT_KEYS).decode()
    entry = AuditEntry(
        at=at,
        actor=actor.username,
        organisation=actor.org_short_name,
        action=action,
        target=target[:250],
        details=details_text,
        prev_hash=prev,
        hash=_digest(prev, at, actor.username, actor.org_short_name, action, target[:250], details_text),
    )
    db.add(entry)
    db.flush()
    return entry


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    rows: int
    problem: str | None = None
    row_id: int | None = None
    checkpoints: int = 0


def verify(db: Session, *, checkpoints: Sequence[Checkpoint] = ()) -> VerifyResult:
    """Recompute the chain; every checkpoint must name a row that is still there, with the same
    hash and the same number of rows up to it, else the tail was cut or rewritten."""
    pending = sorted(checkpoints, key=lambda c: (c.last_id, c.rows))
    i = 0
    anchored: Checkpoint | None = None  # latest checkpoint confirmed so far
    prev = GENESIS
    n = 0
    last_id = 0
    for row in db.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().yield_per(2000):
        n += 1
        # Ids may have gaps (rolled-back transactions consume sequence values on PostgreSQL),
        # so a deleted row shows as the next row no longer chaining to its predecessor.
        if row.prev_hash != prev:
            return VerifyResult(
                False, n, f"row {row.id} does not follow the previous row (deleted row?)", row.id, i
            )
        digest = _digest(prev, row.at, row.actor, row.organisation, row.action, row.target, row.details)
        if digest != row.hash:
            return VerifyResult(False, n, f"row {row.id} was altered", row.id, i)
        while i < len(pending) and pending[i].last_id <= row.id:
            cp = pending[i]
            if cp.last_id < row.id or cp.last_hash != row.hash or cp.rows != n:
                return VerifyResult(False, n, _rewritten(cp, anchored), cp.last_id, i)
            anchored = cp
            i += 1
        prev = row.hash
        last_id = row.id
    if i < len(pending):
        cp = max(pending[i:], key=lambda c: (c.rows, c.last_id))
        missing = max(cp.rows - n, 1)
        after = f"after id {last_id}" if last_id else "(the log is empty)"
        return VerifyResult(
            False,
            n,
            f"{missing:,} rows {after} missing; checkpoint of {cp.at} expected {cp.rows:,} rows "
            f"ending at id {cp.last_id} with hash {cp.last_hash}",
            cp.last_id,
            i,
        )
    return VerifyResult(True, n, checkpoints=i)


def _rewritten(cp: Checkpoint, anchored: Checkpoint | None) -> str:
    since = f"after id {anchored.last_id}" if anchored else "from the first row"
    return (
        f"row {cp.last_id} differs from the checkpoint of {cp.at} (expected {cp.rows:,} rows up to it, "
        f"hash {cp.last_hash}): the chain was rewritten {since}"
    )


def verify_anchored(db: Session, anchor: AuditAnchor, *, extra: Sequence[Checkpoint] = ()) -> VerifyResult:
    """``verify`` against the node's own checkpoints plus ``extra`` (copies kept by peers).

    A forged checkpoint, or a non-empty log that no checkpoint anchors, is a failure too:
    deleting the checkpoint file must not turn the tail check off.
    """
    found, problems = anchor.read(extra)
    result = verify(db, checkpoints=found)
    if not result.ok:
        return result
    if problems:
        return VerifyResult(False, result.rows, problems[0], None, result.checkpoints)
    if result.rows and not found:
        return VerifyResult(
            False,
            result.rows,
            f"no checkpoint anchors the chain head ({anchor.path} is missing or empty); "
            "run 'colsec audit checkpoint' to anchor the current head if this is expected",
            None,
        )
    return result
