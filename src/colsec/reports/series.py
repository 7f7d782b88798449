"""The one source of numbers: daily series per metric and grouping, read through a ``Scope``.

The dashboard (``colsec.store.views.dashboard``), the API (``/api/v1/reports/series``) and
every bulletin section count with ``activity_counts`` and ``daily_series`` of the store, so a
figure shown in one place equals the same figure anywhere else by construction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from colsec.accounts.service import organisations_by_id
from colsec.crisis.models import AssistanceRequest, CapAlert, Crisis, ResourceOffer
from colsec.crisis.states import aware
from colsec.errors import InvalidInput
from colsec.reports.audience import Scope
from colsec.store.activity import activity_counts
from colsec.store.views import INTEL_TYPES, activity_cached, daily_series

__all__ = ["BY", "METRICS", "Series", "days_of", "parse_day", "parse_period", "series"]

METRICS: dict[str, tuple[str, ...]] = {
    "objects": ("type", "member", "sector", "total"),
    "sightings": ("member", "sector", "total"),
    "alerts": ("severity", "total"),
    "crises": ("status", "total"),
    "time-to-decision": ("total",),
    "time-to-deploy": ("total",),
}
BY = sorted({b for bys in METRICS.values() for b in bys})
MAX_DAYS = 366


@dataclass
class Series:
    metric: str
    by: str
    days: list[date]
    groups: dict[str, list[float]]

    def totals(self) -> dict[str, float]:
        if self.metric.startswith("time-"):
            return {g: _median([v for v in vals if v]) for g, vals in self.groups.items()}
        return {g: sum(vals) for g, vals in self.groups.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "by": self.by,
            "days": [d.isoformat() for d in self.days],
            "series": self.groups,
            "totals": self.totals(),
        }


def _median(values: list[float]) -> float:
    return float(median(values)) if values else 0.0


def parse_period(text: str) -> int:
    """``7d`` (or ``7``): a number of days ending today."""
    raw = text.strip().lower().removesuffix("d")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise InvalidInput(f"period {text!r}: a number of days from 1 to {MAX_DAYS}, such as 7d")
    return int(raw)


def parse_day(text: str, what: str = "end") -> date:
    """A calendar day (YYYY-MM-DD) within the years a period can be computed for."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{what} {text!r} is not a date (YYYY-MM-DD)") from None
    if not 1970 <= day.year <= 9000:
        raise InvalidInput(f"{what} {text!r} is outside the years 1970 to 9000")
    return day


def days_of(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end`` inclusive."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def series(
    db: Session,
    *,
    scope: Scope,
    metric: str,
    by: str,
    days: Sequence[date],
    rows: list[tuple[str, str, int | None, int]] | None = None,
) -> Series:
    """One metric per day and group; ``rows``: ``activity_counts`` already read for this scope and days."""
    if metric not in METRICS:
        raise InvalidInput(f"unknown metric {metric!r}: one of {', '.join(METRICS)}")
    if by not in METRICS[metric]:
        raise InvalidInput(f"metric {metric!r} groups by {', '.join(METRICS[metric])}, not {by!r}")
    days = list(days)
    if not days:
        raise InvalidInput("a series needs at least one day")
    since, until = days[0].isoformat(), (days[-1] + timedelta(days=1)).isoformat()
    groups: dict[str, list[float]]
    if metric in ("objects", "sightings"):
        if rows is None:
            rows = (
                activity_counts(db, scope.reader, since, until, types=INTEL_TYPES, ceiling=scope.ceiling)
                if scope.audience is not None
                else activity_cached(db, reader=scope.reader, since=since, until=until)
            )
        if metric == "sightings":
            rows = [r for r in rows if r[1] == "sighting"]
        orgs = organisations_by_id(db)
        key: Callable[[str, int | None], str | None]
        if by == "type":
            key = lambda typ, owner: typ  # noqa: E731
        elif by == "member":
            key = lambda typ, owner: orgs[owner].short_name if owner in orgs else "?"  # noqa: E731
        elif by == "sector":
            key = lambda typ, owner: (orgs[owner].sector or "-") if owner in orgs else "-"  # noqa: E731
        else:
            key = lambda typ, owner: "total"  # noqa: E731
        groups = {g: [float(v) for v in vals] for g, vals in daily_series(rows, days, key).items()}
    elif metric == "alerts":
        groups = _alerts(db, scope, days, by)
    elif not scope.alliance:
        groups = {}  # crisis figures are for the alliance only
    elif metric == "crises":
        groups = _crises(db, days, by)
    else:
        groups = _timings(db, days, deploy=metric == "time-to-deploy")
    return Series(metric=metric, by=by, days=days, groups=groups)


