"""Alert webhooks: the alert topic of the organisations' one webhook register (``colsec.outbox.webhooks``).

Kept as the intel API's verbs (``/api/v1/intel/webhooks``): an endpoint registered here
receives alerts; ``/api/v1/webhooks`` registers one for any set of topics.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.outbound import DENY_ALL, OutboundPolicy
from colsec.outbox.models import Topic, Webhook
from colsec.outbox.webhooks import create_webhook as _create
from colsec.outbox.webhooks import delete_webhook, list_webhooks

__all__ = ["create_webhook", "delete_webhook", "list_webhooks"]


def create_webhook(
    db: Session, *, actor: Actor, url: str, secret: str, outbound: OutboundPolicy = DENY_ALL
) -> Webhook:
    return _create(db, actor=actor, url=url, secret=secret, topics=[Topic.ALERTS], outbound=outbound)
