"""A run: its lifecycle, its clock and the delivery of injects through the platform's own channels.

Delivery is one durable job kind (``DELIVER_KIND``): each pass delivers the injects whose
wall-clock ``due_at`` has come and resolves dependencies.  A pass runs periodically
(``colsec.job_wiring``) and, queued by ``wake`` with ``run_after``, at a run's next due
inject, so an inject goes out within the job runner's poll interval of its time.  The clock is stored, not kept in memory: ``due_at = start + offset / speed``;
pausing stops nothing, resuming pushes every pending ``due_at`` by the pause, a new speed
rescales what is left.  Every function takes ``now=`` so tests drive the clock.

A payload is made by the same domain function as the real object (``report_incident``,
``open_consultation``, ``crisis_alert``, ``import_objects`` through the write gate,
``notify``, outbox rows).  While it runs, the session carries ``EXERCISE_RUN``: the store
and the notices stamp what they write, and a flush hook stamps every new row that has an
``exercise_run_id`` column, so nothing a run creates can be mistaken for real data.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation, User
from colsec.accounts.roles import SYSTEM, Actor, Role
from colsec.crisis import notify as notices
from colsec.crisis.access import require_centre
from colsec.crisis.models import (
    AssistanceRequest,
    CapAlert,
    Consultation,
    Crisis,
    Incident,
    Notification,
)
from colsec.crisis.states import aware
from colsec.db import Database
from colsec.errors import InvalidInput, NotFound
from colsec.exercises.models import ExerciseExpectation, ExerciseInject, ExerciseNote, ExerciseRun
from colsec.exercises.scenario import Inject, Scenario, get_scenario, model_of
from colsec.jobs import queue
from colsec.jobs.runner import JobContext
from colsec.outbox import Channel, OutboxMessage, Outgoing, put
from colsec.outbox.models import Topic
from colsec.outbox.webhooks import destination, subscribed
from colsec.store import audit
from colsec.store.models import EXERCISE_RUN, StixObject

__all__ = [
    "DELIVER_KIND",
    "DELIVER_SECONDS",
    "EXERCISE_ACTOR_PREFIX",
    "add_inject",
    "add_note",
    "create_run",
    "delete_run",
    "deliver_due",
    "deliver_now",
    "get_run",
    "list_runs",
    "move",
    "run_deliver",
    "set_speed",
    "wake",
]

DELIVER_KIND = "exercise.deliver"
DELIVER_SECONDS = 1.0  # the periodic pass: dependencies; timed injects are woken by ``wake``
EXERCISE_ACTOR_PREFIX = "exercise-"

# target state -> states it may be reached from
RUN: dict[str, tuple[str, ...]] = {
    "running": ("scheduled", "paused"),
    "paused": ("running",),
    "ended": ("running", "paused"),
    "reviewed": ("ended",),
}
_ANY_ROLE = (Role.ANALYST, Role.REPRESENTATIVE, Role.COORDINATOR, Role.ADMIN)


def _now(now: datetime | None) -> datetime:
    return aware(now) if now is not None else datetime.now(UTC)


def get_run(db: Session, *, run_id: int) -> ExerciseRun:
    run = db.get(ExerciseRun, run_id)
    if run is None:
        raise NotFound(f"exercise run {run_id} not found")
    return run


def list_runs(db: Session) -> list[ExerciseRun]:
    return list(db.execute(select(ExerciseRun).order_by(ExerciseRun.id.desc())).scalars())


def _orgs(db: Session, names: set[str]) -> dict[str, Organisation]:
    if not names:
        return {}
    found = {
        o.short_name: o
        for o in db.execute(select(Organisation).where(Organisation.short_name.in_(names))).scalars()
    }
    missing = sorted(names - set(found))
    if missing:
        raise InvalidInput(f"unknown organisation(s) in the scenario: {', '.join(missing)}")
    return found


def _inject_rows(db: Session, run: ExerciseRun, sc: Scenario, injects: list[Inject]) -> None:
    names = {p.org for p in sc.participants}
    names |= {i.target.org for i in injects if i.target.org and i.target.org != "*"}
    names |= {e.org for i in injects for e in i.expects if e.org}
    orgs = _orgs(db, names)
    for i in injects:
        if (
            i.target.user
            and db.execute(select(User.id).where(User.username == i.target.user.lower())).scalar() is None
        ):
            raise InvalidInput(f"inject {i.number}: unknown user {i.target.user!r}")
        target_org = orgs[i.target.org].id if i.target.org and i.target.org != "*" else None
        db.add(
            ExerciseInject(
                run_id=run.id, number=i.number, offset_seconds=i.offset,
                after_inject=i.after.inject if i.after else None,
                after_expectation=i.after.expectation if i.after else None,
                condition=i.after.condition.value if i.after else "",
                channel=i.channel.value, target_org_id=target_org, target_role=i.target.role,
                target_user=i.target.user.lower(), title=i.title,
                content=orjson.dumps({"type": i.type, "content": i.content, "params": i.params}).decode(),
                status="pending", adhoc=False,
            )
        )  # fmt: skip
        for e in i.expects:
            org = orgs[e.org].id if e.org else target_org
            if org is None:
                raise InvalidInput(f"expectation {e.number}: name the organisation expected to act")
            db.add(
                ExerciseExpectation(
                    run_id=run.id, number=e.number, inject_number=i.number, objective=e.objective,
                    event=e.event, org_id=org, role=e.role, within_seconds=e.within,
                    condition=e.condition, weight=e.weight,
                )
            )  # fmt: skip


def create_run(
    db: Session,
    *,
    actor: Actor,
    scenario_id: int,
    name: str | None = None,
    speed: float = 1.0,
    scheduled_start: datetime | None = None,
) -> ExerciseRun:
    """Schedule a run of a scenario; the run keeps a frozen copy, later edits do not reach it."""
    require_centre(db, actor, doing="run exercises")
    if not 0.01 <= speed <= 3600:
        raise InvalidInput("speed must be between 0.01 and 3600")
    row = get_scenario(db, scenario_id=scenario_id)
    sc = model_of(row)
    run = ExerciseRun(
        scenario_id=row.id, name=(name or sc.name)[:120], frozen=row.document, status="scheduled", speed=speed,
        scheduled_start=scheduled_start, created_by=actor.username, controller_org_id=actor.org_id,
    )  # fmt: skip
    db.add(run)
    db.flush()
    _inject_rows(db, run, sc, sc.injects)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="exercise.run.create",
        target=f"exercise_run:{run.id}",
        details={"scenario": row.id},
    )
    return run


def frozen(run: ExerciseRun) -> Scenario:
    return Scenario.model_validate_json(run.frozen)


def _shift_pending(db: Session, run: ExerciseRun, fn: Callable[[datetime], datetime]) -> None:
    for inj in db.execute(
        select(ExerciseInject).where(
            ExerciseInject.run_id == run.id,
            ExerciseInject.status == "pending",
            ExerciseInject.due_at.is_not(None),
        )
    ).scalars():
        assert inj.due_at is not None
        inj.due_at = fn(aware(inj.due_at))


def move(db: Session, *, actor: Actor, run_id: int, to: str, now: datetime | None = None) -> ExerciseRun:
    """scheduled → running ⇄ paused → ended → reviewed; pausing and resuming move pending injects."""
    require_centre(db, actor, doing="control exercises")
    at = _now(now)
    run = get_run(db, run_id=run_id)
    if to not in RUN:
        raise InvalidInput(f"unknown state {to!r}; one of {', '.join(RUN)}")
    if run.status not in RUN[to]:
        from colsec.crisis.errors import InvalidTransition

        raise InvalidTransition(f"exercise run {run.id} is '{run.status}': cannot move to '{to}'")
    if to == "running" and run.status == "scheduled":
        run.started_at = at
        for inj in db.execute(select(ExerciseInject).where(ExerciseInject.run_id == run.id)).scalars():
            if inj.offset_seconds is not None and inj.after_inject is None and inj.after_expectation is None:
                inj.due_at = at + timedelta(seconds=inj.offset_seconds / run.speed)
    elif to == "running":  # resume: everything still pending moves by the length of the pause
        paused = at - aware(run.paused_at) if run.paused_at else timedelta(0)
        _shift_pending(db, run, lambda d: d + paused)
        run.paused_at = None
    elif to == "paused":
        run.paused_at = at
    elif to == "ended":
        run.ended_at = at
        run.paused_at = None
    elif to == "reviewed":
        run.reviewed_at = at
    run.status = to
    db.flush()
    wake(db, run)
    audit.record(db, actor=actor, action=f"exercise.run.{to}", target=f"exercise_run:{run.id}")
    return run


def set_speed(
    db: Session, *, actor: Actor, run_id: int, speed: float, now: datetime | None = None
) -> ExerciseRun:
    """Run the clock ×``speed``: what is left of every pending offset is rescaled from now."""
    require_centre(db, actor, doing="control exercises")
    if not 0.01 <= speed <= 3600:
        raise InvalidInput("speed must be between 0.01 and 3600")
    run = get_run(db, run_id=run_id)
    at = aware(run.paused_at) if run.paused_at else _now(now)
    ratio = run.speed / speed
    _shift_pending(db, run, lambda d: at + (d - at) * ratio if d > at else d)
    run.speed = speed
    db.flush()
    wake(db, run)
    audit.record(
        db,
        actor=actor,
        action="exercise.run.speed",
        target=f"exercise_run:{run.id}",
        details={"speed": speed},
    )
    return run


def add_inject(
    db: Session, *, actor: Actor, run_id: int, inject: Inject, now: datetime | None = None
) -> ExerciseInject:
    """A controller's ad-hoc inject; its offset counts from now (not from the start)."""
    require_centre(db, actor, doing="add injects")
    run = get_run(db, run_id=run_id)
    if run.status not in ("scheduled", "running", "paused"):
        raise InvalidInput(f"exercise run {run.id} is '{run.status}': no new injects")
    taken = db.execute(
        select(ExerciseInject.id).where(
            ExerciseInject.run_id == run.id, ExerciseInject.number == inject.number
        )
    ).scalar()
    if taken is not None:
        raise InvalidInput(f"inject {inject.number} exists in this run")
    _inject_rows(db, run, frozen(run), [inject])
    db.flush()
    row = db.execute(
        select(ExerciseInject).where(ExerciseInject.run_id == run.id, ExerciseInject.number == inject.number)
    ).scalar_one()
    row.adhoc = True
    if (
        run.status != "scheduled"
        and row.offset_seconds is not None
        and row.after_inject is None
        and row.after_expectation is None
    ):
        base = aware(run.paused_at) if run.paused_at else _now(now)
        row.due_at = base + timedelta(seconds=row.offset_seconds / run.speed)
    db.flush()
    wake(db, run)
    audit.record(
        db,
        actor=actor,
        action="exercise.inject.add",
        target=f"exercise_run:{run.id}",
        details={"number": inject.number},
    )
    return row


