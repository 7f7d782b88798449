"""A user's e-mail address: where crisis notifications and alerts are delivered.

Set by the user (own profile), by an administrator of the user's organisation, or by
the node operator (CLI).  Checked strictly enough that no header can be smuggled in
(no spaces, commas, angle brackets or line breaks) and no mail goes to a bare host.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.models import User
from colsec.accounts.roles import Actor
from colsec.errors import Forbidden, InvalidInput, NotFound
from colsec.store import audit

__all__ = ["MAX_EMAIL", "get_user", "normalise_email", "set_email"]

MAX_EMAIL = 200  # the column's length
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)\Z")


def normalise_email(text: str) -> str | None:
    """The address to store (domain lower-cased), None to clear it; InvalidInput names the problem."""
    value = text.strip()
    if not value:
        return None
    if len(value) > MAX_EMAIL:
        raise InvalidInput(
            f"e-mail address longer than {MAX_EMAIL} characters",
            kind="email_too_long",
            params={"limit": MAX_EMAIL},
        )
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise InvalidInput(
            f"not an e-mail address: {value!r} (expected name@example.org)",
            kind="email_invalid",
            params={"email": value},
        )
    domain = domain.lower().rstrip(".")
    labels = domain.split(".")
    if not _LOCAL.match(local) or len(local) > 64:
        raise InvalidInput(
            f"not an e-mail address: {value!r} (the part before @ is not valid)",
            kind="email_invalid_local",
            params={"email": value},
        )
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise InvalidInput(
            f"not an e-mail address: {value!r} (the domain is not valid)",
            kind="email_invalid_domain",
            params={"email": value},
        )
    return f"{local}@{domain}"


def get_user(db: Session, username: str) -> User:
    user = db.execute(select(User).where(User.username == username.strip().lower())).scalar_one_or_none()
    if user is None:
        raise NotFound(f"user {username!r} not found", kind="user_not_found", params={"user": username})
    return user


def set_email(db: Session, *, actor: Actor, user: User, email: str) -> User:
    """Set (or clear, with an empty string) ``user``'s address; the user, their org's admin or the node."""
    own = actor.user_id is not None and actor.user_id == user.id
    if not (own or actor.manages(user.organisation_id)):
        raise Forbidden(
            "only the user or an administrator of their organisation may change this address",
            kind="email_owner_only",
        )
    user.email = normalise_email(email)
    db.flush()
    audit.record(
        db, actor=actor, action="user.email", target=user.username, details={"set": user.email is not None}
    )
    return user
