"""Health, node description and statistics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text

from colsec import __version__
from colsec.store import queries
from colsec.web.deps import ActorDep, DbDep, get_settings

router = APIRouter()


@router.get("/healthz", tags=["system"])
def healthz(db: DbDep) -> dict[str, Any]:
    db.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__}


@router.get("/api/v1/stats", tags=["system"])
def stats(db: DbDep, actor: ActorDep) -> dict[str, Any]:
    viewer = queries.recipient_for_org(db, actor.org_id)
    by_type = queries.count_by_type(db, viewer=viewer)
    return {"objects": sum(by_type.values()), "by_type": by_type}


@router.get("/api/v1/node", tags=["system"])
def node(request: Request) -> dict[str, Any]:
    s = get_settings(request)
    return {"name": s.node_name, "version": __version__, "default_tlp": s.default_tlp}


# The home page ("/") is the UI dashboard: colsec.web.ui.dashboard.
