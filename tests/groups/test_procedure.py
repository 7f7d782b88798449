"""Written procedure: silence, objections, deputies under delegation, late answers, quorum, observers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from colsec.crisis.errors import ConsultationClosed
from colsec.crisis.outcome import Outcome, Tally
from colsec.db import Database
from colsec.errors import Forbidden, NotFound
from colsec.groups import procedure, service
from colsec.groups.models import Decision, Procedure
from colsec.groups.schemas import AnswerIn, DelegationIn, ProcedureIn, ProcedureRule, Stance

from .conftest import MEMBERS, Committee

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
DEADLINE = T0 + timedelta(days=7)


def _open(database: Database, c: Committee, rule: ProcedureRule, quorum: int | None = None) -> int:
    with database.unit_of_work() as s:
        p = procedure.open_procedure(
            s, actor=c.secretary.actor, group_id=c.group_id, now=T0,
            data=ProcedureIn(question="Adopt the exchange guideline?", text_en="The guideline is adopted.",
                             text_ru="Руководство принято.", rule=rule, quorum=quorum, deadline=DEADLINE),
        )  # fmt: skip
        return p.id


def _answer(
    database: Database, c: Committee, org: str, stance: Stance, at: datetime, *, deputy: bool = False
) -> None:
    who = c.deputies[org] if deputy else c.reps[org]
    with database.unit_of_work() as s:
        procedure.answer(s, actor=who.actor, procedure_id=pid_of(s), data=AnswerIn(stance=stance), now=at)


def pid_of(s: object) -> int:
    return int(s.execute(select(func.max(Procedure.id))).scalar_one())  # type: ignore[attr-defined]


def _state(database: Database, pid: int) -> tuple[str, str | None, str | None]:
    with database.unit_of_work(write=False) as s:
        p = s.get(Procedure, pid)
        assert p is not None
        number = s.execute(select(Decision.number).where(Decision.procedure_id == pid)).scalar()
        return p.status, p.outcome, number


def test_silence_adopts_when_nobody_objects(database: Database, committee: Committee) -> None:
    pid = _open(database, committee, ProcedureRule.SILENCE)
    _answer(database, committee, "NM", Stance.AGREE, T0 + timedelta(days=1))
    with database.unit_of_work() as s:
        assert procedure.close_due(s, now=DEADLINE - timedelta(seconds=1)) == []  # not yet
    assert _state(database, pid)[0] == "open"
    with database.unit_of_work() as s:
        assert procedure.close_due(s, now=DEADLINE) == [pid]
    status, outcome, number = _state(database, pid)
    assert (status, outcome, number) == ("closed", "approved", "WG3-2027-001")
    with database.unit_of_work(write=False) as s:
        d = s.execute(select(Decision).where(Decision.procedure_id == pid)).scalar_one()
        assert d.how == "silence" and "NM" in d.positions and "silent" in d.positions


def test_one_objection_breaks_silence_at_once(database: Database, committee: Committee) -> None:
    pid = _open(database, committee, ProcedureRule.SILENCE)
    _answer(database, committee, "EV", Stance.OBJECT, T0 + timedelta(hours=2))
    status, outcome, number = _state(database, pid)
    assert (status, outcome, number) == ("closed", "rejected", None)
    with pytest.raises(ConsultationClosed):
        _answer(database, committee, "NM", Stance.AGREE, T0 + timedelta(hours=3))


def test_deputy_votes_only_while_the_delegation_is_active(database: Database, committee: Committee) -> None:
    pid = _open(database, committee, ProcedureRule.CONSENSUS)
    with pytest.raises(Forbidden, match="delegation"):  # no delegation at all
        _answer(database, committee, "SD", Stance.AGREE, T0 + timedelta(hours=1), deputy=True)
    with database.unit_of_work() as s:
        service.delegate(s, actor=committee.reps["SD"].actor, group_id=committee.group_id,
                         data=DelegationIn(deputy=committee.deputies["SD"].user.username,
                                           starts_at=T0 + timedelta(days=2), ends_at=T0 + timedelta(days=3)))  # fmt: skip
    with pytest.raises(Forbidden, match="delegation"):  # before the window
        _answer(database, committee, "SD", Stance.AGREE, T0 + timedelta(days=1), deputy=True)
    with pytest.raises(Forbidden, match="delegation"):  # after it
        _answer(database, committee, "SD", Stance.AGREE, T0 + timedelta(days=3, seconds=1), deputy=True)
    with pytest.raises(Forbidden):  # another organisation's deputy holds no delegation
        _answer(database, committee, "NM", Stance.AGREE, T0 + timedelta(days=2, hours=1), deputy=True)
    _answer(database, committee, "SD", Stance.AGREE, T0 + timedelta(days=2, hours=1), deputy=True)
    with database.unit_of_work(write=False) as s:
        p = s.get(Procedure, pid)
        assert p is not None and p.agree_count == 1


def test_late_answers_are_refused(database: Database, committee: Committee) -> None:
    pid = _open(database, committee, ProcedureRule.SIMPLE)
    with pytest.raises(ConsultationClosed, match="past its deadline"):
        _answer(database, committee, "NM", Stance.AGREE, DEADLINE)
    with database.unit_of_work(write=False) as s:
        p = s.get(Procedure, pid)
        assert p is not None and p.agree_count == 0


def test_missing_quorum_gives_no_decision(database: Database, committee: Committee) -> None:
    pid = _open(database, committee, ProcedureRule.CONSENSUS, quorum=4)
    _answer(database, committee, "NM", Stance.AGREE, T0 + timedelta(hours=1))
    _answer(database, committee, "EV", Stance.AGREE, T0 + timedelta(hours=2))
    with database.unit_of_work() as s:
        procedure.close_due(s, now=DEADLINE + timedelta(minutes=1))
    assert _state(database, pid) == ("closed", "no_decision", None)


def test_observers_cannot_vote_and_outsiders_see_nothing(database: Database, committee: Committee) -> None:
    pid = _open(database, committee, ProcedureRule.CONSENSUS)
    with database.unit_of_work() as s, pytest.raises(Forbidden, match="observers"):
        procedure.answer(
            s, actor=committee.observer.actor, procedure_id=pid, data=AnswerIn(stance=Stance.AGREE), now=T0
        )
    with database.unit_of_work() as s, pytest.raises(NotFound):
        procedure.answer(
            s, actor=committee.outsider.actor, procedure_id=pid, data=AnswerIn(stance=Stance.AGREE), now=T0
        )
    with database.unit_of_work(write=False) as s, pytest.raises(NotFound):
        procedure.get_procedure(s, actor=committee.outsider.actor, procedure_id=pid)


def test_consensus_all_agree_closes_early_and_registers(database: Database, committee: Committee) -> None:
    pid = _open(database, committee, ProcedureRule.CONSENSUS)
    for i, m in enumerate(MEMBERS):
        _answer(
            database, committee, m, Stance.ABSTAIN if m == "TL" else Stance.AGREE, T0 + timedelta(hours=i + 1)
        )
    status, outcome, number = _state(database, pid)
    assert (status, outcome) == ("closed", "approved") and number == "WG3-2027-001"
    with database.unit_of_work(write=False) as s:
        assert s.execute(select(Decision.how).where(Decision.procedure_id == pid)).scalar() == "written"


@pytest.mark.parametrize(
    ("agree", "obj", "abstain", "deadline", "expected"),
    [
        (4, 2, 0, True, Outcome.APPROVED),  # exactly two thirds
        (3, 2, 1, True, Outcome.REJECTED),  # 3/5 < 2/3
        (2, 1, 3, True, Outcome.APPROVED),  # abstentions do not count
        (2, 0, 0, True, Outcome.NO_DECISION),  # quorum 4 not reached
        (3, 0, 0, False, None),  # 3 pending could still object or stay silent
        (4, 0, 0, False, Outcome.APPROVED),  # even two objections leave 4/6
        (4, 2, 0, False, Outcome.APPROVED),  # everybody answered
    ],
)
def test_qualified_majority(
    agree: int, obj: int, abstain: int, deadline: bool, expected: Outcome | None
) -> None:
    t = Tally(eligible=6, quorum=4, agree=agree, object=obj, abstain=abstain)
    v = procedure.decide_procedure(ProcedureRule.QUALIFIED, t, deadline_passed=deadline)
    assert v.outcome == expected
    assert v.final is (expected is not None)


def test_qualified_majority_closes_early_when_certain() -> None:
    # 5 of 6 agree: one remaining objection leaves 5/6 >= 2/3
    v = procedure.decide_procedure(
        ProcedureRule.QUALIFIED, Tally(eligible=6, quorum=4, agree=5), deadline_passed=False
    )
    assert v.final and v.outcome is Outcome.APPROVED


def test_reminder_goes_once_to_members_who_have_not_answered(
    database: Database, committee: Committee
) -> None:
    from colsec.crisis.models import Notification

    pid = _open(database, committee, ProcedureRule.CONSENSUS)
    _answer(database, committee, "NM", Stance.AGREE, T0 + timedelta(hours=1))
    with database.unit_of_work() as s:
        assert procedure.remind_pending(s, now=DEADLINE - timedelta(days=2)) == 0  # not yet within a day
    with database.unit_of_work() as s:
        told = procedure.remind_pending(s, now=DEADLINE - timedelta(hours=20))
    with database.unit_of_work() as s:
        assert procedure.remind_pending(s, now=DEADLINE - timedelta(hours=10)) == 0  # once only
        users = set(
            s.execute(
                select(Notification.user_id).where(Notification.kind == "groups.procedure.reminder")
            ).scalars()
        )
    silent = {a.user.id for m, a in committee.reps.items() if m != "NM"} | {
        a.user.id for m, a in committee.deputies.items() if m != "NM"
    }
    assert told == len(silent) == 10 and users == silent
    assert pid
