"""A lesson from a closed crisis becomes a group's action item; verifying it marks the lesson implemented."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient

from colsec.crisis import crises
from colsec.crisis.models import Crisis, Lesson
from colsec.crisis.schemas import LessonIn
from colsec.db import Database
from colsec.errors import InvalidInput
from colsec.groups import actions
from colsec.groups.schemas import LessonActionIn

from .conftest import Committee


def _crisis(database: Database, c: Committee, status: str) -> int:
    with database.unit_of_work() as s:
        crisis = Crisis(
            title=f"Ransomware wave ({status})", lead_username=c.coordinator.user.username, status=status
        )
        s.add(crisis)
        s.flush()
        return crisis.id


def test_lesson_becomes_action_item_and_verification_implements_it(
    client: TestClient, database: Database, committee: Committee
) -> None:
    closed = _crisis(database, committee, "closed")
    with database.unit_of_work() as s:
        lesson = crises.add_lesson(s, actor=committee.coordinator.actor, crisis_id=closed,
                                   data=LessonIn(kind="recommendation", text="Pre-agree a common IOC format", owner="WG3"))  # fmt: skip
        lesson_id = lesson.id
        assert lesson.status == "recorded"
    body = {"lesson_id": lesson_id, "owner_organisation": "SD", "due_on": date(2027, 6, 1).isoformat()}
    assert client.post(f"/api/v1/groups/{committee.group_id}/actions/from-lesson", headers=committee.reps["SD"].headers,
                       json=body).status_code == 403  # fmt: skip
    r = client.post(
        f"/api/v1/groups/{committee.group_id}/actions/from-lesson", headers=committee.chair.headers, json=body
    )
    assert r.status_code == 201, r.text
    action = r.json()
    assert (
        action["source"] == "lesson"
        and action["lesson_id"] == lesson_id
        and "common IOC format" in action["title"]
    )
    assert client.post(f"/api/v1/groups/{committee.group_id}/actions/from-lesson", headers=committee.chair.headers,
                       json=body).status_code == 409  # fmt: skip

    sd = committee.reps["SD"].headers
    assert (
        client.post(
            f"/api/v1/groups/actions/{action['id']}/verified", headers=committee.chair.headers
        ).status_code
        == 409
    )
    assert client.post(f"/api/v1/groups/actions/{action['id']}/done", headers=sd).status_code == 200
    with database.unit_of_work(write=False) as s:
        assert s.get(Lesson, lesson_id).status == "recorded"  # type: ignore[union-attr]
    assert (
        client.post(
            f"/api/v1/groups/actions/{action['id']}/verified", headers=committee.chair.headers
        ).status_code
        == 200
    )
    with database.unit_of_work(write=False) as s:
        les = s.get(Lesson, lesson_id)
        assert les is not None and les.status == "implemented" and les.implemented_at is not None
    lessons = client.get(f"/api/v1/crisis/crises/{closed}/lessons", headers=committee.coordinator.headers)
    assert lessons.status_code == 200 and lessons.json()[0]["status"] == "implemented"


def test_only_lessons_of_closed_crises(database: Database, committee: Committee) -> None:
    running = _crisis(database, committee, "active")
    with database.unit_of_work() as s:
        s.add(
            Lesson(
                crisis_id=running, kind="failed", text="early note", author="x", created_at=datetime.now(UTC)
            )
        )
        s.flush()
        lid = s.query(Lesson.id).filter_by(crisis_id=running).scalar()
    with database.unit_of_work() as s, pytest.raises(InvalidInput, match="closed crises"):
        actions.action_from_lesson(s, actor=committee.chair.actor, group_id=committee.group_id,
                                   data=LessonActionIn(lesson_id=lid, owner_organisation="SD", due_on=date(2027, 1, 1)))  # fmt: skip
    with database.unit_of_work() as s, pytest.raises(InvalidInput, match="not in WG3"):
        closed = Crisis(title="c", lead_username="x", status="reviewed")
        s.add(closed)
        s.flush()
        les = Lesson(crisis_id=closed.id, kind="failed", text="t", author="x", created_at=datetime.now(UTC))
        s.add(les)
        s.flush()
        actions.action_from_lesson(s, actor=committee.chair.actor, group_id=committee.group_id,
                                   data=LessonActionIn(lesson_id=les.id, owner_organisation="OUT", due_on=date(2027, 1, 1)))  # fmt: skip
