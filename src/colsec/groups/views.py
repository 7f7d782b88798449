"""Read models of the groups domain: the group page, the decisions search, register exports.

Every select starts from the groups the reader may see (``access.visible_group_ids``) and
TLP:RED papers from the reader's organisation being named, so nothing here says anything about a
group, paper or decision the reader may not see.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation, User
from colsec.accounts.roles import Actor
from colsec.crisis.states import aware
from colsec.crisis.states import now as clock
from colsec.groups.access import get_group, is_chair, is_secretary, member_kind, visible_group_ids
from colsec.groups.minutes import STYLE, pdf
from colsec.groups.models import (
    ActionItem,
    Attendance,
    Decision,
    Delegation,
    Group,
    Meeting,
    Member,
    Paper,
    Person,
    Procedure,
)
from colsec.groups.papers import paper_visible
from colsec.stix.tlp import TLP

__all__ = [
    "DelegationRow",
    "GroupPage",
    "decisions_csv",
    "decisions_pdf",
    "group_page",
    "minutes_pdf",
    "search_decisions",
]


@dataclass(frozen=True)
class DelegationRow:
    """A delegation still to come or under way, as the group page lists it beside the members."""

    organisation: str
    representative: str  # who delegated (the representative's username)
    deputy: str
    starts_at: datetime
    ends_at: datetime
    current: bool


@dataclass
class GroupPage:
    group: Group
    members: list[tuple[str, str]]  # (short name, member | observer)
    chair: str | None
    secretary: str | None
    is_chair: bool
    is_secretary: bool
    my_kind: str | None
    meetings: list[Meeting]
    procedures: list[Procedure]
    decisions: list[Decision]
    actions: list[ActionItem]
    open_actions: int
    papers: list[Paper]
    org_names: dict[int, str]
    attended: frozenset[int] = frozenset()  # meetings the reader's organisation attended (may comment)
    people: list[tuple[str, str, str]] = field(default_factory=list)  # (short name, username, function)
    delegations: list[DelegationRow] = field(default_factory=list)


def _delegations(db: Session, group_id: int, *, at: datetime, limit: int) -> list[DelegationRow]:
    """Current and upcoming delegations: members see who answers for whom, and until when; ended
    ones are history (the audit log keeps them)."""
    rows = db.execute(
        select(Organisation.short_name, Delegation.created_by, User.username, Delegation.starts_at, Delegation.ends_at)
        .join(Organisation, Organisation.id == Delegation.organisation_id)
        .join(User, User.id == Delegation.deputy_user_id)
        .where(Delegation.group_id == group_id, Delegation.ends_at > at)
        .order_by(Delegation.starts_at, Organisation.short_name, Delegation.id)
        .limit(limit)
    ).all()  # fmt: skip
    return [
        DelegationRow(o, by, deputy, aware(starts), aware(ends), aware(starts) <= at)
        for o, by, deputy, starts, ends in rows
    ]


def group_page(
    db: Session, *, actor: Actor, group_id: int, limit: int = 50, now: datetime | None = None
) -> GroupPage:
    g = get_group(db, actor, group_id)
    members = [(s, k) for s, k in db.execute(
        select(Organisation.short_name, Member.kind).join(Member, Member.organisation_id == Organisation.id)
        .where(Member.group_id == g.id).order_by(Organisation.short_name)
    ).all()]  # fmt: skip
    users = dict(db.execute(
        select(User.id, User.username).where(User.id.in_([u for u in (g.chair_user_id, g.secretary_user_id) if u]))
    ).all())  # fmt: skip
    open_q = select(ActionItem).where(
        ActionItem.group_id == g.id, ActionItem.status.in_(("open", "in_progress", "done"))
    )
    papers = [p for p in db.execute(select(Paper).where(Paper.group_id == g.id).order_by(Paper.id.desc()).limit(limit)).scalars()
              if paper_visible(db, actor, p)]  # fmt: skip
    return GroupPage(
        group=g, members=members, chair=users.get(g.chair_user_id or 0), secretary=users.get(g.secretary_user_id or 0),
        is_chair=is_chair(g, actor), is_secretary=is_secretary(g, actor), my_kind=member_kind(db, g.id, actor.org_id),
        meetings=list(db.execute(select(Meeting).where(Meeting.group_id == g.id).order_by(Meeting.starts_at.desc()).limit(limit)).scalars()),
        procedures=list(db.execute(select(Procedure).where(Procedure.group_id == g.id).order_by(Procedure.id.desc()).limit(limit)).scalars()),
        decisions=list(db.execute(select(Decision).where(Decision.group_id == g.id).order_by(Decision.id.desc()).limit(limit)).scalars()),
        actions=list(db.execute(open_q.order_by(ActionItem.due_on, ActionItem.id).limit(limit)).scalars()),
        open_actions=db.execute(select(func.count()).select_from(open_q.subquery())).scalar_one(),
        papers=papers, org_names=dict(db.execute(select(Organisation.id, Organisation.short_name)).all()),
        attended=frozenset(db.execute(select(Attendance.meeting_id).join(Meeting, Meeting.id == Attendance.meeting_id).where(
            Meeting.group_id == g.id, Attendance.organisation_id == actor.org_id, Attendance.present)).scalars()),
        people=[(o, u, f) for o, u, f in db.execute(
            select(Organisation.short_name, User.username, Person.function)
            .join(Person, Person.organisation_id == Organisation.id).join(User, User.id == Person.user_id)
            .where(Person.group_id == g.id).order_by(Organisation.short_name, Person.function.desc(), User.username)
        ).all()],
        delegations=_delegations(db, g.id, at=now or clock(), limit=limit),
    )  # fmt: skip


def _escape_like(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_decisions(
    db: Session, *, actor: Actor, q: str = "", group_id: int | None = None, limit: int = 100, offset: int = 0
) -> list[Decision]:
    """Decisions of the reader's groups whose number or text (either language) contains ``q``."""
    stmt = select(Decision).where(Decision.group_id.in_(visible_group_ids(actor)))
    if group_id is not None:
        stmt = stmt.where(Decision.group_id == group_id)
    q = q.strip()
    if q:
        pat = f"%{_escape_like(q.lower())}%"
        stmt = stmt.where(
            or_(
                *(
                    func.lower(c).like(pat, escape="\\")
                    for c in (Decision.number, Decision.text_en, Decision.text_ru)
                )
            )
        )
    return list(
        db.execute(
            stmt.order_by(Decision.adopted_on.desc(), Decision.id.desc())
            .limit(min(limit, 1000))
            .offset(offset)
        ).scalars()
    )


