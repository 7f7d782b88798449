"""The crisis read models the dashboard and the crisis pages render."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from tests.crisis.test_service_flow import _crisis, _request

from colsec.crisis import service, views
from colsec.crisis.schemas import ConsultationIn, PositionIn
from colsec.crisis.states import OFFER


def test_awaiting_lists_unanswered_consultations_soonest_first(db: Session, alliance: Any) -> None:
    crisis_id = _crisis(db, alliance)
    now = datetime.now(UTC)
    late = service.open_consultation(
        db, actor=alliance.coordinator.actor, request_id=_request(db, alliance, crisis_id),
        data=ConsultationIn(question="Send a team later?", deadline=now + timedelta(hours=9)),
    )  # fmt: skip
    soon = service.open_consultation(
        db, actor=alliance.coordinator.actor, request_id=_request(db, alliance, crisis_id, org="SD"),
        data=ConsultationIn(question="Send a team now?", deadline=now + timedelta(hours=2)),
    )  # fmt: skip
    ev = alliance.reps["EV"].actor
    waiting = views.awaiting_consultations(db, actor=ev)
    assert [w["c"].id for w in waiting] == [soon.id, late.id]
    assert all(w["deadline"].tzinfo is not None for w in waiting)

    service.post_position(db, actor=ev, consultation_id=soon.id, data=PositionIn(stance="agree"))
    assert [w["c"].id for w in views.awaiting_consultations(db, actor=ev)] == [late.id]
    # The crisis centre is not among the members asked: nothing awaits its answer.
    assert views.awaiting_consultations(db, actor=alliance.coordinator.actor) == []

    panel = views.situation(db, actor=ev)
    assert [c.id for c in panel["crises"]] == [crisis_id]
    assert [w["c"].id for w in panel["awaiting"]] == [late.id]


def test_offer_steps_follow_the_state_machine() -> None:
    assert views.NEXT_OFFER_STEPS["offered"] == ("accepted", "declined")
    for state, steps in views.NEXT_OFFER_STEPS.items():
        assert steps and all(state in OFFER[step] for step in steps)
    assert "demobilised" not in views.NEXT_OFFER_STEPS  # the last step leads nowhere
