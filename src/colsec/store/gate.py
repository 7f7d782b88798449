"""The rules of the one write gate, ``colsec.store.service.import_objects``.

Every path that creates or versions an object (REST, TAXII, imports, UI, CLI, sync,
matching, correlation, crisis, demo) stores through that one function, so these rules
hold by construction rather than per path:

- limits (``limits.py``): bytes per object, characters per string, objects per unit, and ``created`` /
  ``modified`` no further ahead than a small clock skew (a version dated 2099 would stay
  the latest of shared reference data for everyone);
- owner: only the organisation holding an id publishes versions of it;
- facts: SCOs and marking definitions may be asserted by anyone: a non-owner's write is
  answered like a fresh write and records the writer as a co-holder, never changing the
  stored owner, markings or body (deterministic SCO ids must not make values testable);
- origin: a peer versions only what its organisation owns or what it relayed itself,
  and never publishes as one of this node's organisations;
- markings: a new version is never wider than the latest one (TLP, sharing group) unless
  its owner declassifies explicitly (audited); received versions never widen.

Residual, SDOs and SROs: a non-owner's write of an existing id gets one answer (403, one
message) whether or not the writer may see the object, which still tells it the id is
held.  Those ids are random UUIDs, so only a caller that already learnt an id can ask.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from colsec.errors import NotFound
from colsec.stix.validate import SCO_TYPES, ObjectFacts
from colsec.store.limits import WriteLimits, limit_problem  # the store's service takes them from here too
from colsec.store.models import ObjectRecipient, SharingGroup, SharingGroupMember, StixObject
from colsec.store.peers import Peer
from colsec.store.policy import GROUP_PROPERTY
from colsec.store.rows import insert_stmt, sqlite_cursor

__all__ = [
    "FACT_TYPES",
    "Decision",
    "Held",
    "Verdict",
    "WriteLimits",
    "Writer",
    "any_held",
    "decide",
    "group_claim",
    "held_versions",
    "held_versions_pg",
    "held_versions_portable",
    "limit_problem",
    "local_org_ids",
    "record_co_holders",
    "unheld",
]

# Facts anyone may assert: their ids follow from their content (SCOs) or from the spec (TLP).
FACT_TYPES = SCO_TYPES | {"marking-definition"}
_MARKING_KEYS = ("object_marking_refs", GROUP_PROPERTY)
# An identity restated with only new timestamps is the same identity (MISP converters date the
# creator's identity with each event): not a new version, so it neither conflicts nor widens.
_RESTATED_KEYS = (*_MARKING_KEYS, "created", "modified")


@dataclass(frozen=True, slots=True)
class Writer:
    """Who writes: the owner of what the write creates, and whether it comes from a peer."""

    owner_org_id: int | None
    received: bool
    sender_org_id: int | None
    origin: str | None
    declassify: bool
    local_org_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class Held:
    """The latest stored version of an id the write names."""

    seq: int
    owner_org_id: int | None
    origin: str | None
    tlp: int
    sharing_group_id: int | None


class Verdict(Enum):
    WRITE = "write"  # store the version (an already stored one is counted unchanged)
    SAME = "same"  # the held version restated: counted unchanged, nothing stored
    CO_HOLD = "co_hold"  # record the writer as a co-holder of a stored fact, store nothing
    ACCEPT = "accept"  # answer like a fresh write, record nothing (a fact stored with other content)
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    owner_org_id: int | None = None
    sharing_group_id: int | None = None
    message: str = ""
    widens: bool = False
    seq: int | None = None  # the stored version a co-holder is recorded on


NOT_OWNER = "{id}: this id is held by another organisation; only its holder may publish versions of it"
PEER_AS_LOCAL = "{id}: a peer may not publish objects as an organisation of this node"
PEER_NOT_SENDER = "{id}: a peer may version only objects its organisation owns or that it sent itself"
WIDENS = (
    "{id}: this version would widen its marking ({was} to {now}); "
    "only the owner may, by declassifying explicitly"
)


class Lookup:
    """The stored facts a decision may need, fetched only when a case needs them."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self._members: dict[int, frozenset[int]] = {}
        self._bodies: dict[int, str] = {}

    def prefetch(self, seqs: Iterable[int]) -> None:
        """Load the bodies a batch will compare in one query per 500 (a second organisation's ATT&CK import)."""
        self._bodies.clear()
        wanted = list(set(seqs))
        for i in range(0, len(wanted), 500):
            self._bodies.update(
                self.db.execute(
                    select(StixObject.seq, StixObject.body).where(StixObject.seq.in_(wanted[i : i + 500]))
                ).all()
            )

    def same_content(self, seq: int, obj: Mapping[str, Any], ignore: tuple[str, ...] = _MARKING_KEYS) -> bool:
        """Same object apart from ``ignore`` (markings): the writer learns nothing by being made a co-holder."""
        body = self._bodies.get(seq)
        if body is None:
            body = self.db.execute(select(StixObject.body).where(StixObject.seq == seq)).scalar()
        if body is None:
            return False
        stored = orjson.loads(body)
        return _without(stored, ignore) == _without(obj, ignore)

    def group_within(self, new: int, old: int) -> bool:
        return self._group(new) <= self._group(old)

    def _group(self, group_id: int) -> frozenset[int]:
        if group_id not in self._members:
            self._members[group_id] = frozenset(
                self.db.execute(
                    select(SharingGroupMember.organisation_id).where(SharingGroupMember.group_id == group_id)
                ).scalars()
            )
        return self._members[group_id]

    def recipients(self, seqs: Iterable[int]) -> dict[int, set[int]]:
        out: dict[int, set[int]] = {}
        wanted = list(set(seqs))
        for i in range(0, len(wanted), 500):
            for seq, org in self.db.execute(
                select(ObjectRecipient.object_seq, ObjectRecipient.organisation_id).where(
                    ObjectRecipient.object_seq.in_(wanted[i : i + 500])
                )
            ).all():
                out.setdefault(seq, set()).add(org)
        return out


