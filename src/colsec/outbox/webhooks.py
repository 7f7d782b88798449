"""The organisations' webhook endpoints: one register for every domain's events.

An endpoint makes the node send requests on its organisation's behalf, so only that
organisation's admin or the node operator manages it.  Non-global targets are refused
unless the operator's outbound allow-list names them (``colsec.outbound``), here at
registration and again at every send.  A domain that raises events asks ``subscribed``
for the active endpoints of the concerned organisations and queues one outbox row per
endpoint (``webhook:<id>``) in its own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.errors import Forbidden, InvalidInput, NotFound
from colsec.outbound import DENY_ALL, OutboundPolicy
from colsec.outbox.models import Topic, Webhook
from colsec.store import audit

__all__ = ["create_webhook", "delete_webhook", "destination", "list_webhooks", "subscribed"]


def _require_manager(actor: Actor) -> int:
    if actor.org_id is None:
        raise InvalidInput("webhooks belong to an organisation")
    if not actor.manages(actor.org_id):
        raise Forbidden("only the organisation's admin or the node operator manages webhooks")
    return actor.org_id


def destination(webhook_id: int) -> str:
    """The outbox destination naming this endpoint."""
    return f"webhook:{webhook_id}"


def create_webhook(
    db: Session,
    *,
    actor: Actor,
    url: str,
    secret: str,
    topics: Iterable[Topic | str] = tuple(Topic),
    outbound: OutboundPolicy = DENY_ALL,
) -> Webhook:
    org_id = _require_manager(actor)
    try:
        wanted = sorted({Topic(t).value for t in topics})
    except ValueError as exc:
        raise InvalidInput(f"unknown webhook topic; known: {', '.join(t.value for t in Topic)}") from exc
    if not wanted:
        raise InvalidInput("a webhook needs at least one topic")
    outbound.check_url(url)
    hook = Webhook(organisation_id=org_id, url=url, secret=secret, topics=wanted, active=True)
    db.add(hook)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="webhook.create",
        target=destination(hook.id),
        details={"url": url, "topics": wanted},
    )
    return hook


def list_webhooks(db: Session, *, actor: Actor) -> list[Webhook]:
    org_id = _require_manager(actor)
    return list(
        db.execute(select(Webhook).where(Webhook.organisation_id == org_id).order_by(Webhook.id)).scalars()
    )


def delete_webhook(db: Session, *, actor: Actor, webhook_id: int) -> None:
    org_id = _require_manager(actor)
    hook = db.get(Webhook, webhook_id)
    if hook is None or hook.organisation_id != org_id:
        raise NotFound(f"webhook {webhook_id} not found")
    db.delete(hook)
    db.flush()
    audit.record(db, actor=actor, action="webhook.delete", target=destination(webhook_id))


def subscribed(db: Session, org_ids: Sequence[int], topic: Topic) -> list[tuple[int, int]]:
    """(endpoint id, organisation id) of the active endpoints of these organisations taking ``topic``."""
    if not org_ids:
        return []
    rows = db.execute(
        select(Webhook.id, Webhook.organisation_id, Webhook.topics)
        .where(Webhook.organisation_id.in_(list(org_ids)), Webhook.active.is_(True))
        .order_by(Webhook.id)
    ).all()
    return [(int(h), int(o)) for h, o, topics in rows if topic.value in (topics or ())]
