"""Shared pieces of the crisis API: the caller filter and the route's unit of work."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from sqlalchemy.orm import Session

from colsec.accounts.roles import Role
from colsec.errors import Forbidden
from colsec.web.deps import ActorDep, get_database


def people_only(actor: ActorDep) -> None:
    """Sync accounts (role ``peer``) exchange intelligence over TAXII; crisis work is for people."""
    if actor.role == Role.PEER:
        raise Forbidden("peer (sync) accounts have no access to crisis response")


__all__ = ["people_only", "run_unit"]

T = TypeVar("T")


def run_unit(request: Request, work: Callable[[Session], T]) -> T:
    """One unit of work begun and committed in the same worker thread (its e-mails and webhooks are
    outbox rows in it, delivered by the outbox's workers, never here).

    Holding a write transaction across FastAPI's threadpool hops (endpoint, then the
    session dependency's teardown) lets 40 waiting writers starve the one that must
    commit; here the transaction never outlives this call.
    """
    database = get_database(request)
    with database.unit_of_work() as db:
        return work(db)
