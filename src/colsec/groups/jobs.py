"""The groups sweep, a periodic durable job: procedure deadlines and reminders, action items due and overdue.

Each step claims its rows with a conditional UPDATE (``reminded_at``/``escalated_at`` still
NULL), so concurrent or repeated runs tell nobody twice.  Reminders are grouped per person
(one notice listing their items), which keeps a sweep over tens of thousands of items cheap.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.crisis import notify as notices
from colsec.crisis.states import now as clock
from colsec.db import Database
from colsec.groups.models import ActionItem, Group, Person
from colsec.groups.procedure import close_due, remind_pending
from colsec.jobs.runner import JobContext
from colsec.outbox.text import N_

__all__ = [
    "REMIND_DAYS_BEFORE",
    "SWEEP_KIND",
    "SWEEP_SECONDS",
    "SweepReport",
    "remind_actions",
    "run_sweep",
    "sweep",
]

SWEEP_KIND = "groups.sweep"
SWEEP_SECONDS = 300
REMIND_DAYS_BEFORE = 3
_OPEN = ("open", "in_progress")


@dataclass
class SweepReport:
    closed_procedures: list[int] = field(default_factory=list)
    procedure_reminders: int = 0
    actions_reminded: int = 0
    actions_escalated: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _claim(
    db: Session, column: Any, where: list[Any], at: datetime
) -> list[tuple[int, int, int, int | None, str, str]]:
    """Stamp ``column`` on the matching unclaimed items; returns (id, group, owner org, owner user, title, due)."""
    rows = db.execute(
        update(ActionItem).where(*where, column.is_(None)).values({column: at})
        .returning(ActionItem.id, ActionItem.group_id, ActionItem.owner_org_id, ActionItem.owner_user_id,
                   ActionItem.title, ActionItem.due_on)
        .execution_options(synchronize_session=False)
    ).all()  # fmt: skip
    return [(r[0], r[1], r[2], r[3], r[4], r[5].isoformat()) for r in rows]


def remind_actions(db: Session, *, now: datetime | None = None) -> tuple[int, int]:
    """Remind owners of items due within ``REMIND_DAYS_BEFORE`` days; escalate overdue items to the chair."""
    at = now or clock()
    today = at.date()
    soon = _claim(db, ActionItem.reminded_at,
                  [ActionItem.status.in_(_OPEN), ActionItem.due_on <= today + timedelta(days=REMIND_DAYS_BEFORE)], at)  # fmt: skip
    late = _claim(db, ActionItem.escalated_at, [ActionItem.status.in_(_OPEN), ActionItem.due_on < today], at)
    group_ids = {r[1] for r in soon} | {r[1] for r in late}
    if not group_ids:
        return 0, 0
    groups = {g.id: g for g in db.execute(select(Group).where(Group.id.in_(group_ids))).scalars()}
    reps: dict[tuple[int, int], list[int]] = defaultdict(list)
    for rep_gid, rep_org, rep_user in db.execute(
        select(Person.group_id, Person.organisation_id, Person.user_id).where(
            Person.group_id.in_(group_ids), Person.function == "representative"
        )
    ):
        reps[(rep_gid, rep_org)].append(rep_user)
    names = dict(db.execute(select(Organisation.id, Organisation.short_name)).all())
    per_user: dict[int, list[notices.Text]] = defaultdict(list)
    for aid, gid, org, uid, title, due in soon:
        owners: list[int] = [uid] if uid is not None else reps.get((gid, org), [])
        for u in owners:
            per_user[u].append(notices.Text("[%(code)s] #%(id)s due %(due)s: %(title)s",
                                            {"code": groups[gid].code, "id": aid, "due": str(due), "title": title}))  # fmt: skip
    for u, lines in per_user.items():
        notices.notify(db, kind="groups.action.reminder", subject=notices.Text("Action items due soon: %(n)s", {"n": len(lines)}),
                       body=lines, target="actions:due", user_ids=[u])  # fmt: skip
    per_chair: dict[int, list[notices.Text]] = defaultdict(list)
    for aid, gid, org, _uid, title, due in late:
        chair = groups[gid].chair_user_id
        if chair is not None:
            per_chair[chair].append(notices.Text(
                "[%(code)s] #%(id)s (%(org)s) overdue since %(due)s: %(title)s",
                {"code": groups[gid].code, "id": aid, "org": names.get(org, org), "due": str(due), "title": title},
            ))  # fmt: skip
    for u, lines in per_chair.items():
        notices.notify(db, kind="groups.action.overdue", subject=notices.Text("Action items overdue in your groups: %(n)s", {"n": len(lines)}),
                       body=lines, target="actions:overdue", user_ids=[u])  # fmt: skip
    return len(soon), len(late)


def sweep(database: Database, *, now: datetime | None = None) -> SweepReport:
    at = now or clock()
    report = SweepReport()
    with database.unit_of_work() as s:
        report.closed_procedures = close_due(s, now=at)
        report.procedure_reminders = remind_pending(s, now=at)
        report.actions_reminded, report.actions_escalated = remind_actions(s, now=at)
    return report


def run_sweep(ctx: JobContext) -> dict[str, Any]:
    """The periodic job (``Schedule(SWEEP_KIND, SWEEP_SECONDS)``); a job payload may carry ``now`` (ISO)."""
    raw = ctx.payload.get("now")
    return sweep(ctx.database, now=datetime.fromisoformat(raw) if isinstance(raw, str) else None).to_dict()


DIGEST_KIND = "groups.digest"
DIGEST_SECONDS = 7 * 24 * 3600
DIGEST_HORIZON = timedelta(days=14)


def weekly_digest(db: Session, *, now: datetime | None = None) -> int:
    """One notice per person of the groups: meetings ahead, procedures still awaiting their
    organisation's answer, and their organisation's action items due or overdue; nothing, no notice."""
    from colsec.accounts.models import User
    from colsec.groups.models import Meeting, Procedure, ProcedureAnswer, ProcedureMember

    at = now or clock()
    people: dict[int, set[int]] = defaultdict(set)  # user -> groups
    org_of: dict[int, int] = {}
    for gid, uid, org in db.execute(select(Person.group_id, Person.user_id, Person.organisation_id)):
        people[uid].add(gid)
        org_of[uid] = org
    for gid, chair, sec in db.execute(select(Group.id, Group.chair_user_id, Group.secretary_user_id)):
        for officer in (chair, sec):
            if officer is not None:
                people[officer].add(gid)
    if not people:
        return 0
    for uid, org in db.execute(select(User.id, User.organisation_id).where(User.id.in_(list(people)))):
        org_of.setdefault(uid, org)
    codes = dict(db.execute(select(Group.id, Group.code)).all())
    meetings: dict[int, list[notices.Text]] = defaultdict(list)
    for gid, title, starts in db.execute(
        select(Meeting.group_id, Meeting.title, Meeting.starts_at)
        .where(Meeting.status == "planned", Meeting.starts_at >= at, Meeting.starts_at <= at + DIGEST_HORIZON)
        .order_by(Meeting.starts_at)
    ):  # fmt: skip
        meetings[gid].append(notices.Text("[%(code)s] meeting '%(title)s' on %(start)s",
                                          {"code": codes[gid], "title": title, "start": starts.strftime("%Y-%m-%d %H:%M UTC")}))  # fmt: skip
    waiting: dict[tuple[int, int], list[notices.Text]] = defaultdict(list)  # (group, org) -> lines
    answered = {
        (p, o) for p, o in db.execute(select(ProcedureAnswer.procedure_id, ProcedureAnswer.organisation_id))
    }
    for pid, gid, question, deadline, org in db.execute(
        select(Procedure.id, Procedure.group_id, Procedure.question, Procedure.deadline, ProcedureMember.organisation_id)
        .join(ProcedureMember, ProcedureMember.procedure_id == Procedure.id).where(Procedure.status == "open")
    ):  # fmt: skip
        if (pid, org) not in answered:
            waiting[(gid, org)].append(notices.Text(
                "[%(code)s] written procedure #%(id)s until %(until)s: %(question)s",
                {"code": codes[gid], "id": pid, "until": deadline.strftime("%Y-%m-%d"), "question": question[:120]},
            ))  # fmt: skip
    due: dict[tuple[int, int], list[notices.Text]] = defaultdict(list)
    for aid, gid, org, title, due_on in db.execute(
        select(ActionItem.id, ActionItem.group_id, ActionItem.owner_org_id, ActionItem.title, ActionItem.due_on)
        .where(ActionItem.status.in_(_OPEN), ActionItem.due_on <= (at + DIGEST_HORIZON).date())
        .order_by(ActionItem.due_on)
    ):  # fmt: skip
        line = (
            N_("[%(code)s] action #%(id)s due %(due)s (overdue): %(title)s")
            if due_on < at.date()
            else N_("[%(code)s] action #%(id)s due %(due)s: %(title)s")
        )
        due[(gid, org)].append(
            notices.Text(
                line, {"code": codes[gid], "id": aid, "due": due_on.isoformat(), "title": title[:120]}
            )
        )
    sent = 0
    for uid, gids in sorted(people.items()):
        mine = org_of.get(uid, 0)
        lines = [line for g in sorted(gids) for line in meetings[g]]
        lines += [line for g in sorted(gids) for line in waiting.get((g, mine), [])]
        lines += [line for g in sorted(gids) for line in due.get((g, mine), [])]
        if lines:
            sent += notices.notify(db, kind="groups.digest", subject=notices.Text("Working groups: your week (items: %(n)s)", {"n": len(lines)}),
                                   body=lines, target="groups:digest", user_ids=[uid])  # fmt: skip
    return sent


def run_digest(ctx: JobContext) -> dict[str, Any]:
    """The weekly job (``Schedule(DIGEST_KIND, DIGEST_SECONDS)``); a payload may carry ``now`` (ISO)."""
    raw = ctx.payload.get("now")
    with ctx.database.unit_of_work() as s:
        return {"told": weekly_digest(s, now=datetime.fromisoformat(raw) if isinstance(raw, str) else None)}
