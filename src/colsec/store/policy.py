"""The sharing policy: one pure function decides who may see an object.

TLP:CLEAR → anyone; TLP:GREEN → every alliance organisation; TLP:AMBER → the
sharing group's members, or every alliance organisation when no group is set;
TLP:AMBER+STRICT and TLP:RED → only the owner and explicitly named recipients.
``visible_clause`` is the same rule as SQL for list queries; a property test keeps
the two in agreement.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, false, or_, select

from colsec.stix.tlp import TLP
from colsec.store.models import ObjectRecipient, SharingGroupMember, StixObject

__all__ = ["GROUP_PROPERTY", "Recipient", "SharedFacts", "may_share", "received_facts", "visible_clause"]

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


def visible_clause(to: Recipient, groups_of_recipient: Collection[int] | None = None) -> ColumnElement[bool]:
    """SQL predicate over ``StixObject`` equal to ``may_share`` for this recipient.

    ``groups_of_recipient`` may be given to avoid a subquery; otherwise membership is
    looked up in SQL.
    """
    if to.org_id is None:
        return StixObject.tlp == int(TLP.CLEAR)
    clear = StixObject.tlp == int(TLP.CLEAR)
    if not to.alliance_member:
        green_amber: ColumnElement[bool] = false()
    else:
        if groups_of_recipient is not None:
            in_group: ColumnElement[bool] = (
                StixObject.sharing_group_id.in_(list(groups_of_recipient)) if groups_of_recipient else false()
            )
        else:
            in_group = StixObject.sharing_group_id.in_(
                select(SharingGroupMember.group_id).where(SharingGroupMember.organisation_id == to.org_id)
            )
        green_amber = or_(
            StixObject.tlp == int(TLP.GREEN),
            and_(StixObject.tlp == int(TLP.AMBER), or_(StixObject.sharing_group_id.is_(None), in_group)),
        )
    named = exists().where(
        ObjectRecipient.object_seq == StixObject.seq, ObjectRecipient.organisation_id == to.org_id
    )
    return or_(StixObject.owner_org_id == to.org_id, clear, green_amber, named)
