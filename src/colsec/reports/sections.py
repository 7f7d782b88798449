"""Bulletin types and their sections: each section is a query over stored data for the period.

A section returns plain data (JSON-able) computed through the bulletin's ``Scope``; the
draft freezes it, so what reviewers approve is what is published.  Sections that show
items (names, ids, CVEs) list only rows the audience may read; crisis sections need an
alliance audience (TLP:GREEN or AMBER).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from colsec.crisis.models import AssistanceRequest, CapAlert, Consultation, Crisis
from colsec.crisis.states import aware
from colsec.db import is_sqlite
from colsec.errors import InvalidInput
from colsec.intel.models import Vulnerability
from colsec.reports.audience import Scope
from colsec.reports.series import days_of, series
from colsec.store.activity import activity_counts
from colsec.store.models import ObjectLink, StixObject
from colsec.store.views import INTEL_TYPES, display_name

__all__ = ["KINDS", "SECTIONS", "BulletinKind", "Period", "build_sections", "kind_of"]

TOP = 10
LIST_LIMIT = 25


@dataclass(frozen=True, slots=True)
class Period:
    """Whole days ``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    @property
    def days(self) -> list[date]:
        return days_of(self.start.date(), (self.end - timedelta(seconds=1)).date())

    def text_bounds(self) -> tuple[str, str]:
        return self.start.date().isoformat(), self.end.date().isoformat()


Section = Callable[[Session, Scope, Period], dict[str, Any]]


_ROWS = "reports.activity_counts"


def _rows(db: Session, scope: Scope, period: Period) -> list[tuple[str, str, int | None, int]]:
    """The period's counts (the series' own rows), read once per bulletin for all its sections."""
    memo: dict[tuple[int, Period], list[tuple[str, str, int | None, int]]] = db.info.setdefault(_ROWS, {})
    key = (id(scope), period)
    if key not in memo:
        since, until = period.text_bounds()
        memo[key] = activity_counts(db, scope.reader, since, until, types=INTEL_TYPES, ceiling=scope.ceiling)
    return memo[key]


def _in_period(db: Session, period: Period, *types: str) -> ColumnElement[bool]:
    """Latest versions of ``types`` added in the period, found through the type index.

    On SQLite the date bounds are written ``date_added || ''`` so the planner takes the type
    index rather than scanning the whole period for a rare type (it has no histogram to know).
    """
    since, until = period.text_bounds()
    added = StixObject.date_added.concat("") if is_sqlite(db) else StixObject.date_added
    return and_(StixObject.is_latest, StixObject.type.in_(types), added >= since, added < until)


def new_intel(db: Session, scope: Scope, period: Period) -> dict[str, Any]:
    """New intelligence by type, member and sector (daily chart by type)."""
    days = period.days
    rows = _rows(db, scope, period)
    by_type = series(db, scope=scope, metric="objects", by="type", days=days, rows=rows)
    by_member = series(db, scope=scope, metric="objects", by="member", days=days, rows=rows)
    by_sector = series(db, scope=scope, metric="objects", by="sector", days=days, rows=rows)
    return {
        "days": [d.isoformat() for d in days],
        "by_type": by_type.totals(),
        "by_member": by_member.totals(),
        "by_sector": by_sector.totals(),
        "chart": by_type.groups,
        "total": sum(by_type.totals().values()),
    }