def add_note(
    db: Session, *, actor: Actor, run_id: int, text: str, kind: str = "note", owner: str = ""
) -> ExerciseNote:
    require_centre(db, actor, doing="write exercise notes")
    if kind not in ("note", "worked", "failed", "recommendation"):
        raise InvalidInput("kind is one of note, worked, failed, recommendation")
    if not text.strip():
        raise InvalidInput("a note has text")
    if kind == "recommendation" and not owner.strip():
        raise InvalidInput("a recommendation names its owner")
    run = get_run(db, run_id=run_id)
    note = ExerciseNote(run_id=run.id, kind=kind, text=text, owner=owner, author=actor.username)
    db.add(note)
    db.flush()
    return note


# --- delivery -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delivery:
    node_name: str = "colsec"


def _stamp(session: Session, flush_context: Any, instances: Any) -> None:
    run = session.info.get(EXERCISE_RUN)
    if not run:
        return
    for obj in session.new:
        if hasattr(obj, "exercise_run_id") and getattr(obj, "exercise_run_id", None) is None:
            obj.exercise_run_id = run[0]


@contextmanager
def exercise_context(db: Session, run: ExerciseRun) -> Iterator[None]:
    """While delivering: every row written in ``db`` is the run's (store, notices and this flush hook)."""
    db.info[EXERCISE_RUN] = (run.id, run.name)
    event.listen(db, "before_flush", _stamp)
    try:
        yield
        db.flush()
    finally:
        event.remove(db, "before_flush", _stamp)
        db.info.pop(EXERCISE_RUN, None)


