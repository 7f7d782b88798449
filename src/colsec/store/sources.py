"""Loading the sharing facts of stored versions, for ``colsec.store.derive``.

Kept apart from the pure derivation so that stays testable without a database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.stix.tlp import TLP
from colsec.store.derive import DerivedPolicy, Source, derive_policy
from colsec.store.models import ObjectRecipient, SharingGroupMember, StixObject
from colsec.store.policy import SharedFacts

__all__ = ["alliance_orgs", "policy_from_seqs", "source_facts"]

_CHUNK = 900


def alliance_orgs(db: Session) -> frozenset[int]:
    """Organisations the policy treats as alliance members (every kind but ``external``)."""
    return frozenset(db.execute(select(Organisation.id).where(Organisation.kind != "external")).scalars())


def source_facts(db: Session, seqs: Sequence[int]) -> dict[int, Source]:
    """The policy facts of each stored version (missing seqs are absent from the answer)."""
    wanted = sorted(set(seqs))
    rows: list[tuple[int, int | None, int, int | None]] = []
    recipients: dict[int, set[int]] = defaultdict(set)
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        rows.extend(
            (seq, owner, tlp, group)
            for seq, owner, tlp, group in db.execute(
                select(
                    StixObject.seq, StixObject.owner_org_id, StixObject.tlp, StixObject.sharing_group_id
                ).where(StixObject.seq.in_(chunk))
            )
        )
        for seq, org in db.execute(
            select(ObjectRecipient.object_seq, ObjectRecipient.organisation_id).where(
                ObjectRecipient.object_seq.in_(chunk)
            )
        ):
            recipients[seq].add(org)
    groups: dict[int, set[int]] = defaultdict(set)
    group_ids = sorted({g for *_, g in rows if g is not None})
    if group_ids:
        for gid, org in db.execute(
            select(SharingGroupMember.group_id, SharingGroupMember.organisation_id).where(
                SharingGroupMember.group_id.in_(group_ids)
            )
        ):
            groups[gid].add(org)
    return {
        seq: Source(
            SharedFacts(
                owner_org_id=owner,
                tlp=TLP(tlp),
                sharing_group_members=frozenset(groups[group]) if group is not None else None,
                recipients=frozenset(recipients[seq]),
            ),
            group_id=group,
        )
        for seq, owner, tlp, group in rows
    }


def policy_from_seqs(db: Session, seqs: Sequence[int], *, owner_org_id: int) -> DerivedPolicy:
    """How to store something derived from these versions and owned by ``owner_org_id``."""
    found = source_facts(db, seqs)
    return derive_policy(list(found.values()), owner_org_id=owner_org_id, alliance=alliance_orgs(db))
