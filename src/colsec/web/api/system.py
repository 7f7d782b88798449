"""Health, node description and statistics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import text

from colsec import __version__
from colsec.accounts.roles import Actor, Role
from colsec.errors import NotFound
from colsec.store import queries
from colsec.web.deps import ActorDep, DbDep, get_database, get_settings, require_role

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
