"""Read models: who may see a run, a participant's inbox, a run's own objects and the report's data.

A run is seen by the crisis centre, the node operator and the organisations that take part;
to anyone else it does not exist (404).  A run's STIX objects are read here by run id with
the sharing policy applied per object, since the store's default reads leave them out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.crisis.access import org_kind
from colsec.crisis.crises import get_crisis
from colsec.crisis.models import Crisis, Notification
from colsec.errors import NotFound
from colsec.exercises.models import ExerciseInject, ExerciseNote, ExerciseRun
from colsec.exercises.run import frozen, get_run, list_runs, participant_org_ids
from colsec.exercises.scenario import Inject, Scenario
from colsec.exercises.scoring import summary
from colsec.stix.tlp import TLP
from colsec.store.models import ObjectRecipient, SharingGroupMember, StixObject
from colsec.store.policy import Recipient, SharedFacts, may_share

__all__ = [
    "ACTION_COLUMNS",
    "digest",
    "inbox",
    "is_controller",
    "readable_crisis",
    "readable_run",
    "report",
    "run_objects",
    "scenario_timeline",
    "visible_runs",
]

# The per-action annex (CSV): every expected action with its result, in ``summary``'s words.
ACTION_COLUMNS = (
    "number", "inject_number", "objective", "event", "org", "role", "weight", "delivered_at", "deadline",
    "acted_at", "computed", "status", "override_reason",
)  # fmt: skip
DIGEST_ROWS = 40  # the printed timeline's length, whatever the run's size


def is_controller(db: Session, actor: Actor) -> bool:
    return actor.is_operator or org_kind(db, actor.org_id) == "crisis_centre"


def _takes_part(db: Session, run: ExerciseRun, actor: Actor) -> bool:
    if actor.org_id is None:
        return False
    if actor.org_id in participant_org_ids(db, run):
        return True
    return (
        db.execute(
            select(ExerciseInject.id)
            .where(ExerciseInject.run_id == run.id, ExerciseInject.target_org_id == actor.org_id)
            .limit(1)
        ).scalar()
        is not None
        or db.execute(
            select(ExerciseInject.id)
            .where(ExerciseInject.run_id == run.id, ExerciseInject.target_user == actor.username)
            .limit(1)
        ).scalar()
        is not None
    )


def readable_run(db: Session, actor: Actor, run_id: int) -> ExerciseRun:
    run = get_run(db, run_id=run_id)
    if is_controller(db, actor) or _takes_part(db, run, actor):
        return run
    raise NotFound(f"exercise run {run_id} not found")


def readable_crisis(db: Session, actor: Actor, crisis_id: int) -> Crisis:
    """A crisis as its pages read it; a run's crisis only for those who may see the run (else 404)."""
    crisis = get_crisis(db, crisis_id=crisis_id)
    if crisis.exercise_run_id is not None:
        try:
            readable_run(db, actor, crisis.exercise_run_id)
        except NotFound:
            raise NotFound(f"crisis {crisis_id} not found") from None
    return crisis


def visible_runs(db: Session, actor: Actor) -> list[ExerciseRun]:
    runs = list_runs(db)
    if is_controller(db, actor):
        return runs
    return [r for r in runs if _takes_part(db, r, actor)]


def inbox(db: Session, actor: Actor, run: ExerciseRun) -> list[dict[str, Any]]:
    """Delivered injects addressed to the caller (the controller sees every delivered inject)."""
    everyone = is_controller(db, actor)
    orgs = participant_org_ids(db, run)
    out = []
    for inj in db.execute(
        select(ExerciseInject)
        .where(ExerciseInject.run_id == run.id, ExerciseInject.status == "delivered")
        .order_by(ExerciseInject.delivered_at, ExerciseInject.number)
    ).scalars():
        mine = (
            inj.target_user == actor.username if inj.target_user
            else actor.org_id == inj.target_org_id if inj.target_org_id
            else actor.org_id in orgs
        )  # fmt: skip
        if everyone or mine:
            c = orjson.loads(inj.content)
            out.append({
                "number": inj.number, "channel": inj.channel, "title": inj.title, "content": c.get("content", ""),
                "delivered_at": inj.delivered_at, "refs": inj.object_ref.split(),
            })  # fmt: skip
    return out


