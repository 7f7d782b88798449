"""The weekly digest: meetings ahead, procedures awaiting my organisation, my organisation's due actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from colsec.crisis.models import Notification
from colsec.db import Database
from colsec.groups import actions, meetings, procedure
from colsec.groups.jobs import weekly_digest
from colsec.groups.schemas import ActionIn, AnswerIn, MeetingIn, ProcedureIn, Stance

from .conftest import Committee


def test_weekly_digest(database: Database, committee: Committee) -> None:
    c = committee
    t0 = datetime(2027, 5, 3, 8, 0, tzinfo=UTC)
    with database.unit_of_work() as s:
        meetings.create_meeting(s, actor=c.secretary.actor, group_id=c.group_id, now=t0,
                               data=MeetingIn(title="May plenary", starts_at=t0 + timedelta(days=4), tz="Europe/Riga"))  # fmt: skip
        meetings.create_meeting(s, actor=c.secretary.actor, group_id=c.group_id, now=t0,
                               data=MeetingIn(title="Autumn plenary", starts_at=t0 + timedelta(days=120)))  # fmt: skip
        p = procedure.open_procedure(s, actor=c.secretary.actor, group_id=c.group_id, now=t0,
                                     data=ProcedureIn(question="Adopt the charter?", text_en="Adopted.", text_ru="Принято.",
                                                      deadline=t0 + timedelta(days=6)))  # fmt: skip
        procedure.answer(
            s, actor=c.reps["EV"].actor, procedure_id=p.id, data=AnswerIn(stance=Stance.AGREE), now=t0
        )
        actions.create_action(s, actor=c.secretary.actor, group_id=c.group_id,
                              data=ActionIn(title="NM drafts the charter annex", owner_organisation="NM", due_on=(t0 + timedelta(days=5)).date()))  # fmt: skip
        s.execute(Notification.__table__.delete())
    with database.unit_of_work() as s:
        told = weekly_digest(s, now=t0)
        notes = {
            n.user_id: n.body
            for n in s.execute(select(Notification).where(Notification.kind == "groups.digest")).scalars()
        }
    nm, ev = notes[c.reps["NM"].user.id], notes[c.reps["EV"].user.id]
    assert "May plenary" in nm and "Autumn plenary" not in nm
    assert "Adopt the charter?" in nm and "charter annex" in nm
    assert (
        "Adopt the charter?" not in ev and "charter annex" not in ev and "May plenary" in ev
    )  # EV answered, owns nothing
    assert (
        c.outsider.user.id not in notes and c.observer.user.id in notes
    )  # the observer sees the meeting only
    assert "Adopt the charter?" not in notes[c.observer.user.id]
    assert told == len(notes)