COLUMNS = ("number", "adopted_on", "how", "tlp", "text_en", "text_ru", "positions")


def _rows(decisions: list[Decision]) -> list[dict[str, Any]]:
    return [
        {"number": d.number, "adopted_on": d.adopted_on.isoformat(), "how": d.how, "tlp": TLP(d.tlp).display,
         "text_en": d.text_en, "text_ru": d.text_ru,
         "positions": "; ".join(f"{k}: {v}" for k, v in sorted(orjson.loads(d.positions).items()))}
        for d in decisions
    ]  # fmt: skip


def _cell(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: quote them (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def decisions_csv(db: Session, *, actor: Actor, group_id: int | None = None, q: str = "") -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=COLUMNS)
    w.writeheader()
    for row in _rows(search_decisions(db, actor=actor, q=q, group_id=group_id, limit=1000)):
        w.writerow({k: _cell(str(v)) for k, v in row.items()})
    return out.getvalue()


def minutes_pdf(db: Session, *, actor: Actor, meeting_id: int) -> bytes:
    """The approved minutes as frozen at approval (both languages); no verb changes them."""
    from colsec.crisis.errors import InvalidTransition
    from colsec.groups.meetings import get_meeting

    m, _ = get_meeting(db, actor=actor, meeting_id=meeting_id)
    if m.status != "minutes_approved" or m.minutes_pdf is None:
        raise InvalidTransition(
            f"the minutes of meeting {m.id} are not approved yet", kind="minutes_not_approved"
        )
    return m.minutes_pdf


def decisions_pdf(db: Session, *, actor: Actor, group_id: int) -> bytes:
    """The register of one group as PDF (WeasyPrint), both languages side by side; data is escaped."""
    from html import escape

    g = get_group(db, actor, group_id)
    rows = _rows(search_decisions(db, actor=actor, group_id=g.id, limit=1000))
    body = "".join(
        f"<tr><td>{escape(r['number'])}</td><td>{escape(r['adopted_on'])}</td><td>{escape(r['how'])}</td>"
        f"<td>{escape(r['text_en'])}</td><td>{escape(r['text_ru'])}</td></tr>"
        for r in rows
    )
    html = (f"<html><head><meta charset='utf-8'><style>{STYLE}</style></head><body>"
            f"<h1>{escape(g.code)}: {escape(g.name_en)} / {escape(g.name_ru)}</h1>"
            f"<p>{escape(TLP(g.default_tlp).display)}</p><table>{body}</table></body></html>")  # fmt: skip
    return pdf(html)