def _org(db: Session, org_id: int) -> Organisation:
    org = db.get(Organisation, org_id)
    if org is None:
        raise NotFound(f"organisation {org_id} not found")
    return org


def _member_actor(db: Session, run: ExerciseRun, org_id: int) -> Actor:
    org = _org(db, org_id)
    return Actor(
        username=f"{EXERCISE_ACTOR_PREFIX}{run.id}",
        role=Role.REPRESENTATIVE,
        org_id=org.id,
        org_short_name=org.short_name,
    )


def _centre_actor(db: Session, run: ExerciseRun) -> Actor:
    org = db.get(Organisation, run.controller_org_id) if run.controller_org_id else None
    return Actor(
        username=f"{EXERCISE_ACTOR_PREFIX}{run.id}", role=Role.COORDINATOR,
        org_id=org.id if org else None, org_short_name=org.short_name if org else None,
    )  # fmt: skip


def participant_org_ids(db: Session, run: ExerciseRun) -> list[int]:
    names = _participants(run.frozen)
    if not names:
        return []
    return sorted(db.execute(select(Organisation.id).where(Organisation.short_name.in_(names))).scalars())


@lru_cache(maxsize=32)
def _participants(document: str) -> tuple[str, ...]:
    """The participants of a frozen scenario, parsed once per document (it may hold thousands of
    injects and is asked on every delivery and acknowledgement; keyed by the text, never stale)."""
    return tuple(sorted({str(p["org"]) for p in orjson.loads(document).get("participants", [])}))


