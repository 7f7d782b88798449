"""Notifications: written in the caller's transaction; whatever leaves the node goes via the outbox.

``notify`` inserts the in-app notification rows (the inbox itself) and, in the same
transaction, one outbox row per e-mail (users with an address) and per active webhook
of the concerned organisations.  The outbox's workers deliver them later
(``colsec.outbox``); nothing is sent here or on the request path.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation, User
from colsec.accounts.roles import Role
from colsec.crisis.models import Notification
from colsec.crisis.states import now
from colsec.outbound import OutboundPolicy
from colsec.outbox import Channel, Outgoing, put
from colsec.outbox.models import Topic, Webhook
from colsec.outbox.text import N_, Message, Text, render
from colsec.outbox.webhooks import create_webhook, destination, subscribed
from colsec.store.models import EXERCISE_RUN

__all__ = [
    "Text",
    "capability_text",
    "mark_read",
    "my_notifications",
    "notify",
    "recipients",
    "register_webhook",
    "state_text",
]

_CAPABILITIES = {
    "cert-incident-response": N_("CERT incident response"), "forensics": N_("digital forensics"),
    "emergency-medical": N_("emergency medical team"), "biological-safety": N_("biological safety"),
    "search-and-rescue": N_("search and rescue"), "power-equipment": N_("power equipment"),
    "communications-equipment": N_("communications equipment"),
    "laboratory-equipment": N_("laboratory equipment"), "water-purification": N_("water purification"),
}  # fmt: skip


def state_text(code: str) -> Text:
    """A state (``active``, ``no_decision``...) as the UI names it, in the reader's language."""
    return Text(code.replace("_", " "))


def capability_text(code: str) -> Text | str:
    name = _CAPABILITIES.get(code)
    return Text(name) if name else code


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
    subject: str | Text,
    body: Message = "",
    target: str = "",
    user_ids: Iterable[int] = (),
    webhook_org_ids: Iterable[int] = (),
    payload: dict[str, Any] | None = None,
) -> int:
    """Write in-app notifications and queue their e-mails and webhook events; returns the users told.

    ``subject`` and ``body`` given as ``Text`` are rendered for each recipient in that user's
    language (the in-app row and its e-mail copy alike); webhooks, read by machines, get English.
    While an exercise run delivers (``EXERCISE_RUN`` in the session's info) every notice is
    the run's: stamped with its id and its subject prefixed ``[EXERCISE name]``.
    """
    run = db.info.get(EXERCISE_RUN)
    prefix = f"[EXERCISE {run[1]}] " if run else ""
    if run:
        payload = {**(payload or {}), "exercise": run[1]}

    def subject_in(lang: str | None) -> str:
        text = render(subject, lang)
        return text if text.startswith(prefix) else prefix + text

    users = sorted(set(user_ids))
    if users:
        people = {uid: (org, email, lang) for uid, org, email, lang in db.execute(
            select(User.id, User.organisation_id, User.email, User.language).where(User.id.in_(users))
        ).all()}  # fmt: skip
        texts = {}
        for u in users:
            lang = people.get(u, (None, None, None))[2]
            texts[u] = (subject_in(lang)[:250], render(body, lang))
        # one multi-row INSERT, not ORM objects: an exercise inject tells every participant at once
        rows = db.execute(
            insert(Notification).returning(Notification.id, Notification.user_id),
            [
                {"user_id": u, "organisation_id": people.get(u, (None, None, None))[0], "kind": kind,
                 "subject": texts[u][0], "body": texts[u][1], "target": target[:120],
                 "exercise_run_id": run[0] if run else None}
                for u in users
            ],
        ).all()  # fmt: skip
        mails = []
        for nid, uid in sorted(rows):
            org, email, _ = people.get(uid, (None, None, None))
            if email:
                mails.append(
                    Outgoing(
                        channel=Channel.EMAIL, destination=email, event=kind, org_id=org,
                        idempotency_key=f"notification:{nid}:email",
                        payload={"event": kind, "subject": texts[uid][0], "body": texts[uid][1]},
                    )
                )  # fmt: skip
        put(db, mails)
    org_ids = sorted(set(webhook_org_ids))
    if org_ids:
        hooks = subscribed(db, org_ids, Topic.CRISIS)
        event_id = uuid.uuid4().hex
        event = {
            "event": kind,
            "id": event_id,
            "subject": subject_in("en"),
            "target": target,
            "data": payload or {},
        }
        put(
            db,
            (
                Outgoing(
                    channel=Channel.WEBHOOK, destination=destination(h), event=kind, org_id=org,
                    idempotency_key=f"crisis:{event_id}:webhook:{h}", payload=event,
                )
                for h, org in hooks
            ),
        )  # fmt: skip
    return len(users)


def register_webhook(db: Session, *, actor: Any, url: str, secret: str, outbound: OutboundPolicy) -> Webhook:
    """The organisation's admin (or the node operator) registers where its crisis events are POSTed."""
    return create_webhook(db, actor=actor, url=url, secret=secret, topics=[Topic.CRISIS], outbound=outbound)


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
