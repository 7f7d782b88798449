"""What an inject creates: its payload, made by the same domain function as the real object.

``report_incident``, ``open_consultation``, ``crisis_alert``, ``import_objects`` through the
write gate, ``notify`` and outbox rows: an exercise exercises the real paths.  While a payload
is made the session carries ``EXERCISE_RUN`` (``exercise_context``): the store and the notices
stamp what they write, and a flush hook stamps every new row that has an ``exercise_run_id``
column, so nothing a run creates can be mistaken for real data.  Apart from the pass that
decides *when* (``delivery.py``) because this is the part that knows every channel.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation, User
from colsec.accounts.roles import Actor, Role
from colsec.crisis import notify as notices
from colsec.crisis.models import (
    AssistanceRequest,
)
from colsec.errors import InvalidInput, NotFound
from colsec.exercises.models import ExerciseInject, ExerciseRun, ref
from colsec.exercises.run import EXERCISE_ACTOR_PREFIX, _orgs, participant_org_ids
from colsec.outbox import Channel, Outgoing, put
from colsec.outbox.models import Topic
from colsec.outbox.webhooks import destination, subscribed
from colsec.store.models import EXERCISE_RUN

__all__ = ["Delivery", "create_payload", "exercise_context", "exercise_marking"]

_ANY_ROLE = (Role.ANALYST, Role.REPRESENTATIVE, Role.COORDINATOR, Role.ADMIN)


@dataclass(frozen=True, slots=True)
class Delivery:
    """How a pass delivers: the node name that CAP alerts carry as their sender."""

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


def create_payload(
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
        return [ref(ExerciseInject, inj.id)]
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
        return [ref(ExerciseInject, inj.id)]
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
        return [ref(ExerciseInject, inj.id)]
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