def _targets(
    db: Session, run: ExerciseRun, inj: ExerciseInject, memo: dict[Any, Any] | None = None
) -> tuple[list[int], list[int]]:
    """(user ids, organisation ids) an inject is addressed to (``memo``: answers kept for one pass)."""
    memo = {} if memo is None else memo
    key = (run.id, inj.target_user, inj.target_org_id, inj.target_role)
    if key not in memo:
        memo[key] = _find_targets(db, run, inj)
    found: tuple[list[int], list[int]] = memo[key]
    return found


def _find_targets(db: Session, run: ExerciseRun, inj: ExerciseInject) -> tuple[list[int], list[int]]:
    if inj.target_user:
        row = db.execute(
            select(User.id, User.organisation_id).where(User.username == inj.target_user)
        ).one_or_none()
        return ([row[0]], [row[1]] if row and row[1] else []) if row else ([], [])
    orgs = [inj.target_org_id] if inj.target_org_id else participant_org_ids(db, run)
    roles = [Role(inj.target_role)] if inj.target_role else list(_ANY_ROLE)
    return notices.recipients(db, roles=roles, org_ids=orgs), orgs


def _ensure_crisis(db: Session, run: ExerciseRun, first_org: int) -> int:
    """The run's own exercise crisis (requests, consultations and CAP alerts hang on a crisis)."""
    if run.crisis_id is not None:
        return run.crisis_id
    from colsec.crisis import service
    from colsec.crisis.schemas import CrisisIn, IncidentIn, TransitionIn

    member = _member_actor(db, run, first_org)
    inc = service.report_incident(
        db,
        actor=member,
        data=IncidentIn.model_validate(
            {"title": run.name, "description": "exercise", "category": "cyber", "severity": 3}
        ),
    )
    service.triage_incident(db, actor=member, incident_id=inc.id, data=TransitionIn())
    service.escalate_incident(db, actor=member, incident_id=inc.id, data=TransitionIn())
    crisis = service.open_crisis(
        db, actor=_centre_actor(db, run),
        data=CrisisIn(title=f"[EXERCISE {run.name}]"[:200], incident_ids=[inc.id], lead_username=run.created_by),
    )  # fmt: skip
    run.crisis_id = crisis.id
    return crisis.id


def _params(inj: ExerciseInject) -> tuple[str, str, dict[str, Any]]:
    c = orjson.loads(inj.content)
    return str(c.get("type") or ""), str(c.get("content") or ""), dict(c.get("params") or {})


def _int(params: dict[str, Any], key: str, default: int, low: int = 0, high: int = 10**8) -> int:
    v = params.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or not low <= v <= high:
        raise InvalidInput(f"parameter {key!r} must be a whole number between {low} and {high}")
    return v


