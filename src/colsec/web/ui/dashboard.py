"""The dashboard: the situational picture of the alliance as this organisation sees it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.crisis import service as crisis_service
from colsec.crisis import views as crisis_views
from colsec.federation import views as federation_views
from colsec.intel import alerts as intel_alerts
from colsec.store import views as store_views
from colsec.web.deps import DbDep
from colsec.web.ui import worldmap
from colsec.web.ui.crisis import metric_figures
from colsec.web.ui.render import PageActor, page

router = APIRouter(include_in_schema=False)

RECENT = timedelta(days=30)


def _panel(db: Session, actor: Actor) -> dict[str, Any]:
    """The crises panel with each open crisis's metrics and the recent period's, computed by the
    crisis domain's one ``crisis_metrics`` (the API's numbers, formatted in the page's language)."""
    panel = crisis_views.situation(db, actor=actor)
    panel["metrics"] = {
        c.id: metric_figures(crisis_service.crisis_metrics(db, crisis_id=c.id)) for c in panel["crises"]
    }
    panel["recent_days"] = RECENT.days
    panel["recent"] = metric_figures(crisis_service.crisis_metrics(db, since=panel["now"] - RECENT))
    return panel


def _is_centre(board: store_views.Dashboard, actor: Actor) -> bool:
    return any(m.org.id == actor.org_id and m.org.kind == "crisis_centre" for m in board.members)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    board = store_views.dashboard(db, actor=actor)
    by_shape = {}
    for m in board.members:
        shape = worldmap.shape_id_for(m.org.country)
        if shape:
            by_shape[shape] = m
    return page(
        request,
        "ui/dashboard.html",
        {
            "board": board,
            "shapes": worldmap.country_shapes(),
            "by_shape": by_shape,
            "map_size": (worldmap.WIDTH, worldmap.HEIGHT),
            "crisis": _panel(db, actor),
            "crisis_levels": crisis_views.member_alert_levels(db),
            "exposure": intel_alerts.open_exposure_by_member(
                db, actor_org_id=actor.org_id, sees_all=actor.is_operator or _is_centre(board, actor)
            ),
            "federation": federation_views.peer_health(db),
        },
        actor=actor,
    )


@router.get("/dashboard/crisis-panel", response_class=HTMLResponse)
def crisis_panel(request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    """The crises panel alone: the dashboard re-fetches it every 30 s so countdowns stay current."""
    panel = _panel(db, actor)
    return page(request, "ui/_crisis_panel_box.html", {"crisis": panel}, actor=actor)
