"""Shared pieces of the crisis API: the caller filter."""

from __future__ import annotations

from colsec.accounts.roles import Role
from colsec.errors import Forbidden
from colsec.web.deps import ActorDep

__all__ = ["people_only"]


def people_only(actor: ActorDep) -> None:
    """Sync accounts (role ``peer``) exchange intelligence over TAXII; crisis work is for people."""
    if actor.role == Role.PEER:
        raise Forbidden("peer (sync) accounts have no access to crisis response")