def _first_org(
    db: Session, run: ExerciseRun, inj: ExerciseInject, orgs: list[int], params: dict[str, Any]
) -> int:
    name = params.get("from")
    if isinstance(name, str) and name:
        return next(iter(_orgs(db, {name}).values())).id
    if inj.target_org_id:
        return inj.target_org_id
    if not orgs:
        raise InvalidInput(f"inject {inj.number}: no participating organisation")
    return orgs[0]


def _request(
    db: Session, run: ExerciseRun, inj: ExerciseInject, at: datetime, org_id: int
) -> AssistanceRequest:
    from colsec.crisis import service
    from colsec.crisis.schemas import RequestIn

    kind, content, params = _params(inj)
    crisis_id = _ensure_crisis(db, run, org_id)
    member = _member_actor(db, run, org_id)
    req = service.create_request(
        db, actor=member, crisis_id=crisis_id,
        data=RequestIn.model_validate({
            "capability": params.get("capability") or kind or "cert-incident-response",
            "quantity": _int(params, "quantity", 1, 1, 10_000),
            "location": str(params.get("location") or "-")[:200],
            "needed_by": at + timedelta(seconds=_int(params, "needed_within", 86400, 60)),
            "description": content or inj.title,
        }),
    )  # fmt: skip
    return service.submit_request(db, actor=member, request_id=req.id)


def _deliver(
    db: Session, run: ExerciseRun, inj: ExerciseInject, at: datetime, how: Delivery, memo: dict[Any, Any]
) -> list[str]:
    """Create the inject's payload through the domain; returns the references of what it created."""
    from colsec.crisis import service
    from colsec.crisis.schemas import ConsultationIn, IncidentIn

    kind, content, params = _params(inj)
    users, orgs = _targets(db, run, inj, memo)
    subject = inj.title
    target = f"exercise_run:{run.id}:inject:{inj.number}"
    channel = inj.channel
    if channel == "incident":
        org_id = _first_org(db, run, inj, orgs, params)
        inc = service.report_incident(
            db, actor=_member_actor(db, run, org_id),
            data=IncidentIn.model_validate({
                "title": inj.title[:200], "description": content, "category": kind or "cyber",
                "severity": _int(params, "severity", 3, 1, 5), "sector": str(params.get("sector") or "")[:60],
            }),
        )  # fmt: skip
        return [inc.stix_id, f"incident:{inc.id}"]
    if channel == "request":
        req = _request(db, run, inj, at, _first_org(db, run, inj, orgs, params))
        return [f"request:{req.id}", f"crisis:{req.crisis_id}"]
    if channel == "consultation":
        req = _request(db, run, inj, at, _first_org(db, run, inj, orgs, params))
        options = params.get("options") or []
        c = service.open_consultation(
            db, actor=_centre_actor(db, run), request_id=req.id,
            data=ConsultationIn.model_validate({
                "question": (inj.title + ("\n\n" + content if content else ""))[:5000], "options": options,
                "rule": params.get("rule") or "majority",
                "deadline": at + timedelta(seconds=_int(params, "deadline", 3600, 60)),
                "eligible_org_ids": orgs,
            }),
        )  # fmt: skip
        return [f"consultation:{c.id}", f"request:{req.id}", f"crisis:{req.crisis_id}"]
    if channel == "cap":
        crisis_id = _ensure_crisis(db, run, _first_org(db, run, inj, orgs, params))
        from colsec.crisis.alerts import crisis_alert

        alert = crisis_alert(
            db, actor=_centre_actor(db, run), crisis_id=crisis_id, node_name=how.node_name, status="Exercise"
        )
        notices.notify(
            db,
            kind="exercise.cap",
            subject=subject,
            body=content,
            target=f"cap_alert:{alert.id}",
            user_ids=users,
        )
        return [f"cap_alert:{alert.id}", f"crisis:{crisis_id}"]
    if channel == "stix":
        ids = _stix(db, run, inj, at, _first_org(db, run, inj, orgs, params), params)
        notices.notify(db, kind="exercise.stix", subject=subject, body=content, target=target, user_ids=users)
        return ids
    if channel == "message":
        notices.notify(
            db, kind="exercise.inject", subject=subject, body=content, target=target, user_ids=users
        )
        return [f"exercise_inject:{inj.id}"]
    if channel == "email":
        mail_subject = f"[EXERCISE {run.name}] {subject}"
        people = db.execute(select(User.id, User.organisation_id, User.email).where(User.id.in_(users))).all()
        put(
            db,
            [
                Outgoing(
                    channel=Channel.EMAIL, destination=email, event="exercise.inject", org_id=org,
                    idempotency_key=f"exercise:{run.id}:inject:{inj.id}:email:{uid}",
                    payload={"event": "exercise.inject", "subject": mail_subject, "body": content},
                )
                for uid, org, email in people
                if email
            ],
        )  # fmt: skip
        return [f"exercise_inject:{inj.id}"]
    if channel == "webhook":
        hooks = subscribed(db, sorted(orgs), Topic.CRISIS)  # an inject plays a crisis event
        put(
            db,
            [
                Outgoing(
                    channel=Channel.WEBHOOK, destination=destination(h), event="exercise.inject", org_id=org,
                    idempotency_key=f"exercise:{run.id}:inject:{inj.id}:webhook:{h}",
                    payload={"event": "exercise.inject", "id": f"exercise-{run.id}-{inj.number}",
                             "subject": f"[EXERCISE {run.name}] {subject}", "target": target,
                             "data": {"exercise": run.name, "type": kind, "content": content, "params": params}},
                )
                for h, org in hooks
            ],
        )  # fmt: skip
        return [f"exercise_inject:{inj.id}"]
    raise InvalidInput(f"unknown channel {channel!r}")


