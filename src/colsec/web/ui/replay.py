"""Replay pages: a crisis, or every crisis of an exercise run, as it stood at a chosen minute.

The server renders the state replayed from the record (``colsec.crisis.replay``); the slider
(``static/replay.js``, no inline script under the CSP) steps through the recorded instants and
reloads the page at the one chosen.  Without script, the minute field does the same.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from colsec.accounts.service import organisations_by_id
from colsec.crisis import replay
from colsec.crisis.states import aware
from colsec.errors import InvalidInput
from colsec.exercises import views
from colsec.web.deps import DbDep
from colsec.web.params import IdPath
from colsec.web.ui.render import PageActor, page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_MINUTE = re.compile(r"T\d\d:\d\d$")


def _at(value: str | None) -> datetime | None:
    if not value:
        return None
    text = value.strip()
    try:
        when = aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise InvalidInput(f"'at' must be a date and time (ISO 8601), not {value[:40]!r}") from None
    # a minute (the minute field) means the state at its end: every change made during it counts
    return when + timedelta(seconds=59, microseconds=999_999) if _MINUTE.search(text) else when


def _slider(times: list[datetime], at: datetime | None) -> dict[str, Any]:
    """The instant shown (default: the last change) and its place on the slider."""
    when = at or (times[-1] if times else None)
    index = max(bisect_right(times, when) - 1, 0) if when is not None and times else 0
    return {
        "at": when,
        "instants": [t.isoformat() for t in times],
        "index": index,
        "minute": when.strftime("%Y-%m-%dT%H:%M") if when else "",
    }


@router.get("/crisis/{crisis_id}/replay", response_class=HTMLResponse)
def crisis_replay(
    request: Request, db: DbDep, actor: PageActor, crisis_id: IdPath, at: str | None = None
) -> HTMLResponse:
    crisis = views.readable_crisis(db, actor, crisis_id)
    slider = _slider(replay.instants(db, crisis_ids=[crisis_id]), _at(at))
    states = [replay.replay(db, crisis_id=crisis_id, at=slider["at"])] if slider["at"] else []
    ctx = {
        "subject": crisis, "back": f"/crisis/{crisis_id}", "action": f"/crisis/{crisis_id}/replay",
        "states": states, "orgs": organisations_by_id(db), **slider,
    }  # fmt: skip
    return page(request, "ui/replay.html", ctx, actor=actor)


@router.get("/exercises/runs/{run_id}/replay", response_class=HTMLResponse)
def run_replay(
    request: Request, db: DbDep, actor: PageActor, run_id: IdPath, at: str | None = None
) -> HTMLResponse:
    run = views.readable_run(db, actor, run_id)
    found = replay.run_replay(db, run_id=run.id, at=_at(at))
    slider = _slider(found["instants"], found["at"])
    ctx = {
        "subject": _subject(run), "run": run, "back": f"/exercises/runs/{run.id}",
        "action": f"/exercises/runs/{run.id}/replay", "states": found["crises"], "orgs": organisations_by_id(db),
        **slider,
    }  # fmt: skip
    return page(request, "ui/replay.html", ctx, actor=actor)


def _subject(run: Any) -> dict[str, Any]:
    return {"title": run.name, "exercise_run_id": run.id}
