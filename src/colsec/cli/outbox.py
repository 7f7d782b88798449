"""``colsec outbox``: see waiting and dead deliveries, retry one, deliver what is due now."""

from __future__ import annotations

import os
import socket
from typing import Annotated

import typer
from rich.table import Table

from colsec.cli.common import console, get_node, open_session, resolve_actor
from colsec.outbox import deliver_due, list_messages, retry
from colsec.outbox.senders import make_senders

__all__ = ["register"]

outbox_app = typer.Typer(help="Outgoing e-mail and webhooks: status, retries.", no_args_is_help=True)
AsUser = Annotated[str | None, typer.Option("--as", help="Act as this user (default: the node operator)")]


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")


@outbox_app.command("list")
def list_cmd(
    status: Annotated[str | None, typer.Option(help="pending, sending, delivered or dead")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first")] = 50,
    as_user: AsUser = None,
) -> None:
    """Deliveries, newest first, with their attempts and last error."""
    with open_session(write=False) as s:
        table = Table(
            "id", "channel", "event", "destination", "status", "attempts", "next attempt", "last error"
        )
        for m in list_messages(s, actor=resolve_actor(s, as_user), status=status, limit=limit):
            table.add_row(
                str(m.id), m.channel, m.event, m.destination, m.status, str(m.attempts),
                f"{m.next_attempt_at:%Y-%m-%d %H:%M:%S}", (m.last_error or "")[:80],
            )  # fmt: skip
        console.print(table)


@outbox_app.command("retry")
def retry_cmd(message_id: int, as_user: AsUser = None) -> None:
    """Queue a dead delivery again, due now, with a fresh attempt budget."""
    with open_session() as s:
        m = retry(s, actor=resolve_actor(s, as_user), message_id=message_id)
        console.print(f"outbox message {m.id} queued again ({m.channel} → {m.destination})")


@outbox_app.command("deliver")
def deliver_cmd() -> None:
    """Deliver one batch of due messages now (a worker does this continuously)."""
    node = get_node()
    settings, database = node.settings, node.database
    worker = f"cli:{socket.gethostname()}:{os.getpid()}"
    n = deliver_due(database, worker_id=worker, senders=make_senders(database, settings))
    console.print(f"{n} message(s) delivered")