def run_objects(db: Session, actor: Actor, run: ExerciseRun) -> list[dict[str, Any]]:
    """The run's latest STIX objects this caller may see under the sharing policy."""
    rows = list(
        db.execute(
            select(StixObject)
            .where(StixObject.exercise_run_id == run.id, StixObject.is_latest)
            .order_by(StixObject.seq)
        ).scalars()
    )
    groups = {
        g: frozenset(
            m
            for (m,) in db.execute(
                select(SharingGroupMember.organisation_id).where(SharingGroupMember.group_id == g)
            )
        )
        for g in {r.sharing_group_id for r in rows if r.sharing_group_id}
    }
    named: dict[int, set[int]] = {}
    for seq, org in db.execute(
        select(ObjectRecipient.object_seq, ObjectRecipient.organisation_id).where(
            ObjectRecipient.object_seq.in_([r.seq for r in rows])
        )
    ):
        named.setdefault(seq, set()).add(org)
    to = Recipient(org_id=actor.org_id, alliance_member=org_kind(db, actor.org_id) != "external")
    out = []
    for r in rows:
        facts = SharedFacts(
            owner_org_id=r.owner_org_id,
            tlp=TLP(r.tlp),
            sharing_group_members=groups.get(r.sharing_group_id) if r.sharing_group_id else None,
            recipients=frozenset(named.get(r.seq, ())),
        )
        if actor.is_operator or may_share(facts, to):
            out.append(orjson.loads(r.body))
    return out


def notes(db: Session, run: ExerciseRun) -> list[ExerciseNote]:
    return list(
        db.execute(
            select(ExerciseNote).where(ExerciseNote.run_id == run.id).order_by(ExerciseNote.id)
        ).scalars()
    )


def run_notifications(db: Session, run: ExerciseRun) -> int:
    return len(
        list(db.execute(select(Notification.id).where(Notification.exercise_run_id == run.id)).scalars())
    )


def scenario_timeline(sc: Scenario) -> list[Inject]:
    """A scenario's injects in the order they are played: those on the clock by offset, then those
    waiting on an answer or a miss (whose time the run decides), by number."""
    return sorted(sc.injects, key=lambda i: (i.after is not None, i.offset or 0, i.number))


def timeline(db: Session, run: ExerciseRun) -> list[dict[str, Any]]:
    return [
        {"number": i.number, "channel": i.channel, "title": i.title, "status": i.status, "due_at": i.due_at,
         "delivered_at": i.delivered_at, "adhoc": i.adhoc, "refs": i.object_ref}
        for i in db.execute(select(ExerciseInject).where(ExerciseInject.run_id == run.id).order_by(ExerciseInject.number)).scalars()
    ]  # fmt: skip


def report(db: Session, run: ExerciseRun, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything the after-action report shows; its figures are ``scoring.summary``'s, unchanged."""
    sc = frozen(run)
    figures = summary(db, run, now=now)
    longest = max((o["time_to_act_s"] or 0 for o in figures["organisations"]), default=0) or 1
    for o in figures["organisations"]:
        o["bar"] = round(100 * (o["time_to_act_s"] or 0) / longest)
    return {
        "run": run,
        "scenario": sc,
        "figures": figures,
        "timeline": timeline(db, run),
        "notes": notes(db, run),
    }


def digest(report: dict[str, Any], *, rows: int = DIGEST_ROWS) -> dict[str, Any]:
    """The printed report's aggregates: the timeline in at most ``rows`` rows, and the umpire's decisions.

    A PDF lays out every table row by row (thousands of rows take minutes), so the printed
    report counts per inject, or per run of consecutive injects when there are more than
    ``rows``; the per-action detail stays in the HTML page and the CSV annex.
    """
    actions = report["figures"]["actions"]
    per_inject: dict[int, dict[str, int]] = {}
    for a in actions:
        c = per_inject.setdefault(a["inject_number"], {"expected": 0})
        c["expected"] += 1
        c[a["status"]] = c.get(a["status"], 0) + 1
    timeline = report["timeline"]
    size = max(1, -(-len(timeline) // rows))
    out = []
    for start in range(0, len(timeline), size):
        group = timeline[start : start + size]
        delivered = [i["delivered_at"] for i in group if i["delivered_at"] is not None]
        row: dict[str, Any] = {
            "first": group[0]["number"], "last": group[-1]["number"],
            "title": group[0]["title"] if len(group) == 1 else "",
            "channels": sorted({i["channel"] for i in group}),
            "states": {s: sum(1 for i in group if i["status"] == s) for s in ("delivered", "pending", "skipped", "failed")},
            "from": min(delivered, default=None), "to": max(delivered, default=None),
        }  # fmt: skip
        for k in ("expected", "met", "late", "missed", "pending"):
            row[k] = sum(per_inject.get(i["number"], {}).get(k, 0) for i in group)
        out.append(row)
    return {
        "timeline_rows": out,
        "grouped": size > 1,
        "overrides": [a for a in actions if a["override_reason"]],
        "action_count": len(actions),
    }
