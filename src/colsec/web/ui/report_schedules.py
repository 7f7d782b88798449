"""The bulletin schedules page: what the CLI's ``report schedule`` and ``PUT /api/v1/reports/schedules`` do.

The route only reads the form: who may set a schedule (``require_scheduler``) and which
schedules are allowed (``set_schedule``) are the domain's, the same calls the API makes.  A
refusal re-renders the form with the reader's values and a message in the reader's language,
chosen by the refusal's stable reason (``details["refused"]``), never by its English text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.errors import InvalidInput
from colsec.reports.audience import AUDIENCES, audience_level
from colsec.reports.schedule import list_schedules, next_slot, require_scheduler, set_schedule
from colsec.web.deps import DbDep
from colsec.web.i18n import N_
from colsec.web.ui.forms import see_other
from colsec.web.ui.render import FormActor, PageActor, WriteDb, form_data, page
from colsec.web.ui.reports import KIND_NAMES

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

REFUSALS = {
    "auto_publish": N_(
        "Only a data-only %(marking)s bulletin (no commentary, not a joint advisory) may be published "
        "automatically."
    ),
    "time": N_("The time must be a time of day, HH:MM."),
}
REFUSED = N_("This schedule cannot be set.")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _render(
    request: Request, db: Session, actor: Actor, *, form: dict[str, Any] | None = None,
    error: str | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    now = datetime.now(UTC)
    rows = list_schedules(db)
    schedules = [
        {
            "kind": kind,
            "row": rows.get(kind),
            "last": _aware(rows[kind].last_slot) if kind in rows and rows[kind].last_slot else None,  # type: ignore[arg-type]
            "next": next_slot(kind, rows[kind].hour, rows[kind].minute, now) if kind in rows else None,
        }
        for kind in KIND_NAMES
    ]
    values = form or {"kind": "daily", "audience": "green", "at": "07:00"}
    return page(
        request,
        "ui/report_schedules.html",
        {"schedules": schedules, "kinds": KIND_NAMES, "audiences": list(AUDIENCES), "form": values,
         "error": error},
        actor=actor,
        status=status,
    )  # fmt: skip


@router.get("/reports/schedules", response_class=HTMLResponse)
def schedules_page(request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    require_scheduler(actor)
    return _render(request, db, actor)


@router.post("/reports/schedules")
async def schedules_set(request: Request, db: WriteDb, actor: FormActor) -> Response:
    require_scheduler(actor)
    raw = await form_data(request)
    form = {
        "kind": str(raw.get("kind", "")),
        "audience": str(raw.get("audience", "")),
        "at": str(raw.get("at", "")).strip(),
        "commentary": raw.get("commentary") is not None,
        "auto_publish": raw.get("auto_publish") is not None,
    }
    hh, _, mm = str(form["at"]).partition(":")
    try:
        if not (hh.isdigit() and mm.isdigit()):
            raise InvalidInput(f"time {form['at']!r}: HH:MM", details={"refused": "time"})
        set_schedule(
            db, kind=str(form["kind"]), audience=audience_level(str(form["audience"])), hour=int(hh),
            minute=int(mm), commentary=bool(form["commentary"]), auto_publish=bool(form["auto_publish"]),
            actor=actor,
        )  # fmt: skip
    except InvalidInput as exc:
        reason = exc.details.get("refused") if isinstance(exc.details, dict) else None
        return _render(request, db, actor, form=form, error=REFUSALS.get(str(reason), REFUSED), status=422)
    return see_other("/reports/schedules")
