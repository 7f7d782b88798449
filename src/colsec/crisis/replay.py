"""Replay: a crisis as it stood at an instant, redone from its timeline.

The timeline (``crisis_event``) is the crisis's record: every verb that changes the state of
the crisis, a request, a consultation or an offer writes one line in the same transaction,
stamped with the crisis clock and carrying the data needed to redo the change.  Replaying
folds the lines up to the instant in the order they were written; nothing is read from the
objects' current state columns, so what was true then is not overwritten by what is true now.
Descriptive fields that no verb changes (titles, capability, organisation) come from the rows.

``live_state`` reads the same shape through the domain's ordinary read functions: the
property test holds ``replay(at=t) == live_state()`` as recorded at every step.
An exercise run replays the same way: its crises carry the run id (``run_replay``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.crisis.consultation import list_consultations, list_positions
from colsec.crisis.crises import get_crisis
from colsec.crisis.models import (
    AssistanceRequest,
    Consultation,
    Crisis,
    CrisisEvent,
    Incident,
    ResourceOffer,
)
from colsec.crisis.requests import list_requests
from colsec.crisis.resources import list_offers
from colsec.crisis.states import CRISIS, INCIDENT, OFFER, aware

__all__ = ["DEPLOYED", "STATE_KINDS", "instants", "live_state", "replay", "run_crises", "run_replay"]

DEPLOYED = ("deployed", "demobilised")
# Timeline kinds that change the replayed state; the others (sitreps, lessons, roles, CAP) do not.
STATE_KINDS = frozenset(
    {"opened", "alert_level", *CRISIS}
    | {"request.drafted", "request.submitted", "request.withdrawn"}
    | {"consultation.opened", "consultation.position", "consultation.decided"}
    | {"offer.offered", *(f"offer.{to}" for to in OFFER)}
)
# An incident joins a crisis escalated, and its state machine leads nowhere from there.
_JOINED = "escalated"
assert not any(_JOINED in sources for sources in INCIDENT.values())


def _events(db: Session, crisis_ids: Iterable[int]) -> list[CrisisEvent]:
    ids = list(crisis_ids)
    if not ids:
        return []
    stmt = select(CrisisEvent).where(CrisisEvent.crisis_id.in_(ids)).order_by(CrisisEvent.id)
    return list(db.execute(stmt).scalars())


def instants(db: Session, *, crisis_ids: Iterable[int]) -> list[datetime]:
    """The distinct instants at which the crises' recorded state changed, in time order."""
    return sorted({aware(e.at) for e in _events(db, crisis_ids) if e.kind in STATE_KINDS})


def _crisis_out(crisis: Crisis, status: str | None, level: int | None) -> dict[str, Any]:
    return {
        "id": crisis.id,
        "title": crisis.title,
        "status": status,
        "alert_level": level,
        "exercise_run_id": crisis.exercise_run_id,
    }


def _request_out(r: AssistanceRequest, status: str) -> dict[str, Any]:
    return {
        "id": r.id,
        "organisation_id": r.organisation_id,
        "capability": r.capability,
        "quantity": r.quantity,
        "location": r.location,
        "status": status,
    }


