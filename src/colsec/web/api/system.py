"""Health, node description, statistics, and the interactive API documentation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import text

from colsec import __version__
from colsec.accounts.roles import Actor, Role
from colsec.errors import NotFound
from colsec.store import queries
from colsec.web.deps import ActorDep, DbDep, get_database, get_settings, require_role

router = APIRouter()


# Swagger UI from static/vendor (npm's swagger-ui-dist) and an external start script: FastAPI's
# default page loads it from a CDN with an inline script, which the node's CSP refuses.
_DOCS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>colsec API</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css"></head>
<body><main id="swagger-ui" data-url="/api/openapi.json"></main>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script></body></html>
"""


@router.get("/api/docs", include_in_schema=False)
def api_docs() -> HTMLResponse:
    return HTMLResponse(_DOCS)


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


@router.get("/api/v1/audit/checkpoint", tags=["system"])
def audit_checkpoint(
    request: Request, db: DbDep, actor: Annotated[Actor, Depends(require_role(Role.PEER))]
) -> dict[str, Any]:
    """The signed head of our audit chain, anchored now: peers keep it, so a later truncation
    or rewrite of our log shows against their copy (``colsec audit verify --against``)."""
    cp = get_database(request).audit_anchor.checkpoint(db)
    if cp is None:
        raise NotFound("the audit log is empty")
    return dict(cp.to_dict())


# The home page ("/") is the UI dashboard: colsec.web.ui.dashboard.
