"""Outgoing deliveries for admins (what waits, what died and why, a retry) and the webhook register."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from colsec.outbox import list_messages, retry, webhooks
from colsec.outbox.schemas import OutboxMessageOut, WebhookIn, WebhookOut
from colsec.web.deps import ActorDep, DbDep
from colsec.web.node import NodeDep
from colsec.web.params import IdPath

__all__ = ["router", "webhooks_router"]

router = APIRouter(prefix="/api/v1/outbox", tags=["outbox"])
webhooks_router = APIRouter(prefix="/api/v1/webhooks", tags=["outbox"])


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


@webhooks_router.get("", response_model=list[WebhookOut])
def list_webhooks(db: DbDep, actor: ActorDep) -> Any:
    """The organisation's endpoints, whatever their topics (its admin or the node operator)."""
    return webhooks.list_webhooks(db, actor=actor)


@webhooks_router.post("", response_model=WebhookOut, status_code=201)
def create_webhook(db: DbDep, node: NodeDep, actor: ActorDep, data: WebhookIn) -> Any:
    """Register an endpoint for the listed topics (``alerts``, ``crisis``; all by default)."""
    return webhooks.create_webhook(
        db, actor=actor, url=str(data.url), secret=data.secret, topics=data.topics, outbound=node.outbound
    )


@webhooks_router.delete("/{webhook_id}", status_code=204)
def delete_webhook(db: DbDep, actor: ActorDep, webhook_id: IdPath) -> None:
    webhooks.delete_webhook(db, actor=actor, webhook_id=webhook_id)
