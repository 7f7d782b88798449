"""The sharing policy: one pure function decides who may see an object version.

TLP:CLEAR → anyone; TLP:GREEN → every alliance organisation; TLP:AMBER → the
sharing group's members, or every alliance organisation when no group is set;
TLP:AMBER+STRICT and TLP:RED → only the owner and explicitly named recipients.

Policy per version (``may_share_version``): a reader sees a version only if it may
see that version *and* the latest version of the same id, so restricting an object
(a sharing group, a stricter marking) restricts its whole history at once, in the
store, TAXII, sync, exports and the UI.

Granular markings (``restricted_tlp``): the row's TLP is the most restrictive of the
object-level and granular TLP markings, recorded once by the write gate.  Redaction
(removing marked properties per reader) was rejected: bodies leave the store on many
paths as raw bytes (TAXII envelopes, exports, sync, push) and, worse, their content is
used before any serving step (observable index, value and label search, correlation,
matching), so a property marked TLP:RED would still reach readers through what is
derived from it.  A restrictive row needs no second place to get right.

``visible_clause`` is the same rule as SQL for every read; a property test keeps the
two in agreement.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from colsec.stix.tlp import TLP, TLP1_IDS, TLP2_IDS
from colsec.store.models import ObjectRecipient, SharingGroupMember, StixObject

__all__ = [
    "GROUP_PROPERTY",
    "Recipient",
    "SharedFacts",
    "granular_tlp",
    "may_share",
    "may_share_version",
    "received_facts",
    "restricted_tlp",
    "row_visible_clause",
    "visible_clause",
]

# An object restricted to a sharing group carries the group in its body, so every node downstream
# applies the same restriction: {"name": ..., "members": [identity ids]}.
GROUP_PROPERTY = "x_colsec_sharing_group"


@dataclass(frozen=True, slots=True)
class SharedFacts:
    """What the policy needs to know about one object version."""

    owner_org_id: int | None
    tlp: TLP
    sharing_group_members: frozenset[int] | None = None  # None: no group set
    recipients: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Recipient:
    """An organisation that would see the object (a local user's org or a peer node's org)."""

    org_id: int | None
    alliance_member: bool = True


def may_share(obj: SharedFacts, to: Recipient) -> bool:
    if to.org_id is not None and to.org_id == obj.owner_org_id:
        return True
    if to.org_id is not None and to.org_id in obj.recipients:
        return True
    if obj.tlp == TLP.CLEAR:
        return True
    if not to.alliance_member or to.org_id is None:
        return False
    if obj.tlp == TLP.GREEN:
        return True
    if obj.tlp == TLP.AMBER:
        return obj.sharing_group_members is None or to.org_id in obj.sharing_group_members
    return False


def received_facts(
    sent: SharedFacts,
    *,
    creator_org_id: int | None,
    sender_org_id: int,
    our_org_id: int | None,
    group_members_here: frozenset[int] | None,
) -> SharedFacts:
    """What a node records for an object it pulled from a peer, so re-sharing is never wider.

    The creator stays the owner when known here (else the sending node's organisation);
    TLP and sharing group travel with the object (group members: those of the claim
    known here); explicit recipients never travel: TLP:AMBER+STRICT and RED arrive
    addressed to our organisation only.
    """
    addressed = sent.tlp >= TLP.AMBER_STRICT and our_org_id is not None
    return SharedFacts(
        owner_org_id=creator_org_id if creator_org_id is not None else sender_org_id,
        tlp=sent.tlp,
        sharing_group_members=group_members_here,
        recipients=frozenset({our_org_id}) if addressed and our_org_id is not None else frozenset(),
    )


def may_share_version(version: SharedFacts, latest: SharedFacts, to: Recipient) -> bool:
    """Whether ``to`` may see this version: history is visible only as far as the latest version is."""
    return may_share(version, to) and may_share(latest, to)


_TLP_IDS = {**TLP1_IDS, **TLP2_IDS}


def granular_tlp(obj: Mapping[str, Any]) -> TLP | None:
    """Most restrictive TLP named by the object's granular markings (any selector), else None."""
    marks = obj.get("granular_markings")
    if not isinstance(marks, list):
        return None
    levels = [
        _TLP_IDS[m["marking_ref"]]
        for m in marks
        if isinstance(m, Mapping) and isinstance(m.get("marking_ref"), str) and m["marking_ref"] in _TLP_IDS
    ]
    return max(levels) if levels else None


def restricted_tlp(obj: Mapping[str, Any], level: TLP | None) -> TLP | None:
    """The TLP a stored row must carry: ``level`` (object-level) raised to any granular TLP.

    The write gate records this, so a property marked TLP:RED makes the whole row
    TLP:RED and every read path, derivation and peer applies it without knowing why.
    """
    granular = granular_tlp(obj)
    if granular is None:
        return level
    return granular if level is None else max(level, granular)


class _unindexed(FunctionElement[Any]):
    """A column that SQLite may not look up by index (``col + 0``); the plain column elsewhere.

    SQLite has no statistics here and takes an equality-like ``IS NULL`` on an indexed column
    as selective: it would read every real row by the run-id index and sort them all instead of
    walking a page's (date_added, seq) index.  PostgreSQL plans from statistics, and its
    covering indexes need the bare column to answer counts from the index alone.
    """

    inherit_cache = True
    name = "unindexed"


@compiles(_unindexed)
def _unindexed_default(element: _unindexed, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(_unindexed, "sqlite")
def _unindexed_sqlite(element: _unindexed, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} + 0)"


def row_visible_clause(
    to: Recipient, groups_of_recipient: Collection[int] | None = None, row: Any = StixObject
) -> ColumnElement[bool]:
    """SQL predicate equal to ``may_share`` for one version row (``row``: ``StixObject`` or an alias).

    Alone it ignores the latest version; reads use ``visible_clause``.  Objects an exercise run
    created (``exercise_run_id``) are never part of the real picture: every read built on this
    predicate (store, TAXII, sync, push, search, dashboard) leaves them out; a run reads its own
    objects by run id.
    """
    # The run-id test is kept from steering SQLite's planner (see ``_unindexed``).
    real = _unindexed(row.exercise_run_id).is_(None)
    if to.org_id is None:
        return and_(real, row.tlp == int(TLP.CLEAR))
    clear = row.tlp == int(TLP.CLEAR)
    if not to.alliance_member:
        green_amber: ColumnElement[bool] = false()
    else:
        if groups_of_recipient is not None:
            in_group: ColumnElement[bool] = (
                row.sharing_group_id.in_(list(groups_of_recipient)) if groups_of_recipient else false()
            )
        else:
            in_group = row.sharing_group_id.in_(
                select(SharingGroupMember.group_id).where(SharingGroupMember.organisation_id == to.org_id)
            )
        green_amber = or_(
            row.tlp == int(TLP.GREEN),
            and_(row.tlp == int(TLP.AMBER), or_(row.sharing_group_id.is_(None), in_group)),
        )
    named = exists().where(
        ObjectRecipient.object_seq == row.seq, ObjectRecipient.organisation_id == to.org_id
    )
    return and_(real, or_(row.owner_org_id == to.org_id, clear, green_amber, named))


def visible_clause(to: Recipient, groups_of_recipient: Collection[int] | None = None) -> ColumnElement[bool]:
    """SQL predicate over ``StixObject`` equal to ``may_share_version`` for this recipient.

    A latest row costs nothing more (``is_latest`` short-circuits); an older one one
    probe of the latest row by the id index.  ``groups_of_recipient`` may be given to
    avoid a subquery; otherwise membership is looked up in SQL.
    """
    latest = aliased(StixObject, name="latest_version")
    # A scalar subquery, not EXISTS: PostgreSQL may turn an EXISTS under OR into a hashed
    # subplan that reads every latest row once per page; this stays one index probe per row.
    latest_visible = (
        select(row_visible_clause(to, groups_of_recipient, latest))
        .where(latest.id == StixObject.id, latest.is_latest)
        .limit(1)
        .scalar_subquery()
    )
    return and_(row_visible_clause(to, groups_of_recipient), or_(StixObject.is_latest, latest_visible))
