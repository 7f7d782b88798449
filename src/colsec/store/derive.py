"""Derived data inherits: the sharing facts of something made from other objects.

A sighting, alert, correlation or incident relationship is readable by exactly
those who may read every one of its sources, and by its own owner, who must
already be one of them.  ``derive_facts`` states that set in the policy's terms
(most restrictive TLP, intersection of the sharing groups, the named recipients
that still qualify); ``derive_policy`` turns it into what the write gate stores
(one sharing group id at most), escalating to TLP:AMBER+STRICT with named
recipients when no existing group equals the intersection.  Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from colsec.errors import Forbidden
from colsec.stix.tlp import TLP
from colsec.store.policy import Recipient, SharedFacts, may_share

__all__ = ["DerivedPolicy", "Source", "derive_facts", "derive_policy", "sees_all"]


@dataclass(frozen=True, slots=True)
class Source:
    """One source version: its policy facts and the stored sharing group id behind them."""

    facts: SharedFacts
    group_id: int | None = None


@dataclass(frozen=True, slots=True)
class DerivedPolicy:
    """The write gate's arguments for a derived object (``import_objects`` keywords)."""

    owner_org_id: int
    tlp: TLP
    sharing_group_id: int | None = None
    recipient_org_ids: tuple[int, ...] = ()


def _as(org_id: int, alliance: Collection[int]) -> Recipient:
    return Recipient(org_id=org_id, alliance_member=org_id in alliance)


def sees_all(sources: Sequence[SharedFacts], org_id: int, *, alliance: Collection[int]) -> bool:
    """Whether ``org_id`` may read every source (the condition for reading anything derived from them)."""
    to = _as(org_id, alliance)
    return all(may_share(s, to) for s in sources)


def derive_facts(
    sources: Sequence[SharedFacts], *, owner_org_id: int, alliance: Collection[int]
) -> SharedFacts:
    """Facts under which exactly the readers of every source (and the owner) may read the result.

    ``alliance`` lists the organisations that are alliance members (the policy's
    ``Recipient.alliance_member``).  Raises ``Forbidden`` when the owner could not read
    every source itself: nothing may be derived from what its author cannot see.
    """
    if not sources:
        raise ValueError("derived data needs at least one source")  # would otherwise come out TLP:CLEAR
    if not sees_all(sources, owner_org_id, alliance=alliance):
        raise Forbidden("derived data needs an owner that may see every source")
    tlp = max(s.tlp for s in sources)
    group: frozenset[int] | None = None
    if tlp == TLP.AMBER:
        for s in sources:
            if s.tlp == TLP.AMBER and s.sharing_group_members is not None:
                group = s.sharing_group_members if group is None else group & s.sharing_group_members
    base = SharedFacts(owner_org_id=owner_org_id, tlp=tlp, sharing_group_members=group)
    # Anyone reading a source through its owner, recipients or group is a candidate; everyone
    # else reads a source only through its TLP, which ``base`` already accounts for.
    candidates: set[int] = set()
    for s in sources:
        if s.owner_org_id is not None:
            candidates.add(s.owner_org_id)
        candidates.update(s.recipients)
        candidates.update(s.sharing_group_members or ())
    candidates.discard(owner_org_id)
    named = frozenset(
        c
        for c in candidates
        if sees_all(sources, c, alliance=alliance) and not may_share(base, _as(c, alliance))
    )
    return SharedFacts(owner_org_id=owner_org_id, tlp=tlp, sharing_group_members=group, recipients=named)


def derive_policy(
    sources: Sequence[Source], *, owner_org_id: int, alliance: Collection[int]
) -> DerivedPolicy:
    """``derive_facts`` as the store keeps it: one group id, else AMBER+STRICT to the group's members."""
    facts = derive_facts([s.facts for s in sources], owner_org_id=owner_org_id, alliance=alliance)
    recipients = set(facts.recipients)
    tlp = facts.tlp
    group_id: int | None = None
    if facts.sharing_group_members is not None:
        same = [
            s.group_id
            for s in sources
            if s.group_id is not None and s.facts.sharing_group_members == facts.sharing_group_members
        ]
        if same:
            group_id = same[0]
        else:
            # No stored group is the intersection: name its alliance members instead (the only
            # ones a TLP:AMBER group admits), under a marking that admits nobody else.
            tlp = TLP.AMBER_STRICT
            recipients |= {m for m in facts.sharing_group_members if m in alliance}
    recipients.discard(owner_org_id)
    return DerivedPolicy(
        owner_org_id=owner_org_id,
        tlp=tlp,
        sharing_group_id=group_id,
        recipient_org_ids=tuple(sorted(recipients)),
    )
