"""The senders of each channel, and ``make_poller``: what a worker runs to drain the outbox.

Webhook rows name their endpoint as ``<register>:<id>``: the intel alert register
(``webhook``) or the crisis register (``crisis_webhook``).  URL and secret are read
when sending, so a rotated secret or a disabled endpoint takes effect for rows
already queued, and no secret is ever copied into the outbox.  Every POST goes
through the one outbound client (``colsec.outbound.guarded_client``: global
addresses only unless allow-listed, no redirects) and carries the one signature
(``colsec.outbox.signing``).  E-mail goes to the configured SMTP server with the
idempotency key as its Message-ID, the field mail systems de-duplicate on.
"""

from __future__ import annotations

import hashlib
import smtplib
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate

import httpx
import orjson
from sqlalchemy import Boolean, Integer, String, column, select, table

from colsec.db import Database
from colsec.errors import InvalidInput
from colsec.outbound import OutboundPolicy, from_settings, guarded_client
from colsec.outbox.delivery import DEFAULT_POLICY, Claimed, DeliveryFailed, RetryPolicy, Sender, deliver_due
from colsec.outbox.models import Channel
from colsec.outbox.signing import EVENT_HEADER, IDEMPOTENCY_HEADER, headers
from colsec.settings import Settings

__all__ = ["EmailSender", "WebhookSender", "make_poller", "make_senders"]


def _register(name: str) -> object:
    return table(
        name,
        column("id", Integer),
        column("url", String),
        column("secret", String),
        column("active", Boolean),
    )


# The endpoint registers share one shape; the outbox reads them by name so it imports no domain.
REGISTERS = {name: _register(name) for name in ("webhook", "crisis_webhook")}


class WebhookSender:
    """POSTs the payload as JSON, signed with the endpoint's secret; any 2xx is success."""

    def __init__(self, database: Database, outbound: OutboundPolicy, *, timeout: float = 10.0) -> None:
        self.database = database
        self.outbound = outbound
        self.timeout = timeout
        self.tls = httpx.create_ssl_context()  # one per sender: building it costs more than a send

    def _endpoint(self, destination: str) -> tuple[str, str]:
        name, _, ident = destination.partition(":")
        reg = REGISTERS.get(name)
        if reg is None or not ident.isdigit():
            raise DeliveryFailed(f"unknown webhook destination {destination!r}", permanent=True)
        cols = reg.c  # type: ignore[attr-defined]
        with self.database.unit_of_work(write=False) as db:
            row = db.execute(select(cols.url, cols.secret, cols.active).where(cols.id == int(ident))).first()
        if row is None or not row.active:
            raise DeliveryFailed(f"webhook {destination} was removed or disabled", permanent=True)
        return str(row.url), str(row.secret)

    def send(self, message: Claimed) -> None:
        url, secret = self._endpoint(message.destination)
        body = orjson.dumps(message.payload)
        try:
            self.outbound.check_url(url)
        except InvalidInput as exc:
            raise DeliveryFailed(exc.message, permanent=True) from exc
        signed = headers(secret, body, event=message.event, idempotency_key=message.idempotency_key)
        try:
            with guarded_client(self.outbound, timeout=self.timeout, verify=self.tls) as client:
                resp = client.post(url, content=body, headers=signed)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{url}: {exc or type(exc).__name__}") from exc
        if not 200 <= resp.status_code < 300:
            raise DeliveryFailed(f"{url} answered HTTP {resp.status_code}")


class EmailSender:
    """Sends one message per row over SMTP (the node's ``smtp_*`` settings)."""

    def __init__(self, settings: Settings, *, timeout: float = 10.0) -> None:
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.sender = settings.smtp_from
        self.timeout = timeout

    def message(self, message: Claimed) -> EmailMessage:
        msg = EmailMessage()
        subject = str(message.payload.get("subject", message.event))
        msg["From"] = self.sender
        msg["To"] = message.destination
        msg["Subject"] = subject
        msg["Date"] = formatdate(usegmt=True)
        domain = self.sender.rpartition("@")[2] or "colsec"
        msg["Message-ID"] = f"<{hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:40]}@{domain}>"
        msg[IDEMPOTENCY_HEADER] = message.idempotency_key
        msg[EVENT_HEADER] = message.event
        msg.set_content(str(message.payload.get("body") or subject))
        for part in message.payload.get("attachments") or ():  # e.g. a meeting's iCalendar invitation
            ctype, _, params = str(part["content_type"]).partition(";")
            maintype, _, subtype = ctype.strip().partition("/")
            extra = dict(p.strip().split("=", 1) for p in params.split(";") if "=" in p)
            msg.add_attachment(
                str(part["content"]).encode(), maintype=maintype, subtype=subtype,
                filename=str(part["filename"]), params=extra,
            )  # fmt: skip
        return msg

    def send(self, message: Claimed) -> None:
        if not self.host:
            raise DeliveryFailed("no SMTP server configured (COLSEC_SMTP_HOST)")
        msg = self.message(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(msg)
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=exc.smtp_code >= 500
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"SMTP: {exc or type(exc).__name__}") from exc


def make_senders(
    database: Database, settings: Settings, *, extra: Mapping[str, Sender] | None = None
) -> dict[str, Sender]:
    """One sender per channel; ``extra`` adds the domains' own (federation's ``peer-push``), passed in
    by the wiring because the outbox imports no domain."""
    return {
        Channel.WEBHOOK.value: WebhookSender(database, from_settings(settings)),
        Channel.EMAIL.value: EmailSender(settings),
        **(extra or {}),
    }


def make_poller(
    database: Database,
    settings: Settings,
    worker_id: str,
    *,
    policy: RetryPolicy | None = None,
    extra: Mapping[str, Sender] | None = None,
) -> Callable[[], int]:
    """What the job runner polls: one call delivers one batch of due rows, returns how many took effect."""
    senders = make_senders(database, settings, extra=extra)
    retry = policy or replace(DEFAULT_POLICY, lease=timedelta(seconds=settings.outbox_lease_seconds))

    def poll() -> int:
        return deliver_due(database, worker_id=worker_id, senders=senders, policy=retry)

    return poll