def exercise_marking(run: ExerciseRun, at: datetime) -> dict[str, Any]:
    """The statement marking every STIX object of a run carries."""
    return {
        "type": "marking-definition", "spec_version": "2.1",
        "id": f"marking-definition--{uuid.uuid5(uuid.NAMESPACE_URL, f'colsec:exercise:{run.id}')}",
        "created": "2026-01-01T00:00:00.000Z", "name": f"EXERCISE {run.name}"[:250],
        "definition_type": "statement",
        "definition": {"statement": f"EXERCISE {run.name}: exercise content, not real intelligence"},
    }  # fmt: skip


def _stix(
    db: Session, run: ExerciseRun, inj: ExerciseInject, at: datetime, org_id: int, params: dict[str, Any]
) -> list[str]:
    """The inject's STIX objects with ids of this run (two runs never share an object) and its marking."""
    from colsec.stix.tlp import TLP
    from colsec.store.service import import_objects

    objects = params.get("objects")
    if (
        not isinstance(objects, list)
        or not objects
        or not all(isinstance(o, dict) and isinstance(o.get("id"), str) for o in objects)
    ):
        raise InvalidInput(f"inject {inj.number}: params.objects must be a list of STIX objects")
    text = orjson.dumps(objects).decode()
    for o in objects:
        old = o["id"]
        kind = old.split("--", 1)[0]
        text = text.replace(
            old, f"{kind}--{uuid.uuid5(uuid.NAMESPACE_URL, f'colsec:exercise:{run.id}:{old}')}"
        )
    marking = exercise_marking(run, at)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    out = []
    for o in orjson.loads(text):
        o.setdefault("created", stamp)
        o.setdefault("modified", o["created"])
        o["object_marking_refs"] = sorted(set(o.get("object_marking_refs", [])) | {marking["id"]})
        out.append(o)
    tlp = str(params.get("tlp") or "amber").upper().replace("+", "_")
    level = TLP[tlp] if tlp in TLP.__members__ else TLP.AMBER
    import_objects(
        db,
        actor=_member_actor(db, run, org_id),
        objects=[marking, *out],
        owner_org_id=org_id,
        default_tlp=level,
    )
    return [o["id"] for o in out]


def _deliver_one(
    db: Session,
    run: ExerciseRun,
    inj: ExerciseInject,
    at: datetime,
    how: Delivery,
    memo: dict[Any, Any] | None = None,
) -> None:
    try:
        with db.begin_nested(), exercise_context(db, run):
            refs = _deliver(db, run, inj, at, how, {} if memo is None else memo)
    except Exception as err:  # a bad payload fails its inject, visibly, not the whole pass
        inj.status = "failed"
        inj.delivered_at = at
        inj.object_ref = f"error: {err}"[:200]
        return
    inj.status = "delivered"
    inj.delivered_at = at
    inj.object_ref = " ".join(refs)[:200]


