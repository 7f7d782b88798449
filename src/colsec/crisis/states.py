"""State machines of the crisis domain and the one way to move along them.

A transition is a single conditional ``UPDATE ... WHERE id = :id AND status IN (:allowed)``
that also stamps ``<state>_at``: two concurrent callers cannot both move the same object,
and no state can be skipped.  When the UPDATE matches nothing the current row is read
only to explain the refusal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import update
from sqlalchemy.orm import Session

from colsec.crisis.errors import InvalidTransition
from colsec.errors import NotFound

__all__ = [
    "CRISIS",
    "INCIDENT",
    "OFFER",
    "REQUEST",
    "REQUEST_NO_DECISION",
    "aware",
    "clock",
    "move",
    "now",
]

# target state -> states it may be reached from
INCIDENT: dict[str, tuple[str, ...]] = {
    "triaged": ("reported",),
    "escalated": ("triaged",),
    "closed": ("reported", "triaged"),
}
CRISIS: dict[str, tuple[str, ...]] = {
    "active": ("opened",),
    "stabilising": ("active",),
    "closed": ("stabilising",),
    "reviewed": ("closed",),
}
REQUEST: dict[str, tuple[str, ...]] = {
    "submitted": ("drafted",),
    "in_consultation": ("submitted",),
    "approved": ("in_consultation",),
    "rejected": ("in_consultation",),
    "withdrawn": ("drafted", "submitted", "in_consultation"),
}
# A consultation without a decision hands the request back to the coordinator.
REQUEST_NO_DECISION: dict[str, tuple[str, ...]] = {"submitted": ("in_consultation",)}
OFFER: dict[str, tuple[str, ...]] = {
    "accepted": ("offered",),
    "declined": ("offered",),
    "committed": ("accepted",),
    "deployed": ("committed",),
    "demobilised": ("deployed",),
}

M = TypeVar("M")


# Set only inside ``clock``: a replayed history (the demo's 30 days) stamps its own times.
_AT: ContextVar[datetime | None] = ContextVar("crisis_clock", default=None)


def now() -> datetime:
    return _AT.get() or datetime.now(UTC)


@contextmanager
def clock(at: datetime) -> Iterator[None]:
    """Every crisis verb inside this block happens at ``at`` (a story told after the fact)."""
    token = _AT.set(aware(at))
    try:
        yield
    finally:
        _AT.reset(token)


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything here is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def move(
    db: Session,
    model: type[M],
    obj_id: int,
    *,
    machine: dict[str, tuple[str, ...]],
    to: str,
    label: str,
    at: datetime | None = None,
    values: dict[str, Any] | None = None,
    stamp: bool = True,
) -> M:
    """Move ``model`` row ``obj_id`` to state ``to`` or raise InvalidTransition/NotFound."""
    allowed = machine.get(to)
    if allowed is None:
        raise InvalidTransition(f"{label}: unknown target state {to!r}", kind="unknown_step")
    when = at or now()
    table: Any = model
    stmt = (
        update(table)
        .where(table.id == obj_id, table.status.in_(allowed))
        .values(status=to, **({f"{to}_at": when} if stamp else {}), **(values or {}))
        .execution_options(synchronize_session=False)
    )
    if hasattr(table, "version"):
        stmt = stmt.values(version=table.version + 1)
    result: Any = db.execute(stmt)
    obj = db.get(model, obj_id, populate_existing=True)
    if obj is None:
        raise NotFound(f"{label} not found")
    if result.rowcount != 1:
        current = getattr(obj, "status", "?")
        raise InvalidTransition(
            f"{label} is '{current}'; it can move to '{to}' only from: {', '.join(allowed)}",
            details={"current": current, "target": to, "allowed_from": list(allowed)},
        )
    return obj