def _consultation_out(
    c: Consultation, status: str, outcome: str | None, option: str | None, answers: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    counts = {"agree": 0, "object": 0, "abstain": 0}
    for a in answers.values():
        counts[a["stance"]] += 1
    return {
        "id": c.id,
        "request_id": c.request_id,
        "question": c.question,
        "rule": c.rule,
        "status": status,
        "outcome": outcome,
        "chosen_option": option,
        "counts": counts,
        "answers": [answers[k] for k in sorted(answers)],
    }


def _offer_out(o: ResourceOffer, status: str) -> dict[str, Any]:
    return {
        "id": o.id,
        "request_id": o.request_id,
        "organisation_id": o.organisation_id,
        "quantity": o.quantity,
        "status": status,
    }


def _state(
    crisis: dict[str, Any],
    incidents: list[dict[str, Any]],
    requests: list[dict[str, Any]],
    consultations: list[dict[str, Any]],
    offers: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "crisis": crisis,
        "incidents": sorted(incidents, key=lambda x: x["id"]),
        "requests": sorted(requests, key=lambda x: x["id"]),
        "consultations": sorted(consultations, key=lambda x: x["id"]),
        "offers": sorted(offers, key=lambda x: x["id"]),
        "deployments": [o for o in sorted(offers, key=lambda x: x["id"]) if o["status"] in DEPLOYED],
    }


def _incidents(db: Session, ids: Iterable[int]) -> list[dict[str, Any]]:
    wanted = sorted(set(ids))
    rows: Iterable[Incident] = (
        db.execute(select(Incident).where(Incident.id.in_(wanted))).scalars() if wanted else []
    )
    return [
        {"id": i.id, "title": i.title, "organisation_id": i.organisation_id, "status": _JOINED} for i in rows
    ]


def live_state(db: Session, *, crisis_id: int) -> dict[str, Any]:
    """The crisis now, read through the domain's read functions, in the shape ``replay`` returns."""
    crisis = get_crisis(db, crisis_id=crisis_id)
    db.refresh(crisis)
    incidents = [
        {"id": i.id, "title": i.title, "organisation_id": i.organisation_id, "status": i.status}
        for i in db.execute(select(Incident).where(Incident.crisis_id == crisis_id)).scalars()
    ]
    requests = list_requests(db, crisis_id=crisis_id)
    consultations = []
    for c in list_consultations(db, crisis_id=crisis_id):
        db.refresh(c)
        answers = {
            p.organisation_id: {"organisation_id": p.organisation_id, "stance": p.stance, "option": p.option}
            for p in list_positions(db, consultation_id=c.id)
        }
        consultations.append(_consultation_out(c, c.status, c.outcome, c.chosen_option, answers))
    offers = [_offer_out(o, o.status) for r in requests for o in list_offers(db, request_id=r.id)]
    return _state(
        _crisis_out(crisis, crisis.status, crisis.alert_level),
        incidents,
        [_request_out(r, r.status) for r in requests],
        consultations,
        offers,
    )


class _Fold:
    """The state being redone, one timeline line at a time."""

    def __init__(self) -> None:
        self.status: str | None = None
        self.level: int | None = None
        self.incidents: list[int] = []
        self.requests: dict[int, str] = {}
        self.consultations: dict[int, dict[str, Any]] = {}
        self.offers: dict[int, str] = {}

    def apply(self, kind: str, p: dict[str, Any]) -> None:
        if kind == "opened":
            self.status, self.level, self.incidents = "opened", int(p["level"]), list(p["incidents"])
        elif kind in CRISIS:
            self.status = kind
        elif kind == "alert_level":
            self.level = int(p["to"])
        elif kind.startswith("request."):
            self._request(kind[8:], p)
        elif kind.startswith("consultation."):
            self._consultation(kind[13:], p)
        elif kind.startswith("offer."):
            self.offers[int(p["offer"])] = kind[6:]

    def _request(self, step: str, p: dict[str, Any]) -> None:
        rid = int(p["request"])
        self.requests[rid] = step
        if step == "withdrawn":
            # lines written before withdrawals named what they cancelled: every open consultation
            cancelled = p.get("cancelled")
            for cid, c in self.consultations.items():
                mine = cid in cancelled if cancelled is not None else c["request"] == rid
                if mine and c["status"] == "open":
                    c["status"] = "cancelled"

    def _consultation(self, step: str, p: dict[str, Any]) -> None:
        cid = int(p["consultation"])
        if step == "opened":
            self.consultations[cid] = {
                "request": p["request"], "status": "open", "outcome": None, "option": None, "answers": {}
            }  # fmt: skip
            self.requests[int(p["request"])] = "in_consultation"
            return
        c = self.consultations[cid]
        if step == "position":
            org = int(p["org"])
            c["answers"][org] = {"organisation_id": org, "stance": p["stance"], "option": p.get("option")}
        elif step == "decided":
            c["status"], c["outcome"], c["option"] = "closed", p["outcome"], p.get("option")
            rid = c["request"]
            if "request_status" in p:
                moved = p["request_status"]
            elif rid is not None and self.requests.get(int(rid)) == "in_consultation":
                moved = "submitted" if p["outcome"] == "no_decision" else p["outcome"]
            else:
                moved = None
            if moved is not None and rid is not None:
                self.requests[int(rid)] = moved


def replay(db: Session, *, crisis_id: int, at: datetime) -> dict[str, Any]:
    """The crisis, its incidents, requests, consultations, offers and deployments as they stood at ``at``."""
    crisis = get_crisis(db, crisis_id=crisis_id)
    return _replay_one(db, crisis, _events(db, [crisis_id]), aware(at))


def _replay_one(db: Session, crisis: Crisis, events: list[CrisisEvent], at: datetime) -> dict[str, Any]:
    fold = _Fold()
    for e in events:
        if e.kind in STATE_KINDS and aware(e.at) <= at:
            fold.apply(e.kind, orjson.loads(e.params or "{}"))
    reqs = _rows(db, AssistanceRequest, fold.requests)
    cons = _rows(db, Consultation, fold.consultations)
    offers = _rows(db, ResourceOffer, fold.offers)
    return _state(
        _crisis_out(crisis, fold.status, fold.level),
        _incidents(db, fold.incidents),
        [_request_out(reqs[i], s) for i, s in fold.requests.items() if i in reqs],
        [
            _consultation_out(cons[i], c["status"], c["outcome"], c["option"], c["answers"])
            for i, c in fold.consultations.items()
            if i in cons
        ],
        [_offer_out(offers[i], s) for i, s in fold.offers.items() if i in offers],
    )


def _rows(db: Session, model: Any, ids: Iterable[int]) -> dict[int, Any]:
    wanted = sorted(ids)
    if not wanted:
        return {}
    return {r.id: r for r in db.execute(select(model).where(model.id.in_(wanted))).scalars()}


def run_crises(db: Session, *, run_id: int) -> list[Crisis]:
    """The crises an exercise run created (they carry its id)."""
    stmt = select(Crisis).where(Crisis.exercise_run_id == run_id).order_by(Crisis.id)
    return list(db.execute(stmt).scalars())


def run_replay(db: Session, *, run_id: int, at: datetime | None) -> dict[str, Any]:
    """Every crisis of an exercise run as it stood at ``at`` (default: the last recorded instant)."""
    crises = run_crises(db, run_id=run_id)
    events = _events(db, [c.id for c in crises])
    times = sorted({aware(e.at) for e in events if e.kind in STATE_KINDS})
    when = aware(at) if at is not None else (times[-1] if times else None)
    states = []
    if when is not None:
        for c in crises:
            state = _replay_one(db, c, [e for e in events if e.crisis_id == c.id], when)
            if state["crisis"]["status"] is not None:
                states.append(state)
    return {"run_id": run_id, "at": when, "instants": times, "crises": states}