def _resolve(db: Session, run: ExerciseRun, at: datetime) -> None:
    """Dependent injects: due when their condition holds, skipped when it no longer can."""
    from colsec.exercises.scoring import evaluate

    waiting = list(
        db.execute(
            select(ExerciseInject).where(
                ExerciseInject.run_id == run.id,
                ExerciseInject.status == "pending",
                ExerciseInject.due_at.is_(None),
                (ExerciseInject.after_inject.is_not(None)) | (ExerciseInject.after_expectation.is_not(None)),
            )
        ).scalars()
    )
    if not waiting:
        return
    results = {r.number: r for r in evaluate(db, run, now=at)}
    injects = {
        i.number: i
        for i in db.execute(select(ExerciseInject).where(ExerciseInject.run_id == run.id)).scalars()
    }
    for inj in waiting:
        holds: bool | None = None  # None: not decided yet
        if inj.after_expectation is not None:
            r = results.get(inj.after_expectation)
            status = r.status if r else "missed"
            want_missed = inj.condition == "missed"
            if status in ("met", "late"):
                holds = not want_missed
            elif status == "missed":
                holds = want_missed
        elif inj.after_inject is not None:
            ref = injects.get(inj.after_inject)
            mine = [r for r in results.values() if r.inject_number == inj.after_inject]
            if ref is None or ref.status in ("failed", "skipped"):
                holds = inj.condition == "missed"
            elif ref.status == "delivered" and not mine:
                holds = inj.condition == "answered"
            elif any(r.status in ("met", "late") for r in mine):
                holds = inj.condition == "answered"
            elif mine and all(r.status == "missed" for r in mine):
                holds = inj.condition == "missed"
        if holds is True:
            inj.due_at = at + timedelta(seconds=(inj.offset_seconds or 0) / run.speed)
        elif holds is False:
            inj.status = "skipped"


def deliver_due(
    db: Session, *, now: datetime | None = None, how: Delivery = Delivery(), run_id: int | None = None
) -> int:
    """Deliver every due inject of running runs (oldest first); returns how many were delivered."""
    at = _now(now)
    stmt = select(ExerciseRun).where(ExerciseRun.status == "running")
    if run_id is not None:
        stmt = stmt.where(ExerciseRun.id == run_id)
    count = 0
    memo: dict[Any, Any] = {}  # recipients looked up once per pass
    for run in db.execute(stmt).scalars().all():
        for _ in range(20):  # dependencies may become due in the same pass
            _resolve(db, run, at)
            db.flush()  # sessions here do not autoflush
            due = list(
                db.execute(
                    select(ExerciseInject)
                    .where(
                        ExerciseInject.run_id == run.id,
                        ExerciseInject.status == "pending",
                        ExerciseInject.due_at <= at,
                    )
                    .order_by(ExerciseInject.due_at, ExerciseInject.number)
                ).scalars()
            )
            if not due:
                break
            for inj in due:
                _deliver_one(db, run, inj, at, how, memo)
                count += 1
            db.flush()
        wake(db, run)
    return count


def wake(db: Session, run: ExerciseRun) -> None:
    """Queue a delivery pass at the run's next due inject, so it goes out then, not a period later.

    The periodic pass stays the safety net (dependencies that come due through members'
    actions); this timed job is what keeps the lag near the job runner's poll interval.
    One job per instant, whichever run asks for it: a pass delivers every running run.
    """
    if run.status != "running":
        return
    nxt = db.execute(
        select(func.min(ExerciseInject.due_at)).where(
            ExerciseInject.run_id == run.id,
            ExerciseInject.status == "pending",
            ExerciseInject.due_at.is_not(None),
        )
    ).scalar()
    if nxt is None:
        return
    due = aware(nxt)
    stamp = due.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")
    queue.enqueue_once(
        db,
        kind=DELIVER_KIND,
        key=f"schedule:{DELIVER_KIND}:{stamp}",
        actor=SYSTEM,
        run_after=due,
        max_attempts=1,
    )