def top_threats(db: Session, scope: Scope, period: Period) -> dict[str, Any]:
    """Malware and actors most often referred to by readable sightings and relationships.

    Counted in SQL through ``object_link`` (the ids a sighting or relationship names), ranked
    there too: only the few shown are read and parsed, whatever the size of the period.
    """
    refs = (
        select(ObjectLink.ref_id, func.count().label("n"))
        .where(
            ObjectLink.seq.in_(
                select(StixObject.seq).where(_in_period(db, period, "sighting", "relationship"), scope.clause)
            )
        )
        .group_by(ObjectLink.ref_id)
        .subquery()
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for key, types in (("malware", ("malware",)), ("actors", ("threat-actor", "intrusion-set"))):
        n = func.coalesce(refs.c.n, 0)
        rows = db.execute(
            select(StixObject.id, StixObject.type, StixObject.body, n)
            .outerjoin(refs, refs.c.ref_id == StixObject.id)
            .where(_in_period(db, period, *types), scope.clause)
            # Ties broken by id, not by name: ranking then reads no body; only the shown are parsed.
            .order_by(n.desc(), StixObject.id)
            .limit(TOP)
        ).all()
        items = [
            {"id": oid, "type": typ, "name": display_name(orjson.loads(body)), "refs": int(count)}
            for oid, typ, body, count in rows
        ]
        out[key] = sorted(items, key=lambda x: (-x["refs"], x["name"]))
    return out


def ci_sightings(db: Session, scope: Scope, period: Period) -> dict[str, Any]:
    """Sightings reported by members, per sector (critical infrastructure operators by sector)."""
    days = period.days
    rows = _rows(db, scope, period)
    by_sector = series(db, scope=scope, metric="sightings", by="sector", days=days, rows=rows)
    by_member = series(db, scope=scope, metric="sightings", by="member", days=days, rows=rows)
    return {
        "by_sector": by_sector.totals(),
        "by_member": by_member.totals(),
        "total": sum(by_sector.totals().values()),
    }


def kev_exposure(db: Session, scope: Scope, period: Period) -> dict[str, Any]:
    """Readable vulnerability objects of the period that are in the Known Exploited catalogue."""
    names = {
        str(n).upper()
        for (n,) in db.execute(
            select(StixObject.body).where(_in_period(db, period, "vulnerability"), scope.clause)
        ).all()
        for n in [display_name(orjson.loads(n))]
    }
    kev = (
        db.execute(
            select(Vulnerability.cve, Vulnerability.vendor, Vulnerability.product, Vulnerability.ransomware)
            .where(Vulnerability.in_kev, Vulnerability.cve.in_(sorted(names)))
            .order_by(Vulnerability.cve)
        ).all()
        if names
        else []
    )
    return {
        "vulnerabilities": len(names),
        "in_kev": [{"cve": c, "vendor": v, "product": p, "ransomware": bool(r)} for c, v, p, r in kev][
            :LIST_LIMIT
        ],
        "in_kev_count": len(kev),
    }


def crises(db: Session, scope: Scope, period: Period) -> dict[str, Any]:
    """Open crises, assistance requests and consultations decided in the period (alliance only)."""
    if not scope.alliance:
        return {"available": False}
    start, end = period.start, period.end
    open_crises = db.execute(
        select(Crisis.id, Crisis.title, Crisis.status, Crisis.alert_level, Crisis.opened_at)
        .where(Crisis.status != "closed", Crisis.status != "reviewed", Crisis.opened_at < end)
        .order_by(Crisis.id)
    ).all()
    requests = db.execute(
        select(AssistanceRequest.status, func.count())
        .where(AssistanceRequest.drafted_at < end)
        .group_by(AssistanceRequest.status)
    ).all()
    decisions = db.execute(
        select(Consultation.id, Consultation.question, Consultation.outcome, Consultation.decided_at)
        .where(Consultation.decided_at >= start, Consultation.decided_at < end)
        .order_by(Consultation.decided_at)
    ).all()
    return {
        "available": True,
        "open": [
            {"id": i, "title": t, "status": s, "level": lvl, "opened_at": aware(o).isoformat()}
            for i, t, s, lvl, o in open_crises
        ][:LIST_LIMIT],
        "open_count": len(open_crises),
        "requests": {s: int(n) for s, n in sorted(requests)},
        "decisions": [
            {"id": i, "question": q, "outcome": o or "", "at": aware(at).isoformat() if at else ""}
            for i, q, o, at in decisions
        ][:LIST_LIMIT],
    }


def timings(db: Session, scope: Scope, period: Period) -> dict[str, Any]:
    """Median time-to-decision and time-to-deploy (hours) per day of the period (alliance only)."""
    if not scope.alliance:
        return {"available": False}
    days = period.days
    ttd = series(db, scope=scope, metric="time-to-decision", by="total", days=days)
    ttdep = series(db, scope=scope, metric="time-to-deploy", by="total", days=days)
    return {
        "available": True,
        "time_to_decision_h": ttd.totals().get("total", 0.0),
        "time_to_deploy_h": ttdep.totals().get("total", 0.0),
        "chart": {"decision": ttd.groups.get("total", []), "deploy": ttdep.groups.get("total", [])},
    }


def cap_alerts(db: Session, scope: Scope, period: Period) -> dict[str, Any]:
    """CAP alerts of the period: public ones for every audience, restricted ones for the alliance."""
    stmt = (
        select(
            CapAlert.identifier,
            CapAlert.event,
            CapAlert.headline,
            CapAlert.severity,
            CapAlert.sent,
            CapAlert.scope,
        )
        .where(
            CapAlert.created_at >= period.start,
            CapAlert.created_at < period.end,
            CapAlert.exercise_run_id.is_(None),  # an exercise's alerts are never real news
        )
        .order_by(CapAlert.created_at.desc())
    )
    if not scope.alliance:
        stmt = stmt.where(CapAlert.scope == "Public")
    rows = db.execute(stmt).all()
    return {
        "count": len(rows),
        "items": [
            {"identifier": i, "event": e, "headline": h, "severity": s, "sent": sent, "scope": sc}
            for i, e, h, s, sent, sc in rows
        ][:LIST_LIMIT],
    }


SECTIONS: dict[str, Section] = {
    "new_intel": new_intel,
    "top_threats": top_threats,
    "ci_sightings": ci_sightings,
    "kev_exposure": kev_exposure,
    "crises": crises,
    "timings": timings,
    "cap_alerts": cap_alerts,
}


@dataclass(frozen=True, slots=True)
class BulletinKind:
    name: str
    days: int
    sections: tuple[str, ...]
    advisory: bool = False  # lists each member's national advisory link


KINDS: dict[str, BulletinKind] = {
    k.name: k
    for k in (
        BulletinKind("daily", 1, ("new_intel", "ci_sightings", "crises", "cap_alerts")),
        BulletinKind(
            "weekly",
            7,
            ("new_intel", "top_threats", "ci_sightings", "kev_exposure", "crises", "timings", "cap_alerts"),
        ),
        BulletinKind(
            "monthly", 30, ("new_intel", "top_threats", "ci_sightings", "kev_exposure", "crises", "timings")
        ),
        BulletinKind("crisis_digest", 7, ("crises", "timings", "cap_alerts")),
        BulletinKind("joint_advisory", 7, ("top_threats", "kev_exposure"), advisory=True),
    )
}


def kind_of(name: str) -> BulletinKind:
    try:
        return KINDS[name]
    except KeyError:
        raise InvalidInput(f"unknown bulletin type {name!r}: one of {', '.join(KINDS)}") from None


def build_sections(db: Session, kind: BulletinKind, scope: Scope, period: Period) -> dict[str, Any]:
    try:
        return {name: SECTIONS[name](db, scope, period) for name in kind.sections}
    finally:
        db.info.pop(_ROWS, None)
