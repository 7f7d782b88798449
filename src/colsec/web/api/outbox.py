"""Outgoing deliveries for admins: what waits, what died and why, and a retry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from colsec.outbox import list_messages, retry
from colsec.outbox.schemas import OutboxMessageOut
from colsec.web.deps import ActorDep, DbDep
from colsec.web.params import IdPath

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/outbox", tags=["outbox"])


@router.get("", response_model=list[OutboxMessageOut])
def list_outbox(
    db: DbDep,
    actor: ActorDep,
    status: Annotated[str | None, Query(description="pending, sending, delivered or dead")] = None,
    before_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """The caller's organisation's deliveries (every one for the node operator), newest first."""
    return list_messages(db, actor=actor, status=status, before_id=before_id, limit=limit)


@router.post("/{message_id}/retry", response_model=OutboxMessageOut)
def retry_outbox(message_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    """Queue a dead delivery again, due now, with a fresh attempt budget."""
    return retry(db, actor=actor, message_id=message_id)
