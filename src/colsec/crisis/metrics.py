"""Time-to-decision, decision-to-first-deployment and coverage, per request, per crisis and overall."""

from __future__ import annotations

from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from colsec.crisis.models import AssistanceRequest, ResourceOffer
from colsec.crisis.resources import COVERING
from colsec.crisis.states import aware

__all__ = ["crisis_metrics"]


def _summary(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "mean_s": None, "median_s": None, "max_s": None}
    return {
        "count": len(values),
        "mean_s": sum(values) / len(values),
        "median_s": median(values),
        "max_s": max(values),
    }


def crisis_metrics(
    db: Session, *, crisis_id: int | None = None, since: datetime | None = None
) -> dict[str, Any]:
    """Figures for one crisis (or all): every request with its own timings, then aggregates.

    ``since`` keeps the requests submitted from then on: the dashboard's recent period is
    this same computation, so its numbers are the API's.
    """
    stmt = select(AssistanceRequest).order_by(AssistanceRequest.id)
    if crisis_id is not None:
        stmt = stmt.where(AssistanceRequest.crisis_id == crisis_id)
    else:
        stmt = stmt.where(AssistanceRequest.exercise_run_id.is_(None))
    if since is not None:
        stmt = stmt.where(AssistanceRequest.submitted_at >= since)
    requests = list(db.execute(stmt).scalars())
    ids = [r.id for r in requests]
    first_deploy: dict[int, Any] = {}
    sums: dict[int, int] = {}
    if ids:
        first_deploy = dict(
            db.execute(
                select(ResourceOffer.request_id, func.min(ResourceOffer.deployed_at))
                .where(ResourceOffer.request_id.in_(ids), ResourceOffer.deployed_at.is_not(None))
                .group_by(ResourceOffer.request_id)
            ).all()
        )
        sums = dict(
            db.execute(
                select(ResourceOffer.request_id, func.sum(ResourceOffer.quantity))
                .where(ResourceOffer.request_id.in_(ids), ResourceOffer.status.in_(COVERING))
                .group_by(ResourceOffer.request_id)
            ).all()
        )
    rows = []
    ttd: list[float] = []
    ttdep: list[float] = []
    needed = covered = 0
    for r in requests:
        decided = r.approved_at or r.rejected_at
        t_decision = (
            (aware(decided) - aware(r.submitted_at)).total_seconds() if decided and r.submitted_at else None
        )
        dep = first_deploy.get(r.id)
        t_deploy = (aware(dep) - aware(r.approved_at)).total_seconds() if dep and r.approved_at else None
        got = int(sums.get(r.id) or 0)
        if t_decision is not None:
            ttd.append(t_decision)
        if t_deploy is not None:
            ttdep.append(t_deploy)
        if r.status == "approved":
            needed += r.quantity
            covered += min(got, r.quantity)
        rows.append(
            {
                "request_id": r.id, "crisis_id": r.crisis_id, "status": r.status, "capability": r.capability,
                "needed": r.quantity, "covered": got, "time_to_decision_s": t_decision,
                "decision_to_first_deployment_s": t_deploy,
            }
        )  # fmt: skip
    return {
        "crisis_id": crisis_id,
        "since": since.isoformat() if since is not None else None,
        "requests": rows,
        "time_to_decision": _summary(ttd),
        "decision_to_first_deployment": _summary(ttdep),
        "coverage": {"needed": needed, "covered": covered, "ratio": (covered / needed) if needed else None},
    }
