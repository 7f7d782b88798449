"""New versions of stored objects: who may publish them and with which ``modified``.

Only the owning organisation changes an object; a caller who cannot even see it is
told it does not exist (no existence oracle for TLP:RED).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.errors import Forbidden, InvalidInput, NotFound
from colsec.stix.ids import format_timestamp, now_timestamp, parse_timestamp
from colsec.store import audit
from colsec.store.models import StixObject
from colsec.store.service import import_objects

__all__ = ["latest_for_owner", "next_modified", "revoke_object"]


def latest_for_owner(db: Session, *, actor: Actor, object_id: str, action: str) -> StixObject:
    """The latest version, for a change only its owner may make.

    A caller who may not even see the object gets 404, not 403: the answer must not
    reveal that a TLP:RED object with this id exists.
    """
    from colsec.store.policy import visible_clause
    from colsec.store.queries import recipient_for_org

    row = db.execute(
        select(StixObject).where(StixObject.id == object_id, StixObject.is_latest)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"object {object_id} not found")
    if actor.is_system or row.owner_org_id == actor.org_id:
        return row
    visible = db.execute(
        select(StixObject.seq).where(
            StixObject.seq == row.seq, visible_clause(recipient_for_org(db, actor.org_id))
        )
    ).first()
    if visible is None:
        raise NotFound(f"object {object_id} not found")
    raise Forbidden(f"{object_id}: only the owning organisation may {action}")


def next_modified(previous: str) -> str:
    """A ``modified`` for a new version: now, or just after the previous one if the clock lags."""
    now = now_timestamp()
    return now if now > previous else format_timestamp(parse_timestamp(previous) + timedelta(milliseconds=1))


def revoke_object(db: Session, *, actor: Actor, object_id: str) -> dict[str, Any]:
    """Publish a revoked version of the latest version (only the owner may)."""
    row = latest_for_owner(db, actor=actor, object_id=object_id, action="revoke it")
    body = orjson.loads(row.body)
    if body.get("revoked"):
        return dict(body)
    if "modified" not in body and "created" not in body:
        raise InvalidInput(f"{object_id}: objects without versions (SCOs) cannot be revoked")
    body["revoked"] = True
    body["modified"] = next_modified(row.modified)
    import_objects(db, actor=actor, objects=[body], owner_org_id=row.owner_org_id)
    audit.record(db, actor=actor, action="stix.revoke", target=object_id)
    return dict(body)
