"""Notifications: written in the caller's transaction, delivered after commit.

``notify`` only inserts rows (the in-app notification doubles as the e-mail outbox,
plus one webhook-delivery row per active webhook of the concerned organisations).
``deliver_pending`` runs later in its own unit of work: it claims each row with a
conditional UPDATE (so two deliverers never send the same message twice), sends
the e-mail over SMTP and POSTs webhooks signed with HMAC-SHA256.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation, User
from colsec.accounts.roles import Role
from colsec.crisis.models import Notification, Webhook, WebhookDelivery
from colsec.crisis.states import now
from colsec.db import Database
from colsec.errors import Forbidden, InvalidInput
from colsec.outbound import OutboundPolicy, from_settings, guarded_client
from colsec.settings import Settings

__all__ = [
    "MAX_WEBHOOK_ATTEMPTS",
    "SIGNATURE_HEADER",
    "DeliveryReport",
    "deliver_pending",
    "mark_read",
    "my_notifications",
    "notify",
    "recipients",
    "register_webhook",
    "release_stale_claims",
    "sign",
    "validate_webhook_url",
]

SIGNATURE_HEADER = "X-Colsec-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def recipients(
    db: Session,
    *,
    roles: Iterable[Role],
    org_ids: Iterable[int] | None = None,
    centre: bool = False,
) -> list[int]:
    """Active users holding ``roles`` in ``org_ids`` (or in the crisis centre when ``centre``)."""
    stmt = select(User.id).where(User.is_active, User.role.in_([r.value for r in roles]))
    if centre:
        stmt = stmt.join(Organisation, Organisation.id == User.organisation_id).where(
            Organisation.kind == "crisis_centre"
        )
    elif org_ids is not None:
        ids = list(org_ids)
        if not ids:
            return []
        stmt = stmt.where(User.organisation_id.in_(ids))
    return list(db.execute(stmt.order_by(User.id)).scalars())


def notify(
    db: Session,
    *,
    kind: str,
    subject: str,
    body: str = "",
    target: str = "",
    user_ids: Iterable[int] = (),
    webhook_org_ids: Iterable[int] = (),
    payload: dict[str, Any] | None = None,
) -> int:
    """Queue in-app/e-mail notifications and webhook events; nothing leaves the node here."""
    users = sorted(set(user_ids))
    if users:
        orgs = dict(db.execute(select(User.id, User.organisation_id).where(User.id.in_(users))).all())
        db.add_all(
            Notification(
                user_id=u,
                organisation_id=orgs.get(u),
                kind=kind,
                subject=subject[:250],
                body=body,
                target=target[:120],
            )
            for u in users
        )
    org_ids = sorted(set(webhook_org_ids))
    if org_ids:
        hooks = db.execute(
            select(Webhook.id).where(Webhook.organisation_id.in_(org_ids), Webhook.active)
        ).scalars()
        event = orjson.dumps(
            {"event": kind, "subject": subject, "target": target, "data": payload or {}}
        ).decode()
        db.add_all(WebhookDelivery(webhook_id=h, event=kind, payload=event) for h in hooks)
    db.flush()
    return len(users)


def validate_webhook_url(url: str, *, outbound: OutboundPolicy) -> str:
    """Webhooks go only to http(s) URLs on global addresses, or ones the operator allow-lists."""
    outbound.check_url(url)
    return url


@dataclass
class DeliveryReport:
    emails_sent: int = 0
    emails_failed: int = 0
    emails_skipped: int = 0
    webhooks_sent: int = 0
    webhooks_failed: int = 0


def _send_email(settings: Settings, to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body or subject)
    assert settings.smtp_host is not None
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        smtp.send_message(msg)


MAX_WEBHOOK_ATTEMPTS = 5


def deliver_pending(
    database: Database, settings: Settings, *, limit: int = 200, retry_failed: bool = False
) -> DeliveryReport:
    """Send queued e-mails and webhook events; rows are claimed in one conditional UPDATE first.

    Failed webhooks are retried only when ``retry_failed`` (the ticker), so a dead endpoint
    never slows down the requests that queue new events.
    """
    report = DeliveryReport()
    with database.unit_of_work(write=False) as s:
        mail_ids = list(
            s.execute(
                select(Notification.id)
                .where(Notification.email_status == "pending")
                .order_by(Notification.id)
                .limit(limit)
            ).scalars()
        )
        states = ("pending", "failed") if retry_failed else ("pending",)
        hook_ids = list(
            s.execute(
                select(WebhookDelivery.id)
                .where(WebhookDelivery.status.in_(states), WebhookDelivery.attempts < MAX_WEBHOOK_ATTEMPTS)
                .order_by(WebhookDelivery.id)
                .limit(limit)
            ).scalars()
        )
    if mail_ids:
        _deliver_mail(database, settings, mail_ids, report)
    if hook_ids:
        _deliver_hooks(database, hook_ids, report, states, from_settings(settings))
    return report


def _claim(
    database: Database, model: Any, ids: list[int], column: str, states: tuple[str, ...] = ("pending",)
) -> list[int]:
    """pending (or failed) → sending for the rows nobody else has claimed; returns the ones we got."""
    with database.unit_of_work() as s:
        col = getattr(model, column)
        return list(
            s.execute(
                update(model)
                .where(model.id.in_(ids), col.in_(states))
                .values({column: "sending", "claimed_at": now()})
                .returning(model.id)
            ).scalars()
        )


def _deliver_mail(database: Database, settings: Settings, ids: list[int], report: DeliveryReport) -> None:
    claimed = _claim(database, Notification, ids, "email_status")
    if not claimed:
        return
    with database.unit_of_work(write=False) as s:
        rows = s.execute(
            select(Notification.id, User.email, Notification.subject, Notification.body)
            .join(User, User.id == Notification.user_id)
            .where(Notification.id.in_(claimed))
        ).all()
    results: dict[str, list[int]] = {"sent": [], "skipped": []}
    failed: dict[int, str] = {}
    for nid, email, subject, body in rows:
        if not email or not settings.smtp_host:
            results["skipped"].append(nid)
            continue
        try:
            _send_email(settings, email, subject, body)
            results["sent"].append(nid)
        except (OSError, smtplib.SMTPException) as exc:
            failed[nid] = str(exc)[:500]
    report.emails_sent += len(results["sent"])
    report.emails_skipped += len(results["skipped"])
    report.emails_failed += len(failed)
    with database.unit_of_work() as s:
        for status, done in results.items():
            if done:
                s.execute(update(Notification).where(Notification.id.in_(done)).values(email_status=status))
        for nid, error in failed.items():
            s.execute(
                update(Notification)
                .where(Notification.id == nid)
                .values(email_status="failed", email_error=error)
            )


def _deliver_hooks(
    database: Database,
    ids: list[int],
    report: DeliveryReport,
    states: tuple[str, ...],
    outbound: OutboundPolicy,
) -> None:
    claimed = _claim(database, WebhookDelivery, ids, "status", states)
    if not claimed:
        return
    with database.unit_of_work(write=False) as s:
        rows = s.execute(
            select(WebhookDelivery.id, Webhook.url, Webhook.secret, WebhookDelivery.payload)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(WebhookDelivery.id.in_(claimed))
        ).all()
    outcomes: dict[int, str] = {}
    with guarded_client(outbound, timeout=5) as client:
        for did, url, secret, payload in rows:
            data = payload.encode()
            try:
                resp = client.post(
                    url,
                    content=data,
                    headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, data)},
                )
                outcomes[did] = "" if resp.status_code < 300 else f"HTTP {resp.status_code}"
            except httpx.HTTPError as exc:
                outcomes[did] = str(exc)[:500] or type(exc).__name__
    with database.unit_of_work() as s:
        for did, error in outcomes.items():
            ok = not error
            report.webhooks_sent += ok
            report.webhooks_failed += not ok
            s.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == did)
                .values(
                    status="sent" if ok else "failed",
                    last_error=error,
                    attempts=WebhookDelivery.attempts + 1,
                    sent_at=now() if ok else None,
                )
            )


STALE_CLAIM = timedelta(minutes=10)


def release_stale_claims(db: Session, *, at: datetime | None = None) -> int:
    """Rows left 'sending' by a process that died mid-delivery go back to the queue.

    A claim older than ``STALE_CLAIM`` cannot belong to a live sender (SMTP and webhook
    calls time out within seconds), so re-queueing it cannot double-send a live attempt.
    """
    cutoff = (at or now()) - STALE_CLAIM
    mails: Any = db.execute(
        update(Notification)
        .where(Notification.email_status == "sending", Notification.claimed_at < cutoff)
        .values(email_status="pending")
    )
    hooks: Any = db.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.status == "sending", WebhookDelivery.claimed_at < cutoff)
        .values(status="failed", last_error="interrupted", attempts=WebhookDelivery.attempts + 1)
    )
    return int(mails.rowcount or 0) + int(hooks.rowcount or 0)


def register_webhook(db: Session, *, actor: Any, url: str, secret: str, outbound: OutboundPolicy) -> Webhook:
    """The organisation's admin (or the node operator) registers where its events are POSTed.

    A webhook makes the node send requests on the organisation's behalf, so it is an
    administrative act, not an analyst's.
    """
    from colsec.store import audit

    if actor.org_id is None:
        raise InvalidInput("webhooks belong to an organisation")
    if not actor.manages(actor.org_id):
        raise Forbidden("only the organisation's admin or the node operator manages webhooks")
    hook = Webhook(
        organisation_id=actor.org_id,
        url=validate_webhook_url(url, outbound=outbound),
        secret=secret,
    )
    db.add(hook)
    db.flush()
    audit.record(
        db, actor=actor, action="crisis.webhook.register", target=f"webhook:{hook.id}", details={"url": url}
    )
    return hook


def my_notifications(
    db: Session, *, user_id: int | None, unread_only: bool = False, limit: int = 100
) -> list[Notification]:
    if user_id is None:
        return []
    stmt = (
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.id.desc())
        .limit(min(limit, 500))
    )
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(db.execute(stmt).scalars())


def mark_read(db: Session, *, user_id: int | None, notification_id: int) -> None:
    from colsec.errors import NotFound

    result: Any = db.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user_id)
        .values(read_at=now())
    )
    if result.rowcount != 1:
        raise NotFound(f"notification {notification_id} not found")
