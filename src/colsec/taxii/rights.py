"""Who may read or write a TAXII collection: its ``can_read``/``can_write`` lists against the caller.

Kept apart so the collection verbs and the hot read path (``reads.read_access``) apply the
very same checks.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from colsec.accounts.roles import Actor, Role
from colsec.errors import Forbidden, NotFound
from colsec.store.models import Collection

__all__ = ["NO_WRITE_ROLES", "can_read", "can_write", "check_rights", "may", "parse_rights"]

NO_WRITE_ROLES = frozenset({Role.VIEWER, Role.REPRESENTATIVE})


def parse_rights(text: str) -> list[str]:
    value = orjson.loads(text or "[]")
    return [str(v) for v in value] if isinstance(value, list) else []


def may(actor: Actor, rights: Sequence[str]) -> bool:
    """True when the rights list names everyone, the caller's organisation or the caller's role."""
    return "*" in rights or (actor.org_short_name or "\0") in rights or actor.role.value in rights


def can_read(actor: Actor, coll: Collection) -> bool:
    return may(actor, parse_rights(coll.can_read))


def can_write(actor: Actor, coll: Collection) -> bool:
    return actor.role not in NO_WRITE_ROLES and may(actor, parse_rights(coll.can_write))


def check_rights(
    actor: Actor, collection_id: str, api_root: str, found: tuple[str, str, str] | None, need: str
) -> None:
    """The rights check of ``get_collection`` and ``read_access``: ``found`` is (api_root, can_read, can_write)."""
    readable = found is not None and may(actor, parse_rights(found[1]))
    writable = found is not None and actor.role not in NO_WRITE_ROLES and may(actor, parse_rights(found[2]))
    if found is None or found[0] != api_root or not (readable or writable):
        raise NotFound(f"collection {collection_id} not found in API root {api_root!r}")
    if need == "read" and not readable:
        raise Forbidden(f"no read access to collection {collection_id}")
    if need == "write" and not writable:
        raise Forbidden(f"no write access to collection {collection_id}")
