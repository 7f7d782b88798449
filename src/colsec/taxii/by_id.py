"""A token caller's object by id in one statement: the caller, the collection's rights and the object.

On PostgreSQL every statement is a round trip, and a GET by id was two: the caller with the
collection's access row (``access.caller_access``), then the object (``reads.read_page``),
whose sharing-policy clause is built for the caller's viewer.  Here both run as one
statement: the object's part is built for the viewer the same token resolved to on its
previous read (a guess, kept per token hash), and is used only when the caller's row, read
in the same statement, resolves to that very viewer; otherwise the object is read again with
the right one.  Nothing about the caller is cached: the token, its user, the rights and the
policy are all checked on every request, from that request's own rows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, select, true

from colsec.accounts.passwords import hash_token
from colsec.accounts.roles import Actor
from colsec.db import RawQuery, ReadUnit, compile_raw, fetch_raw
from colsec.store.policy import Recipient
from colsec.taxii.access import (
    ORG_KIND,
    AccessRow,
    caller_access_query,
    caller_access_select,
    caller_of_row,
    viewer_of,
)
from colsec.taxii.reads import LATEST_BY_ID, page_select

__all__ = ["Hit", "caller_and_object", "forget_viewers"]

_PAGE = ORG_KIND + 1  # the object's columns (reads._PAGE_COLUMNS) follow the caller's

# token hash -> the viewer its last read resolved to: which statement to send, never an answer.
_VIEWERS: dict[str, Recipient] = {}
_VIEWERS_MAX = 4096


def forget_viewers() -> None:
    """Drop every guess (a test starting over; the guesses are otherwise harmless when stale)."""
    _VIEWERS.clear()


@functools.lru_cache(maxsize=64)
def _query(dialect: Dialect, viewer: Recipient) -> RawQuery:
    """``caller_access_select`` outer-joined to the latest visible version of ``id_0`` in ``cid``.

    The object's part does not depend on the caller's row, so the join is one row of the
    caller beside at most ``lim`` rows of the object (NULL columns when there is none).
    """
    caller = caller_access_select().subquery("caller")
    page = page_select(viewer, LATEST_BY_ID).subquery("page")
    stmt = (
        select(caller, page)
        .select_from(caller.outerjoin(page, true()))
        .order_by(page.c.date_added, page.c.seq)
    )
    return compile_raw(stmt, dialect)


@dataclass(slots=True)
class Hit:
    """The caller, the collection's access row, and the object's rows when read for the right viewer."""

    actor: Actor
    access: AccessRow | None
    viewer: Recipient
    rows: list[tuple[Any, ...]] | None  # None: read with another viewer, read them again


def caller_and_object(
    unit: ReadUnit, *, token: str, username: str | None, collection_id: str, object_id: str, lim: int
) -> Hit | None:
    """The caller of a valid token (else None) and, when its viewer was guessed right, the object's rows.

    ``lim`` is ``read_page``'s limit (the page size plus one).  A token's first read has no
    guess: it reads the caller alone (``rows`` None) and leaves its viewer for the next.
    """
    token_hash = hash_token(token)
    guess = _VIEWERS.get(token_hash)
    if guess is None:
        rows = fetch_raw(
            unit, caller_access_query(unit.dialect), {"token_hash": token_hash, "cid": collection_id}
        )
    else:
        params = {"token_hash": token_hash, "cid": collection_id, "id_0": object_id, "lim": lim}
        rows = fetch_raw(unit, _query(unit.dialect, guess), params)
    found = caller_of_row(rows[0], username) if rows else None
    if found is None:
        return None
    actor, access = found
    viewer = viewer_of(actor, rows[0][ORG_KIND])
    if viewer != guess:
        if len(_VIEWERS) >= _VIEWERS_MAX:
            _VIEWERS.clear()
        _VIEWERS[token_hash] = viewer
        return Hit(actor, access, viewer, None)
    objects = [row[_PAGE:] for row in rows if row[_PAGE] is not None]
    return Hit(actor, access, viewer, objects)