def _without(obj: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in keys}


def _tlp_name(level: int) -> str:
    from colsec.stix.tlp import TLP

    return f"TLP:{TLP(level).name.replace('_', '+')}"


def decide(
    w: Writer,
    *,
    facts: ObjectFacts,
    obj: Mapping[str, Any],
    level: int,
    group_id: int | None,
    held: Held | None,
    known_seq: int | None,
    look: Lookup,
) -> Decision:
    """What the gate does with one object; ``known_seq`` is the stored row of this exact version."""
    oid = facts.id
    claimed = w.owner_org_id
    if held is None:
        return unheld(w, group_id) or Decision(Verdict.REFUSE, message=PEER_AS_LOCAL.format(id=oid))
    owner = held.owner_org_id
    if known_seq is None and facts.type == "identity" and look.same_content(held.seq, obj, _RESTATED_KEYS):
        holder = claimed if not w.received or claimed not in w.local_org_ids else w.sender_org_id
        if holder == owner or holder is None:
            return Decision(Verdict.SAME, owner)
        return Decision(Verdict.CO_HOLD, holder, seq=held.seq)
    if w.received:
        if known_seq is not None:  # an echo of a version stored here: nothing to decide
            return Decision(Verdict.WRITE, owner, held.sharing_group_id)
        relayed = held.origin is not None and held.origin == w.origin and owner not in w.local_org_ids
        if owner != w.sender_org_id and not relayed:
            if facts.type in FACT_TYPES:
                holder = claimed if claimed not in w.local_org_ids else w.sender_org_id
                return _co_hold(holder, held.seq, obj, look)
            return Decision(Verdict.REFUSE, message=PEER_NOT_SENDER.format(id=oid))
    elif owner != claimed:
        if facts.type in FACT_TYPES:
            return _co_hold(claimed, known_seq or held.seq, obj, look)
        if known_seq is not None and claimed is not None and look.same_content(known_seq, obj):
            return Decision(Verdict.CO_HOLD, claimed, seq=known_seq)
        return Decision(Verdict.REFUSE, message=NOT_OWNER.format(id=oid))
    elif known_seq is not None:
        return Decision(Verdict.WRITE, owner, held.sharing_group_id)
    group = group_id
    if group is None and held.sharing_group_id is not None and GROUP_PROPERTY in obj:
        group = held.sharing_group_id  # the body still names the group: the version keeps it
    dropped = held.sharing_group_id is not None and (
        group is None
        or (group != held.sharing_group_id and not look.group_within(group, held.sharing_group_id))
    )
    if level < held.tlp or dropped:
        if w.received or not w.declassify:
            now = _tlp_name(level) + (
                "" if group is not None or not dropped else " without its sharing group"
            )
            return Decision(Verdict.REFUSE, message=WIDENS.format(id=oid, was=_tlp_name(held.tlp), now=now))
        return Decision(Verdict.WRITE, owner, group, widens=True)
    return Decision(Verdict.WRITE, owner, group)


