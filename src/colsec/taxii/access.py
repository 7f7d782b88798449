"""TAXII access: who the token's caller is, whether it may read the collection, and as whom it sees it.

The hot read paths (every page, every object by id) ask all three on every request, so
they are statements compiled once and run as driver tuples: a token caller learns its
actor and the collection's access row in one statement (``caller_access``), and the rights
are ``get_collection``'s own (``rights.check_rights``), so the answers cannot drift.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Select, bindparam, select
from sqlalchemy.orm import Session

from colsec.accounts.authn import TOKEN_CALLER_COLUMNS, actor_of_token_row, token_caller_select
from colsec.accounts.models import Organisation
from colsec.accounts.passwords import hash_token
from colsec.accounts.roles import Actor
from colsec.db import RawQuery, ReadUnit, compile_raw, dialect_of, fetch_raw
from colsec.store.models import Collection
from colsec.store.policy import Recipient
from colsec.taxii.rights import check_rights

__all__ = [
    "ORG_KIND",
    "AccessRow",
    "CollectionRef",
    "caller_access",
    "caller_access_query",
    "caller_access_select",
    "caller_of_row",
    "read_access",
    "viewer_of",
]


@dataclass(frozen=True, slots=True)
class CollectionRef:
    """A collection a read may page through: its id is all ``read_page`` and ``has_object`` need."""

    id: str


@functools.lru_cache(maxsize=8)
def _access_query(dialect: Dialect) -> RawQuery:
    kind = select(Organisation.kind).where(Organisation.id == bindparam("org_id")).scalar_subquery()
    stmt = select(Collection.api_root, Collection.can_read, Collection.can_write, kind).where(
        Collection.id == bindparam("cid")
    )
    return compile_raw(stmt, dialect)


def caller_access_select() -> Select[Any]:
    """The token's caller (``token_caller_select``) and ``_access_query``'s row, in one statement.

    The collection joins on its key alone (at most one row), its columns NULL when there is
    no such collection; the organisation is the caller's own, as ``read_access`` binds it.
    """
    return (
        token_caller_select()
        .add_columns(Collection.api_root, Collection.can_read, Collection.can_write, Organisation.kind)
        .outerjoin(Collection, Collection.id == bindparam("cid"))
    )


@functools.lru_cache(maxsize=8)
def caller_access_query(dialect: Dialect) -> RawQuery:
    return compile_raw(caller_access_select(), dialect)


AccessRow = tuple[Any, Any, Any, Any]  # api_root, can_read, can_write, the caller's organisation kind
ORG_KIND = TOKEN_CALLER_COLUMNS + 3  # the caller's organisation kind in a caller_access_select row


def caller_access(
    unit: ReadUnit, *, token: str, username: str | None, collection_id: str
) -> tuple[Actor, AccessRow | None] | None:
    """The caller of a valid token (as ``actor_for_valid_token``) and the collection's access row, or None.

    A TAXII read by a token caller learns both in one round trip; the rights themselves are
    checked by ``read_access``, after the query parameters, in the order of every TAXII route.
    """
    query = caller_access_query(unit.dialect)
    rows = fetch_raw(unit, query, {"token_hash": hash_token(token), "cid": collection_id})
    return caller_of_row(rows[0], username) if rows else None


def caller_of_row(row: Sequence[Any], username: str | None) -> tuple[Actor, AccessRow | None] | None:
    """The caller and the access row of a row that starts with ``caller_access_select``'s columns."""
    actor = actor_of_token_row(row, username)
    if actor is None:
        return None
    access = row[TOKEN_CALLER_COLUMNS : TOKEN_CALLER_COLUMNS + 4]
    return actor, (access[0], access[1], access[2], access[3]) if access[0] is not None else None


def viewer_of(actor: Actor, org_kind: Any) -> Recipient:
    """The sharing policy's recipient for ``actor``, whose organisation is of ``org_kind``."""
    if actor.org_id is None:
        return Recipient(org_id=None, alliance_member=False)
    return Recipient(org_id=actor.org_id, alliance_member=org_kind != "external")


_UNREAD: Any = object()


def read_access(
    db: Session | ReadUnit,
    *,
    actor: Actor,
    api_root: str,
    collection_id: str,
    found: AccessRow | None = _UNREAD,
) -> tuple[CollectionRef, Recipient]:
    """``get_collection(need="read")`` and ``recipient_for_org`` in one statement compiled once.

    The hot read paths (every page, every object by id) ask both on every request; the
    checks are ``get_collection``'s own (``rights.check_rights``), so the answers cannot drift.
    ``found``: the access row as ``caller_access`` already read it (None: no such collection).
    """
    if found is _UNREAD:
        rows = fetch_raw(db, _access_query(dialect_of(db)), {"cid": collection_id, "org_id": actor.org_id})
        found = rows[0] if rows else None
    check_rights(actor, collection_id, api_root, (found[0], found[1], found[2]) if found else None, "read")
    assert found is not None
    return CollectionRef(collection_id), viewer_of(actor, found[3])
