"""Shared pieces of the crisis API: the caller filter and the session that delivers after commit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from colsec.accounts.roles import Role
from colsec.crisis.notify import deliver_pending
from colsec.errors import Forbidden
from colsec.web.deps import ActorDep, DbDep, get_database, get_settings


def people_only(actor: ActorDep) -> None:
    """Sync accounts (role ``peer``) exchange intelligence over TAXII; crisis work is for people."""
    if actor.role == Role.PEER:
        raise Forbidden("peer (sync) accounts have no access to crisis response")


__all__ = ["WriteDb", "people_only"]


def _deliver_after(request: Request) -> Iterator[None]:
    """Set up before the session dependency, so torn down after it committed: then deliver.

    Nothing is sent when the request failed (the exception passes through the ``yield``).
    """
    yield
    deliver_pending(get_database(request), get_settings(request))


def _write_db(_: Annotated[None, Depends(_deliver_after, scope="function")], db: DbDep) -> Session:
    return db


# The request's session (``colsec.web.deps.get_db`` owns its transaction); queued e-mail and
# webhook notifications go out once it committed.
WriteDb = Annotated[Session, Depends(_write_db, scope="function")]