def unheld(w: Writer, group_id: int | None) -> Decision | None:
    """The decision for any id not yet held, or None if such writes are refused (a peer writing as
    an organisation of this node).  The same for every object of a unit, so a bulk import asks
    once, not per object (``decide`` answers with it too)."""
    if w.received and w.owner_org_id in w.local_org_ids and w.owner_org_id != w.sender_org_id:
        return None
    return Decision(Verdict.WRITE, w.owner_org_id, group_id)


def _co_hold(holder: int | None, seq: int, obj: Mapping[str, Any], look: Lookup) -> Decision:
    if holder is not None and look.same_content(seq, obj):
        return Decision(Verdict.CO_HOLD, holder, seq=seq)
    return Decision(Verdict.ACCEPT, holder)


Versions = tuple[dict[str, Held], dict[tuple[str, str], int]]


def held_versions(db: Session, ids: list[str]) -> Versions:
    """The latest version of each id already stored, and the stored versions of those ids."""
    cur = sqlite_cursor(db)
    if cur is None and db.get_bind().dialect.name == "postgresql":
        return held_versions_pg(db, ids)
    return held_versions_portable(db, ids, cur)


def held_versions_pg(db: Session, ids: list[str]) -> Versions:
    """PostgreSQL: every stored version of the ids in one statement per thousand, an index probe per id.

    An import into a table the planner has no statistics for (the first large import, or
    rows of the same transaction) estimates an ``id IN (...)`` as a good part of the table
    and scans all of it for each batch: a third of an ATT&CK import.  The lateral subquery
    (kept apart by ``OFFSET 0``) makes every id one probe of the id index whatever the estimate.
    """
    held: dict[str, Held] = {}
    versions: list[tuple[int, str, str]] = []
    for i in range(0, len(ids), 1000):
        for seq, oid, modified, latest, owner, origin, tlp, group in db.execute(
            _PG_VERSIONS, {"ids": ids[i : i + 1000]}
        ):
            versions.append((seq, oid, modified))
            if latest:
                held[oid] = Held(seq, owner, origin, tlp, group)
    known = {(oid, modified): seq for seq, oid, modified in versions if oid in held}
    return held, known


def held_versions_portable(db: Session, ids: list[str], cur: Any = None) -> Versions:
    """Two lookups per 500 ids: the latest versions, then every version of the ids held
    (through SQLite's driver cursor ``cur`` when given)."""
    held: dict[str, Held] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        rows = (
            cur.execute(_HELD.format(", ".join("?" * len(chunk))), chunk).fetchall()
            if cur is not None
            else db.execute(
                select(
                    StixObject.seq, StixObject.id, StixObject.owner_org_id, StixObject.origin, StixObject.tlp,
                    StixObject.sharing_group_id,
                ).where(StixObject.id.in_(chunk), StixObject.is_latest)
            ).all()
        )  # fmt: skip
        for seq, oid, owner, origin, tlp, group in rows:
            held[oid] = Held(seq, owner, origin, tlp, group)
    known: dict[tuple[str, str], int] = {}
    some = list(held)
    for i in range(0, len(some), 500):
        chunk = some[i : i + 500]
        versions = (
            cur.execute(_VERSIONS.format(", ".join("?" * len(chunk))), chunk).fetchall()
            if cur is not None
            else db.execute(
                select(StixObject.seq, StixObject.id, StixObject.modified).where(StixObject.id.in_(chunk))
            ).all()
        )
        for seq, oid, modified in versions:
            known[(oid, modified)] = seq
    return held, known


