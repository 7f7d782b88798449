"""The one outbox: every e-mail, webhook and (later) peer push the node sends.

A domain change queues its effects with ``put`` in its own transaction, so they exist
exactly when the change does; workers (``deliver_due``, via ``make_poller``) send
them outside any request or transaction with an idempotency key, the one signature
(``signing``) and the one outbound client, retrying with backoff until delivered or
dead (visible to the organisation's admins, who can retry).

In-app notifications are not outbox rows.  A ``crisis_notification`` row is the
inbox itself: writing it in the change's transaction *is* its delivery (nothing
leaves the node, nothing can fail later, every API worker reads it at once), so a
worker materialising it later would only add latency and a window in which the
change is visible but its notice is not.  What leaves the node (its e-mail copy, the
organisation's webhooks) goes through the outbox.

    models.py     the outbox_message table, channels and states
    service.py    put (in the caller's transaction), list and retry for admins
    delivery.py   deliver_due: claim with a lease, send, back off, dead-letter
    senders.py    webhook and e-mail senders, make_poller for the job runner
    signing.py    X-Colsec-Signature: sign and verify
"""

from __future__ import annotations

from colsec.outbox.delivery import Claimed, DeliveryFailed, RetryPolicy, Sender, deliver_due
from colsec.outbox.models import Channel, OutboxMessage, Status
from colsec.outbox.senders import make_poller
from colsec.outbox.service import Outgoing, list_messages, put, retry

__all__ = [
    "Channel",
    "Claimed",
    "DeliveryFailed",
    "OutboxMessage",
    "Outgoing",
    "RetryPolicy",
    "Sender",
    "Status",
    "deliver_due",
    "list_messages",
    "make_poller",
    "put",
    "retry",
]