def deliver_now(
    db: Session,
    *,
    actor: Actor,
    run_id: int,
    number: int,
    now: datetime | None = None,
    how: Delivery = Delivery(),
) -> ExerciseInject:
    """Deliver one pending inject immediately, paused or not."""
    require_centre(db, actor, doing="deliver injects")
    run = get_run(db, run_id=run_id)
    if run.status not in ("running", "paused"):
        raise InvalidInput(f"exercise run {run.id} is '{run.status}': injects are delivered while it runs")
    inj = db.execute(
        select(ExerciseInject).where(ExerciseInject.run_id == run.id, ExerciseInject.number == number)
    ).scalar_one_or_none()
    if inj is None:
        raise NotFound(f"inject {number} not found in run {run.id}")
    if inj.status != "pending":
        raise InvalidInput(f"inject {number} is '{inj.status}'")
    _deliver_one(db, run, inj, _now(now), how)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="exercise.inject.deliver_now",
        target=f"exercise_run:{run.id}",
        details={"number": number},
    )
    return inj


def acknowledge(db: Session, *, actor: Actor, run_id: int, number: int) -> ExerciseInject:
    """A participant acknowledges an inject (the start of its time-to-acknowledge)."""
    run = get_run(db, run_id=run_id)
    inj = db.execute(
        select(ExerciseInject).where(ExerciseInject.run_id == run.id, ExerciseInject.number == number)
    ).scalar_one_or_none()
    if inj is None or inj.status != "delivered" or not _addressed(db, run, inj, actor):
        raise NotFound(f"inject {number} not found in run {run.id}")
    audit.record(
        db,
        actor=actor,
        action="exercise.inject.acknowledge",
        target=f"exercise_inject:{inj.id}",
        details={"run": run.id},
    )
    return inj


def _addressed(db: Session, run: ExerciseRun, inj: ExerciseInject, actor: Actor) -> bool:
    if inj.target_user:
        return actor.username == inj.target_user
    orgs = [inj.target_org_id] if inj.target_org_id else participant_org_ids(db, run)
    return actor.org_id in orgs


def run_deliver(ctx: JobContext, *, node_name: str) -> dict[str, Any]:
    """The periodic job (``Schedule(DELIVER_KIND, DELIVER_SECONDS)``)."""
    return {"delivered": deliver_pass(ctx.database, node_name=node_name)}


def deliver_pass(database: Database, *, node_name: str, now: datetime | None = None) -> int:
    with database.unit_of_work() as s:
        if (
            s.execute(
                select(func.count()).select_from(ExerciseRun).where(ExerciseRun.status == "running")
            ).scalar_one()
            == 0
        ):
            return 0
        return deliver_due(s, now=now, how=Delivery(node_name=node_name))


# --- deletion -------------------------------------------------------------------------------------------


def delete_run(db: Session, *, actor: Actor, run_id: int) -> dict[str, int]:
    """Delete a run and everything it created (the audit log keeps its record)."""
    require_centre(db, actor, doing="delete exercise runs")
    run = get_run(db, run_id=run_id)
    counts: dict[str, int] = {}

    def gone(name: str, stmt: Any) -> None:
        result: Any = db.execute(stmt.execution_options(synchronize_session=False))
        counts[name] = int(result.rowcount)

    notes = select(Notification.id).where(Notification.exercise_run_id == run.id)
    keys = [f"notification:{n}:email" for n in db.execute(notes).scalars()]
    for i in range(0, len(keys), 500):
        db.execute(delete(OutboxMessage).where(OutboxMessage.idempotency_key.in_(keys[i : i + 500])))
    gone("outbox", delete(OutboxMessage).where(OutboxMessage.idempotency_key.like(f"exercise:{run.id}:%")))
    gone("notifications", delete(Notification).where(Notification.exercise_run_id == run.id))
    gone("cap_alerts", delete(CapAlert).where(CapAlert.exercise_run_id == run.id))
    gone("consultations", delete(Consultation).where(Consultation.exercise_run_id == run.id))
    gone("requests", delete(AssistanceRequest).where(AssistanceRequest.exercise_run_id == run.id))
    gone("incidents", delete(Incident).where(Incident.exercise_run_id == run.id))
    gone("crises", delete(Crisis).where(Crisis.exercise_run_id == run.id))
    gone("stix_objects", delete(StixObject).where(StixObject.exercise_run_id == run.id))
    db.delete(run)
    db.flush()
    audit.record(
        db, actor=actor, action="exercise.run.delete", target=f"exercise_run:{run_id}", details=counts
    )
    return counts