def any_held(cur: Any, ids: list[str]) -> bool:
    """Whether any of ``ids`` has a stored version, through the SQLite or psycopg driver cursor ``cur``.

    One row per statement: the import's writer thread asks it of the next batch (``held_versions``
    is then needed only on True), and a fetched row hands the GIL back on that thread.  On
    PostgreSQL an id index probe each, as in ``held_versions_pg``, and one statement for the batch."""
    if not isinstance(cur, sqlite3.Cursor):
        return bool(cur.execute(_ANY_PG, {"ids": ids}).fetchone()[0])
    size = cur.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    for i in range(0, len(ids), size):
        chunk = ids[i : i + size]
        if cur.execute(_ANY.format(", ".join("?" * len(chunk))), chunk).fetchone()[0]:
            return True
    return False


_ANY = "SELECT EXISTS (SELECT 1 FROM stix_object WHERE id IN ({}))"
_ANY_PG = (
    "SELECT EXISTS (SELECT 1 FROM unnest(CAST(%(ids)s AS text[])) AS u(id) CROSS JOIN LATERAL ("
    "SELECT 1 FROM stix_object WHERE stix_object.id = u.id LIMIT 1) AS v)"
)
# The same two lookups as SQL text for SQLite's driver: building the statement per chunk through
# SQLAlchemy was a tenth of a large import.
_HELD = (
    "SELECT seq, id, owner_org_id, origin, tlp, sharing_group_id FROM stix_object "
    "WHERE id IN ({}) AND is_latest = 1"
)
_VERSIONS = "SELECT seq, id, modified FROM stix_object WHERE id IN ({})"
_PG_VERSIONS = text(
    "SELECT v.seq, v.id, v.modified, v.is_latest, v.owner_org_id, v.origin, v.tlp, v.sharing_group_id "
    "FROM unnest(CAST(:ids AS text[])) AS u(id) CROSS JOIN LATERAL ("
    "SELECT seq, id, modified, is_latest, owner_org_id, origin, tlp, sharing_group_id "
    "FROM stix_object WHERE stix_object.id = u.id OFFSET 0) AS v"
)


def record_co_holders(db: Session, co_holds: dict[tuple[int, int], str], result: Any) -> None:
    """Name the writers of facts held by others as recipients of the stored version (counted like a write)."""
    if not co_holds:
        return
    table = ObjectRecipient.__table__
    stmt = (
        insert_stmt(db, table)
        .values([{"object_seq": seq, "organisation_id": org} for seq, org in co_holds])
        .on_conflict_do_nothing()
        .returning(table.c.object_seq, table.c.organisation_id)
    )
    added = db.execute(stmt).all()
    for seq, org in added:
        result.by_type[co_holds[(seq, org)]] += 1
    result.inserted += len(added)
    result.unchanged += len(co_holds) - len(added)


def local_org_ids(db: Session) -> frozenset[int]:
    """This node's own organisations (as its peers know it): no peer may publish as them."""
    return frozenset(
        db.execute(select(Peer.local_org_id).where(Peer.local_org_id.is_not(None))).scalars()  # type: ignore[arg-type]
    )


def group_claim(db: Session, group_id: int) -> dict[str, Any]:
    """The group as the object body carries it to peers: its name and members' identities."""
    from colsec.accounts.models import Organisation

    name = db.execute(select(SharingGroup.name).where(SharingGroup.id == group_id)).scalar()
    if name is None:
        raise NotFound(f"sharing group {group_id} not found")
    members = db.execute(
        select(Organisation.identity_id)
        .join(SharingGroupMember, SharingGroupMember.organisation_id == Organisation.id)
        .where(SharingGroupMember.group_id == group_id)
    ).scalars()
    return {"name": name, "members": sorted(members)}