def _index(days: Sequence[date]) -> dict[date, int]:
    return {d: i for i, d in enumerate(days)}


def _bounds(days: Sequence[date]) -> tuple[datetime, datetime]:
    start = datetime(days[0].year, days[0].month, days[0].day, tzinfo=UTC)
    return start, start + timedelta(days=len(days))


def _alerts(db: Session, scope: Scope, days: Sequence[date], by: str) -> dict[str, list[float]]:
    """CAP alerts by day: public ones for everybody, restricted ones for alliance readers."""
    start, end = _bounds(days)
    stmt = select(CapAlert.created_at, CapAlert.severity).where(
        CapAlert.created_at >= start, CapAlert.created_at < end, CapAlert.exercise_run_id.is_(None)
    )
    if not scope.alliance:
        stmt = stmt.where(CapAlert.scope == "Public")
    idx = _index(days)
    out: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(days))
    for at, severity in db.execute(stmt).all():
        i = idx.get(aware(at).date())
        if i is not None:
            out[(severity or "-") if by == "severity" else "total"][i] += 1
    return dict(sorted(out.items()))


def _crises(db: Session, days: Sequence[date], by: str) -> dict[str, list[float]]:
    start, end = _bounds(days)
    idx = _index(days)
    out: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(days))
    for at, status in db.execute(
        select(Crisis.opened_at, Crisis.status).where(Crisis.opened_at >= start, Crisis.opened_at < end)
    ).all():
        i = idx.get(aware(at).date())
        if i is not None:
            out[status if by == "status" else "total"][i] += 1
    return dict(sorted(out.items()))


def _timings(db: Session, days: Sequence[date], *, deploy: bool) -> dict[str, list[float]]:
    """Median hours per day of the decision: submission→decision, or decision→first deployment."""
    start, end = _bounds(days)
    decided = func.coalesce(AssistanceRequest.approved_at, AssistanceRequest.rejected_at)
    rows = db.execute(
        select(AssistanceRequest.id, AssistanceRequest.submitted_at, decided).where(
            decided >= start, decided < end, AssistanceRequest.submitted_at.is_not(None)
        )
    ).all()
    first: dict[int, datetime] = {}
    if deploy and rows:
        first = {
            rid: at
            for rid, at in db.execute(
                select(ResourceOffer.request_id, func.min(ResourceOffer.deployed_at))
                .where(
                    ResourceOffer.request_id.in_([r[0] for r in rows]), ResourceOffer.deployed_at.is_not(None)
                )
                .group_by(ResourceOffer.request_id)
            ).all()
            if at is not None
        }
    idx = _index(days)
    per_day: dict[int, list[float]] = defaultdict(list)
    for rid, submitted, at in rows:
        if at is None or submitted is None:
            continue
        i = idx.get(aware(at).date())
        if i is None:
            continue
        if deploy:
            if rid in first:
                per_day[i].append((aware(first[rid]) - aware(at)).total_seconds() / 3600)
        else:
            per_day[i].append((aware(at) - aware(submitted)).total_seconds() / 3600)
    if not per_day:
        return {}
    return {"total": [round(_median(per_day[i]), 2) if i in per_day else 0.0 for i in range(len(days))]}
