"""Who sees a group and who may act in it.

A group, its meetings, papers, procedures and decisions exist only for its members'
organisations (members and observers), its chair and its secretary, and the node
operator: anyone else gets ``NotFound``, never ``Forbidden``, so existence does not leak.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.errors import Forbidden, NotFound
from colsec.groups.models import Group, Member

__all__ = [
    "get_group",
    "is_chair",
    "is_officer",
    "is_secretary",
    "member_kind",
    "require_chair",
    "require_officer",
    "sees",
    "visible_group_ids",
]


def visible_group_ids(actor: Actor) -> Select[Any]:
    """The ids of the groups ``actor`` may see, as a subquery-able select."""
    if actor.is_operator:
        return select(Group.id)
    conds: list[Any] = []
    if actor.org_id is not None:
        conds.append(Group.id.in_(select(Member.group_id).where(Member.organisation_id == actor.org_id)))
    if actor.user_id is not None:
        conds.append(Group.chair_user_id == actor.user_id)
        conds.append(Group.secretary_user_id == actor.user_id)
    if not conds:
        return select(Group.id).where(Group.id.is_(None))
    return select(Group.id).where(or_(*conds))


def get_group(db: Session, actor: Actor, group_id: int) -> Group:
    g = db.execute(select(Group).where(Group.id == group_id, Group.id.in_(visible_group_ids(actor)))).scalar()
    if g is None:
        raise NotFound(f"group {group_id} not found", kind="group_not_found", params={"group": group_id})
    return g


def sees(db: Session, actor: Actor, group_id: int) -> bool:
    """Whether ``actor`` still sees the group: an officer who hands over the office may not."""
    found = db.execute(select(Group.id).where(Group.id == group_id, Group.id.in_(visible_group_ids(actor))))
    return found.first() is not None


def member_kind(db: Session, group_id: int, org_id: int | None) -> str | None:
    """'member', 'observer' or None for the organisation in this group."""
    if org_id is None:
        return None
    return db.execute(
        select(Member.kind).where(Member.group_id == group_id, Member.organisation_id == org_id)
    ).scalar()


def is_chair(g: Group, actor: Actor) -> bool:
    return actor.user_id is not None and g.chair_user_id == actor.user_id


def is_secretary(g: Group, actor: Actor) -> bool:
    return actor.user_id is not None and g.secretary_user_id == actor.user_id


def is_officer(g: Group, actor: Actor) -> bool:
    return is_chair(g, actor) or is_secretary(g, actor) or actor.is_operator


def require_chair(g: Group, actor: Actor, *, doing: str) -> None:
    if not (is_chair(g, actor) or actor.is_operator):
        raise Forbidden(
            f"only the chair of {g.code} may {doing}", kind="chair_only", params={"group": g.code}
        )


def require_officer(g: Group, actor: Actor, *, doing: str) -> None:
    if not is_officer(g, actor):
        raise Forbidden(
            f"only the chair or the secretary of {g.code} may {doing}",
            kind="officer_only",
            params={"group": g.code},
        )
