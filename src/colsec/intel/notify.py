"""Alert notifications: webhooks signed with HMAC-SHA256, sent after commit, only to configured URLs.

Deliveries are queued (``alert_delivery``) in the transaction that raises the alert;
``schedule_after_commit`` sends them from a thread with its own unit of work once
that transaction has committed, so a rolled-back import never notifies anyone.
The payload is rendered for the webhook's organisation through the sharing policy.
Only the organisation's admin or the node operator manages webhooks.  Redirects are
not followed; non-global targets are refused unless the operator's outbound
allow-list names them (``colsec.outbound``), at registration and at every send.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import orjson
from sqlalchemy import Engine, event, select, update
from sqlalchemy.orm import Session, sessionmaker

from colsec.accounts.roles import Actor
from colsec.errors import Forbidden, InvalidInput, NotFound
from colsec.intel.alerts import PENDING_KEY, alert_for
from colsec.intel.models import AlertDelivery, Webhook
from colsec.outbound import DENY_ALL, OutboundPolicy, guarded_client
from colsec.stix.ids import now_timestamp
from colsec.store import audit

__all__ = [
    "SIGNATURE_HEADER",
    "create_webhook",
    "delete_webhook",
    "deliver_pending",
    "list_webhooks",
    "schedule_after_commit",
    "sign",
]

SIGNATURE_HEADER = "X-Colsec-Signature"
TIMESTAMP_HEADER = "X-Colsec-Timestamp"
MAX_ATTEMPTS = 5


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` over ``timestamp + "." + body`` (the timestamp defeats replays)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


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


def deliver_pending(
    engine: Engine,
    *,
    outbound: OutboundPolicy = DENY_ALL,
    timeout: float = 5.0,
    client: httpx.Client | None = None,
) -> int:
    """Send every pending delivery; returns how many succeeded.  Each runs in its own transaction."""
    factory = sessionmaker(engine, expire_on_commit=False)
    sent = 0
    with factory() as db:
        pending = db.execute(
            select(
                AlertDelivery.id,
                AlertDelivery.alert_id,
                Webhook.id,
                Webhook.url,
                Webhook.secret,
                Webhook.organisation_id,
            )
            .join(Webhook, Webhook.id == AlertDelivery.webhook_id)
            .where(AlertDelivery.status == "pending", Webhook.active.is_(True))
            .order_by(AlertDelivery.id)
        ).all()
        payloads = {}
        for did, alert_id, _wid, _url, _secret, org_id in pending:
            payloads[did] = orjson.dumps(
                {"event": "alert", "alert": alert_for(db, org_id=org_id, alert_id=alert_id).to_dict()}
            )
    own = client is None
    http = client or guarded_client(outbound, timeout=timeout)
    try:
        for did, _alert_id, _wid, url, secret, _org in pending:
            with factory() as db, db.begin():  # claim it: a concurrent sender skips it
                claimed = db.execute(
                    update(AlertDelivery)
                    .where(AlertDelivery.id == did, AlertDelivery.status == "pending")
                    .values(status="sending")
                )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                continue
            body = payloads[did]
            ts = str(int(datetime.now(UTC).timestamp()))
            error: str | None = None
            try:
                outbound.check_url(url)
                resp = http.post(
                    url,
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        SIGNATURE_HEADER: sign(secret, ts, body),
                        TIMESTAMP_HEADER: ts,
                    },
                )
                if resp.status_code >= 300:
                    error = f"HTTP {resp.status_code}"
            except (httpx.HTTPError, InvalidInput) as exc:
                error = str(exc)[:500] or type(exc).__name__
            with factory() as db, db.begin():
                if error is None:
                    sent += 1
                    db.execute(
                        update(AlertDelivery)
                        .where(AlertDelivery.id == did)
                        .values(
                            status="sent",
                            attempts=AlertDelivery.attempts + 1,
                            sent_at=now_timestamp(),
                            last_error=None,
                        )
                    )
                else:
                    db.execute(
                        update(AlertDelivery)
                        .where(AlertDelivery.id == did)
                        .values(status="pending", attempts=AlertDelivery.attempts + 1, last_error=error)
                    )
                    db.execute(
                        update(AlertDelivery)
                        .where(AlertDelivery.id == did, AlertDelivery.attempts >= MAX_ATTEMPTS)
                        .values(status="failed")
                    )
    finally:
        if own:
            http.close()
    return sent


def schedule_after_commit(db: Session, sender: Callable[[Engine], object] | None = None) -> None:
    """When the session has queued deliveries, send them in a thread once it commits."""
    from colsec.intel.hooks import INFO_KEY

    cfg = db.info.get(INFO_KEY)  # the node's IntelConfig; absent outside a node: nothing is sent
    if (
        cfg is None
        or not cfg.send_webhooks
        or not db.info.get(PENDING_KEY)
        or db.info.get("intel_delivery_hooked")
    ):
        return
    db.info["intel_delivery_hooked"] = True
    engine = db.get_bind()
    assert isinstance(engine, Engine)
    outbound = cfg.outbound
    run = sender or (lambda e: deliver_pending(e, outbound=outbound))

    def after_commit(session: Session) -> None:
        session.info.pop(PENDING_KEY, None)
        session.info.pop("intel_delivery_hooked", None)
        threading.Thread(target=run, args=(engine,), name="colsec-webhooks", daemon=True).start()

    def after_rollback(session: Session) -> None:
        session.info.pop(PENDING_KEY, None)
        session.info.pop("intel_delivery_hooked", None)
        if event.contains(session, "after_commit", after_commit):
            event.remove(session, "after_commit", after_commit)

    event.listen(db, "after_commit", after_commit, once=True)
    event.listen(db, "after_rollback", after_rollback, once=True)
