"""Alert webhooks: an organisation's endpoints, managed by its admin, only to allowed URLs.

Deliveries are outbox rows written with the alert (``colsec.intel.alerts``) and sent
by the outbox's workers with the one signature (``colsec.outbox.signing``).  Only the
organisation's admin or the node operator manages webhooks.  Non-global targets are
refused unless the operator's outbound allow-list names them (``colsec.outbound``),
here at registration and again at every send.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.errors import Forbidden, InvalidInput, NotFound
from colsec.intel.models import Webhook
from colsec.outbound import DENY_ALL, OutboundPolicy
from colsec.store import audit

__all__ = ["create_webhook", "delete_webhook", "list_webhooks"]


def _require_manager(actor: Actor) -> int:
    """A webhook sends on the organisation's behalf: its admin or the node operator only."""
    if actor.org_id is None:
        raise InvalidInput("webhooks belong to an organisation")
    if not actor.manages(actor.org_id):
        raise Forbidden("only the organisation's admin or the node operator manages webhooks")
    return actor.org_id


def create_webhook(
    db: Session, *, actor: Actor, url: str, secret: str, outbound: OutboundPolicy = DENY_ALL
) -> Webhook:
    _require_manager(actor)
    outbound.check_url(url)
    hook = Webhook(organisation_id=actor.org_id, url=url, secret=secret, active=True)
    db.add(hook)
    db.flush()
    audit.record(db, actor=actor, action="webhook.create", target=f"webhook:{hook.id}", details={"url": url})
    return hook


def list_webhooks(db: Session, *, actor: Actor) -> list[Webhook]:
    _require_manager(actor)
    return list(db.execute(select(Webhook).where(Webhook.organisation_id == actor.org_id)).scalars())


def delete_webhook(db: Session, *, actor: Actor, webhook_id: int) -> None:
    _require_manager(actor)
    hook = db.get(Webhook, webhook_id)
    if hook is None or hook.organisation_id != actor.org_id:
        raise NotFound(f"webhook {webhook_id} not found")
    db.delete(hook)
    db.flush()
    audit.record(db, actor=actor, action="webhook.delete", target=f"webhook:{webhook_id}")
