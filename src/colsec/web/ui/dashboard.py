"""The dashboard: the situational picture of the alliance as this organisation sees it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from colsec.accounts.roles import Actor
from colsec.crisis import views as crisis_views
from colsec.federation import views as federation_views
from colsec.intel import alerts as intel_alerts
from colsec.store import views as store_views
from colsec.web.deps import DbDep
from colsec.web.ui import worldmap
from colsec.web.ui.render import PageActor, page

router = APIRouter(include_in_schema=False)


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
            "crisis": crisis_views.situation(db, actor=actor),
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
    panel = crisis_views.situation(db, actor=actor)
    return page(request, "ui/_crisis_panel_box.html", {"crisis": panel}, actor=actor)
