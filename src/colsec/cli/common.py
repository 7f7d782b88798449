"""Shared CLI plumbing: settings, one transaction per command, errors → exit codes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM, Actor
from colsec.db import Database
from colsec.errors import ColsecError
from colsec.migrations import upgrade
from colsec.node import Node, build_node
from colsec.settings import Settings

if TYPE_CHECKING:
    from colsec.reports.models import Bulletin

__all__ = [
    "EXIT_CODES",
    "Invocation",
    "allow_new_node",
    "begin_invocation",
    "console",
    "err_console",
    "fail",
    "get_database",
    "get_node",
    "get_settings",
    "open_session",
    "resolve_actor",
]

console = Console()
err_console = Console(stderr=True)

EXIT_CODES = {400: 2, 401: 3, 403: 3, 404: 4, 409: 5, 413: 6, 415: 2, 422: 2, 423: 3, 502: 7}


@dataclass
class Invocation:
    """What one command invocation works with: the settings, read once, and the node built from
    them.  Set by the root command for each invocation; nothing outlives it."""

    may_create_node: bool = False
    settings: Settings | None = None
    node: Node | None = None


_INVOCATION: ContextVar[Invocation | None] = ContextVar("colsec_cli_invocation", default=None)


def begin_invocation() -> Invocation:
    """Called by the root command before any sub-command: a fresh invocation state."""
    state = Invocation()
    _INVOCATION.set(state)
    return state


def _state() -> Invocation:
    state = _INVOCATION.get()
    return state if state is not None else begin_invocation()


def allow_new_node() -> None:
    """For the commands that set a node up (demo, db upgrade, serve): a missing node is created."""
    _state().may_create_node = True


def _check_data_folder(settings: Settings) -> None:
    """Run from the wrong folder, a command must not quietly start an empty node there."""
    if settings.database_url:
        return
    folder = settings.data_dir.resolve()
    if (folder / "colsec.db").exists():
        return
    if not _state().may_create_node:
        fail(
            f"no colsec node in data folder {folder}: create one there with 'colsec db upgrade' "
            "(or 'colsec demo'), or point COLSEC_DATA_DIR at an existing node",
            4,
        )
    err_console.print(f"using data folder {folder} (new node)", highlight=False, soft_wrap=True)


def get_settings() -> Settings:
    """The settings of this invocation, read from the environment once."""
    state = _state()
    if state.settings is None:
        try:
            state.settings = Settings()
        except ValidationError as exc:  # a bad COLSEC_* value: name it, no traceback
            problems = [f"COLSEC_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()]
            fail(f"invalid settings: {'; '.join(problems)}", EXIT_CODES[422])
    return state.settings


def get_node(*, migrate: bool = True) -> Node:
    """The node this command works on, built from the settings on first use (and migrated)."""
    state = _state()
    if state.node is None:
        settings = get_settings()
        _check_data_folder(settings)
        # The first command run on a new node creates its secret.
        node = build_node(settings, report_mailer=_mail_text)
        if migrate:
            upgrade(node.database.engine)
        state.node = node
    return state.node


def _mail_text(bulletin: Bulletin, lang: str) -> tuple[str, str]:
    """The bulletin e-mail, rendered by the web UI's text: imported only when a command mails one
    (the UI package costs a quarter of a second to import)."""
    from colsec.web.ui.reports import mail_text

    return mail_text(bulletin, lang)


def get_database(*, migrate: bool = True) -> Database:
    return get_node(migrate=migrate).database


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(
        f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True
    )  # one line, never wrapped
    raise typer.Exit(code)


@contextmanager
def open_session(*, write: bool = True) -> Iterator[Session]:
    """One unit of work per command; a ColsecError becomes a clear message and an exit code."""
    db = get_database()
    try:
        with db.unit_of_work(write=write) as session:
            yield session
        if write:
            with db.unit_of_work(write=False) as session:
                db.audit_anchor.checkpoint(session)  # each command anchors the head it leaves
    except ColsecError as exc:
        details = exc.details
        if isinstance(details, dict) and isinstance(details.get("errors"), list):
            for e in details["errors"][:20]:
                text = e.get("message", e) if isinstance(e, dict) else e  # some refusals list plain strings
                err_console.print(f"  - {text}", highlight=False)
        fail(exc.message, EXIT_CODES.get(exc.status, 1))


def resolve_actor(session: Session, as_user: str | None) -> Actor:
    """CLI commands act as a named user (their org and role) or as the node itself."""
    if not as_user:
        return SYSTEM
    from sqlalchemy import select

    from colsec.accounts.models import User
    from colsec.accounts.service import actor_for

    user = session.execute(select(User).where(User.username == as_user.lower())).scalar_one_or_none()
    if user is None:
        fail(f"user {as_user!r} not found", 4)
    return actor_for(session, user)


def is_tty() -> bool:
    return sys.stderr.isatty()
