"""A crisis replayed from its record: the state at an instant, and the instants the slider offers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from colsec.crisis import replay
from colsec.exercises import views
from colsec.web.deps import ActorDep, DbDep
from colsec.web.params import IdPath

router = APIRouter()


@router.get("/crises/{crisis_id}/replay")
def crisis_replay(crisis_id: IdPath, db: DbDep, actor: ActorDep, at: datetime | None = None) -> Any:
    """``at`` (ISO 8601; UTC when no offset is given) defaults to the last recorded change."""
    views.readable_crisis(db, actor, crisis_id)
    times = replay.instants(db, crisis_ids=[crisis_id])
    when = at or (times[-1] if times else datetime.now(UTC))
    return {"at": when, "instants": times, "state": replay.replay(db, crisis_id=crisis_id, at=when)}
