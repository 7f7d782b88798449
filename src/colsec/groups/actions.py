"""Action items of a group: from minutes, decisions or a closed crisis's lessons, to verified.

The owner organisation moves its item open -> in progress -> done; the chair verifies it or sends
it back (``ACTION_FLOW``).  Verifying an item taken from a lesson marks the lesson implemented.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.crisis import notify as notices
from colsec.crisis.errors import InvalidTransition
from colsec.crisis.models import Crisis, Lesson
from colsec.crisis.states import now as clock
from colsec.errors import Conflict, Forbidden, InvalidInput, NotFound
from colsec.groups.access import get_group, is_chair, member_kind, require_chair, require_officer
from colsec.groups.meetings import carry_action, next_meeting
from colsec.groups.models import (
    ActionItem,
    Decision,
    Group,
    Meeting,
)
from colsec.groups.schemas import (
    ActionIn,
    LessonActionIn,
)
from colsec.groups.service import active_user, org_named, people_of
from colsec.outbox.text import Text
from colsec.store import audit

__all__ = ["ACTION_FLOW", "action_from_lesson", "create_action", "move_action"]

# target -> (states it may come from, who moves it: 'owner' organisation or 'chair')
ACTION_FLOW: dict[str, tuple[tuple[str, ...], str]] = {
    "in_progress": (("open",), "owner"),
    "done": (("open", "in_progress"), "owner"),
    "verified": (("done",), "chair"),
    "open": (("done",), "chair"),  # the chair sends unfinished work back
}


def _new_action(
    db: Session, g: Group, *, actor: Actor, title: str, source: str, owner_org: str, owner_user: str | None,
    due_on: date, decision_id: int | None = None, meeting_id: int | None = None, lesson_id: int | None = None,
) -> ActionItem:  # fmt: skip
    org = org_named(db, owner_org)
    if member_kind(db, g.id, org.id) is None:
        raise InvalidInput(
            f"{owner_org} is not in {g.code}: only members own action items",
            kind="action_owner_not_member",
            params={"org": owner_org, "group": g.code},
        )
    user = active_user(db, owner_user, org_id=org.id) if owner_user else None
    a = ActionItem(group_id=g.id, title=title, source=source, decision_id=decision_id, meeting_id=meeting_id,
                   lesson_id=lesson_id, owner_org_id=org.id, owner_user_id=user.id if user else None, due_on=due_on,
                   status="open", created_by=actor.username)  # fmt: skip
    db.add(a)
    db.flush()
    nxt = next_meeting(db, g.id)
    if nxt is not None:
        carry_action(db, nxt, a)
    notices.notify(db, kind="groups.action.new", subject=Text("[%(code)s] New action item for %(org)s: %(title)s",
                                                                {"code": g.code, "org": org.short_name, "title": title}),
                   body=Text("due %(due)s", {"due": due_on.isoformat()}), target=f"action:{a.id}",
                   user_ids=[user.id] if user else people_of(db, g.id, [org.id]))  # fmt: skip
    audit.record(db, actor=actor, action="groups.action.create", target=f"action:{a.id}",
                 details={"group": g.code, "owner": org.short_name, "due": due_on.isoformat(), "source": source})  # fmt: skip
    return a


def create_action(db: Session, *, actor: Actor, group_id: int, data: ActionIn) -> ActionItem:
    g = get_group(db, actor, group_id)
    require_officer(g, actor, doing="create action items")
    if data.decision_id is not None:
        d = db.get(Decision, data.decision_id)
        if d is None or d.group_id != g.id:
            raise InvalidInput(
                f"decision {data.decision_id} is not in {g.code}",
                kind="decision_not_in_group",
                params={"decision": data.decision_id, "group": g.code},
            )
    if data.meeting_id is not None:
        mt = db.get(Meeting, data.meeting_id)
        if mt is None or mt.group_id != g.id:
            raise InvalidInput(
                f"meeting {data.meeting_id} is not in {g.code}",
                kind="meeting_not_in_group",
                params={"meeting": data.meeting_id, "group": g.code},
            )
    source = "decision" if data.decision_id is not None and data.source == "minutes" else data.source
    return _new_action(db, g, actor=actor, title=data.title, source=source, owner_org=data.owner_organisation,
                       owner_user=data.owner_user, due_on=data.due_on, decision_id=data.decision_id,
                       meeting_id=data.meeting_id)  # fmt: skip


def action_from_lesson(db: Session, *, actor: Actor, group_id: int, data: LessonActionIn) -> ActionItem:
    """A lesson of a closed crisis becomes the group's action item; verifying it implements the lesson."""
    g = get_group(db, actor, group_id)
    require_officer(g, actor, doing="take on lessons")
    lesson = db.get(Lesson, data.lesson_id)
    if lesson is None:
        raise NotFound(f"lesson {data.lesson_id} not found")
    crisis = db.get(Crisis, lesson.crisis_id)
    if crisis is None or crisis.status not in ("closed", "reviewed"):
        raise InvalidInput(
            "only lessons of closed crises become action items", kind="lesson_crisis_not_closed"
        )
    taken = db.execute(select(ActionItem.id).where(ActionItem.lesson_id == lesson.id)).first()
    if taken is not None:
        raise Conflict(
            f"lesson {lesson.id} is already action item #{taken[0]}",
            kind="lesson_already_action",
            params={"lesson": lesson.id, "action": taken[0]},
        )
    return _new_action(db, g, actor=actor, title=f"Lesson {lesson.id} ({crisis.title}): {lesson.text}"[:500],
                       source="lesson", owner_org=data.owner_organisation, owner_user=data.owner_user,
                       due_on=data.due_on, lesson_id=lesson.id)  # fmt: skip


def move_action(
    db: Session, *, actor: Actor, action_id: int, to: str, now: datetime | None = None
) -> ActionItem:
    """open -> in progress -> done by the owner organisation; done -> verified (or back to open) by the chair."""
    a = db.get(ActionItem, action_id)
    if a is None:
        raise NotFound(f"action item {action_id} not found")
    try:
        g = get_group(db, actor, a.group_id)
    except NotFound:
        raise NotFound(f"action item {action_id} not found") from None
    if to not in ACTION_FLOW:
        raise InvalidInput(f"unknown state {to!r}; one of: {', '.join(ACTION_FLOW)}", kind="unknown_step")
    allowed, who = ACTION_FLOW[to]
    if who == "chair":
        require_chair(g, actor, doing=f"mark action items {to}")
    elif not (actor.org_id == a.owner_org_id or is_chair(g, actor) or actor.is_operator):
        raise Forbidden("only the owner organisation moves its action item", kind="action_owner_only")
    at = now or clock()
    values: dict[str, object] = {"status": to}
    if to == "done":
        values["done_at"] = at
    if to == "verified":
        values.update(verified_at=at, verified_by=actor.username)
    res = db.execute(
        update(ActionItem).where(ActionItem.id == a.id, ActionItem.status.in_(allowed)).values(**values)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if getattr(res, "rowcount", 0) != 1:
        raise InvalidTransition(
            f"action item {a.id} is '{a.status}': cannot move to '{to}'", kind="action_step_not_now"
        )
    db.refresh(a)
    if to == "verified" and a.lesson_id is not None:
        db.execute(
            update(Lesson).where(Lesson.id == a.lesson_id).values(status="implemented", implemented_at=at)
        )
    audit.record(db, actor=actor, action=f"groups.action.{to}", target=f"action:{a.id}")
    return a
