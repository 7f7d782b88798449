"""Cross-member signal: one threat reported or sighted by several member organisations at once.

A threat is an observable value (from indicators and SCOs, CIDR/parent-domain groups
included) or a named malware / threat actor / intrusion set / campaign.  Each report
or sighting is an event (organisation, time); when some window of
``window_hours`` holds events of at least ``threshold`` distinct member
organisations, an alert is raised (and extended as more arrive) for each alliance
organisation that reaches the threshold counting only the reports and sightings it
may see: the alert tells nobody about a report it could not read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.intel.alerts import raise_alert
from colsec.intel.correlation import DEFAULT_CAP, Key, fill_temp_keys
from colsec.intel.models import Alert, Correlation, CorrelationEdge
from colsec.stix.ids import parse_timestamp
from colsec.store.models import Observable, StixObject
from colsec.store.policy import Recipient, may_share
from colsec.store.seqsets import seq_batches
from colsec.store.sources import alliance_orgs, source_facts

__all__ = ["NAMED_THREATS", "Event", "best_window", "check_keys", "check_named", "keys_for_sightings"]

NAMED_THREATS = ("malware", "threat-actor", "intrusion-set", "campaign")


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    org_id: int
    at: datetime
    needs: tuple[int, ...] = ()  # other versions the event means nothing without (a sighting's target)


def best_window(events: Sequence[Event], hours: float) -> list[Event]:
    """Events of the window (of ``hours``) that holds the most distinct organisations."""
    evs = sorted(events, key=lambda e: e.at)
    width = timedelta(hours=hours)
    best: tuple[int, int, int] = (0, 0, 0)
    counts: Counter[int] = Counter()
    lo = 0
    for hi, e in enumerate(evs):
        counts[e.org_id] += 1
        while evs[lo].at < e.at - width:
            counts[evs[lo].org_id] -= 1
            if not counts[evs[lo].org_id]:
                del counts[evs[lo].org_id]
            lo += 1
        if len(counts) > best[0]:
            best = (len(counts), lo, hi)
    return evs[best[1] : best[2] + 1] if best[0] else []


def _members(db: Session) -> set[int]:
    return set(db.execute(select(Organisation.id).where(Organisation.kind == "member")).scalars())


def _when(obj_created: str | None, body: str, typ: str) -> datetime | None:
    try:
        if typ == "sighting":
            b = orjson.loads(body)
            return parse_timestamp(b.get("last_seen") or b.get("created"))
        return parse_timestamp(obj_created) if obj_created else None
    except (ValueError, TypeError):
        return None


def _sighting_events(db: Session, target_ids: Iterable[str], members: set[int]) -> list[Event]:
    """Sightings of the given objects (by ``sighting_of_ref``), from the canonical JSON body."""
    events: list[Event] = []
    for tid in set(target_ids):
        target = db.execute(select(StixObject.seq).where(StixObject.id == tid, StixObject.is_latest)).scalar()
        if target is None:
            continue
        needle = f'%"sighting_of_ref":"{tid}"%'
        for seq, owner, created, body in db.execute(
            select(StixObject.seq, StixObject.owner_org_id, StixObject.created, StixObject.body).where(
                StixObject.type == "sighting", StixObject.is_latest, StixObject.revoked.is_(False),
                StixObject.body.like(needle),
            )
        ):  # fmt: skip
            at = _when(created, body, "sighting")
            if owner in members and at is not None:
                events.append(Event(seq, owner, at, (target,)))
    return events


def _raise(
    db: Session,
    key: str,
    label: str,
    events: list[Event],
    threshold: int,
    hours: float,
    value_kind: str | None,
    value: str | None,
    anchors: set[int] | None = None,
    holders: tuple[set[int], int] | None = None,
) -> list[Alert]:
    """One alert per alliance organisation, computed only from the events it may see.

    Another member's TLP:RED report neither counts towards a reader's threshold nor shows
    in its alert; a reader must also see an object stating the value itself (``anchors``),
    and the value must not be over-correlated among the holders it sees (``holders``: the
    holding versions and the cap).
    """
    if len({e.org_id for e in events}) < threshold:
        return []
    involved = {e.seq for e in events} | {n for e in events for n in e.needs}
    involved |= (anchors or set()) | (holders[0] if holders is not None else set())
    facts = source_facts(db, sorted(involved))
    alliance = alliance_orgs(db)
    title = f"Threat reported or sighted by several member organisations within {hours:g} h: {label}"[:400]
    alerts: list[Alert] = []
    for org in sorted(alliance):
        to = Recipient(org_id=org, alliance_member=True)
        seen = {seq for seq, src in facts.items() if may_share(src.facts, to)}
        if anchors is not None and not anchors & seen:
            continue
        if holders is not None and len(holders[0] & seen) > holders[1]:
            continue
        window = best_window([e for e in events if e.seq in seen and seen.issuperset(e.needs)], hours)
        if len({e.org_id for e in window}) < threshold:
            continue
        alert = raise_alert(
            db,
            kind="cross_member",
            dedupe_key=f"cross:{org}:{key}"[:300],
            severity="high",
            title=title,
            recipients=[org],
            object_seqs=sorted({e.seq for e in window} | {n for e in window for n in e.needs}),
            value_kind=value_kind,
            value=value,
            details={
                "window_start": min(e.at for e in window).isoformat(),
                "window_end": max(e.at for e in window).isoformat(),
                "threshold": threshold,
                "hours": hours,  # with the label, the title's parts: the UI words it in each language
                "label": label,
            },
        )
        if alert is not None:
            alerts.append(alert)
    return alerts


def check_keys(
    db: Session, keys: Iterable[Key], *, threshold: int, window_hours: float, cap: int = DEFAULT_CAP
) -> list[Alert]:
    """Cross-member alerts for correlated values (the shared-value groups touched by an import).

    Values capped over all holders may still be active for a reader who sees fewer of them.
    """
    keys = set(keys)
    if not keys:
        return []
    members = _members(db)
    alerts: list[Alert] = []
    fill_temp_keys(db, keys)  # one join finds the few groups that reach the threshold
    candidates = db.execute(
        select(Correlation.kind, Correlation.value, Correlation.contains).where(
            Correlation.key_hash.in_(select(text("h")).select_from(text("corr_key"))),
            Correlation.status.in_(("active", "capped")),
            Correlation.n_owners >= threshold,
        )
    ).all()
    for kind, value, contains in candidates:
        pairs = [(kind, value)]
        if contains:
            pairs += [
                (k, v)
                for k, v in db.execute(
                    select(CorrelationEdge.kind, CorrelationEdge.value).where(
                        CorrelationEdge.parent_kind == kind, CorrelationEdge.parent_value == value
                    )
                )
            ]
        events: list[Event] = []
        indicator_ids: list[str] = []
        anchors: set[int] = set()
        held: dict[str, int] = {}  # object id -> one holding version (the group counts objects)
        for k, v in pairs:
            for seq, oid, typ, owner, created, body in db.execute(
                select(StixObject.seq, StixObject.id, StixObject.type, StixObject.owner_org_id, StixObject.created, StixObject.body)
                .join(Observable, Observable.object_seq == StixObject.seq)
                .where(Observable.kind == k, Observable.value == v, StixObject.is_latest, StixObject.revoked.is_(False))
            ):  # fmt: skip
                at = _when(created, body, typ)
                if (k, v) == (kind, value):
                    anchors.add(seq)
                held.setdefault(oid, seq)
                if owner in members and at is not None:
                    events.append(Event(seq, owner, at))
                if typ == "indicator":
                    indicator_ids.append(oid)
        events += _sighting_events(db, indicator_ids, members)
        alerts += _raise(
            db, f"{kind}:{value}", f"{kind} {value}", events, threshold, window_hours, kind, value, anchors,
            (set(held.values()), cap),
        )  # fmt: skip
    return alerts


def _norm(name: str) -> str:
    return " ".join(name.lower().split())


def check_named(db: Session, seqs: Sequence[int], *, threshold: int, window_hours: float) -> list[Alert]:
    """Cross-member alerts for malware / actors / intrusion sets / campaigns named in new objects."""
    wanted: set[tuple[str, str]] = set()
    for batch in seq_batches(StixObject.seq, seqs):
        for typ, body in db.execute(
            select(StixObject.type, StixObject.body).where(batch, StixObject.type.in_(NAMED_THREATS))
        ):
            name = orjson.loads(body).get("name")
            if isinstance(name, str) and name.strip():
                wanted.add((typ, _norm(name)))
    if not wanted:
        return []
    members = _members(db)
    alerts: list[Alert] = []
    for typ in {t for t, _ in wanted}:
        groups: dict[str, list[tuple[int, str, int | None, str | None, str]]] = {}
        for seq, oid, owner, created, body in db.execute(
            select(
                StixObject.seq, StixObject.id, StixObject.owner_org_id, StixObject.created, StixObject.body
            ).where(StixObject.type == typ, StixObject.is_latest, StixObject.revoked.is_(False))
        ):
            name = orjson.loads(body).get("name")
            if isinstance(name, str) and (typ, _norm(name)) in wanted:
                groups.setdefault(_norm(name), []).append((seq, oid, owner, created, body))
        for name, rows in groups.items():
            if len({r[2] for r in rows}) < threshold:
                sightings = _sighting_events(db, [r[1] for r in rows], members)
                if len({e.org_id for e in sightings} | {r[2] for r in rows}) < threshold:
                    continue
            else:
                sightings = _sighting_events(db, [r[1] for r in rows], members)
            events = [
                Event(r[0], r[2], at)
                for r in rows
                if r[2] in members and (at := _when(r[3], r[4], typ)) is not None
            ]
            events += sightings
            alerts += _raise(
                db, f"{typ}:{name}", f"{typ} {name}", events, threshold, window_hours, None, None
            )
    return alerts


def keys_for_sightings(db: Session, seqs: Sequence[int]) -> tuple[list[Key], list[int]]:
    """Values of indicators sighted by new sightings, and seqs of sighted named threats."""
    refs: set[str] = set()
    for batch in seq_batches(StixObject.seq, seqs):
        for (body,) in db.execute(select(StixObject.body).where(batch, StixObject.type == "sighting")):
            ref = orjson.loads(body).get("sighting_of_ref")
            if isinstance(ref, str):
                refs.add(ref)
    if not refs:
        return [], []
    keys: set[Key] = set()
    named: list[int] = []
    for seq, typ in db.execute(
        select(StixObject.seq, StixObject.type).where(StixObject.id.in_(sorted(refs)), StixObject.is_latest)
    ):
        if typ in NAMED_THREATS:
            named.append(seq)
        else:
            keys.update(
                (k, v)
                for k, v in db.execute(
                    select(Observable.kind, Observable.value).where(Observable.object_seq == seq)
                )
            )
    # the groups that contain these values as children
    for k, v in list(keys):
        keys.update(
            (pk, pv)
            for pk, pv in db.execute(
                select(CorrelationEdge.parent_kind, CorrelationEdge.parent_value).where(
                    CorrelationEdge.kind == k, CorrelationEdge.value == v
                )
            )
        )
    return sorted(keys), named
