"""Tamper-evident audit log: each row's hash covers the previous row's hash.

Writers append under the same lock that orders ``seq`` so the chain never forks;
``verify`` recomputes the chain and reports the first broken row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.db import lock_for_append
from colsec.stix.ids import now_timestamp
from colsec.store.models import AuditEntry

__all__ = ["GENESIS", "VerifyResult", "record", "verify"]

GENESIS = "0" * 64


def _digest(prev: str, at: str, actor: str, org: str | None, action: str, target: str, details: str) -> str:
    payload = orjson.dumps([prev, at, actor, org, action, target, details])
    return hashlib.sha256(payload).hexdigest()


def record(
    db: Session, *, actor: Actor, action: str, target: str = "", details: dict[str, Any] | None = None
) -> AuditEntry:
    """Append one audit row in the caller's transaction."""
    lock_for_append(db)
    last = db.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
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


def verify(db: Session) -> VerifyResult:
    prev = GENESIS
    n = 0
    for row in db.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().yield_per(2000):
        n += 1
        # Ids may have gaps (rolled-back transactions consume sequence values on PostgreSQL),
        # so a deleted row shows as the next row no longer chaining to its predecessor.
        if row.prev_hash != prev:
            return VerifyResult(
                False, n, f"row {row.id} does not follow the previous row (deleted row?)", row.id
            )
        digest = _digest(prev, row.at, row.actor, row.organisation, row.action, row.target, row.details)
        if digest != row.hash:
            return VerifyResult(False, n, f"row {row.id} was altered", row.id)
        prev = row.hash
    return VerifyResult(True, n)
