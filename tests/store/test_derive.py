"""``derive_facts`` / ``derive_policy`` as a matrix against ``may_share``.

For every pair of sources, every owner allowed to derive and every reader: the reader
sees the derived item exactly when it sees every source (the owner always sees it), and
the stored form (one group id, or AMBER+STRICT with named recipients) keeps that.
"""

from __future__ import annotations

import itertools

import pytest

from colsec.errors import Forbidden
from colsec.stix.tlp import TLP
from colsec.store.derive import Source, derive_facts, derive_policy, sees_all
from colsec.store.policy import Recipient, SharedFacts, may_share

ORGS = (1, 2, 3, 4, 5)
ALLIANCE = frozenset({1, 2, 3, 4})  # 5 is an external organisation
GROUPS: dict[int | None, frozenset[int] | None] = {
    None: None,
    10: frozenset({1, 2}),
    11: frozenset({2, 3, 5}),
    12: frozenset({1, 2, 3}),
}


def _sources() -> list[Source]:
    out = []
    for owner, tlp, gid, rec in itertools.product(
        (1, 3, None), TLP, GROUPS, (frozenset(), frozenset({2}), frozenset({5}))
    ):
        out.append(Source(SharedFacts(owner, tlp, GROUPS[gid], rec), gid))
    return out


def _reader(org: int) -> Recipient:
    return Recipient(org_id=org, alliance_member=org in ALLIANCE)


def _stored(policy_tlp: TLP, gid: int | None, recipients: tuple[int, ...], owner: int) -> SharedFacts:
    return SharedFacts(owner, policy_tlp, GROUPS[gid], frozenset(recipients))


def _check(sources: list[Source]) -> int:
    facts = [s.facts for s in sources]
    checked = 0
    for owner in ORGS:
        if not sees_all(facts, owner, alliance=ALLIANCE):
            with pytest.raises(Forbidden):
                derive_facts(facts, owner_org_id=owner, alliance=ALLIANCE)
            continue
        derived = derive_facts(facts, owner_org_id=owner, alliance=ALLIANCE)
        policy = derive_policy(sources, owner_org_id=owner, alliance=ALLIANCE)
        stored = _stored(policy.tlp, policy.sharing_group_id, policy.recipient_org_ids, owner)
        assert policy.tlp >= max(f.tlp for f in facts)
        for org in ORGS:
            reader = _reader(org)
            every = all(may_share(f, reader) for f in facts)
            expected = every or org == owner
            assert may_share(derived, reader) == expected, (facts, owner, org, derived)
            assert may_share(stored, reader) == expected, (facts, owner, org, policy)
            checked += 1
        anonymous = Recipient(org_id=None, alliance_member=False)
        assert may_share(stored, anonymous) <= all(may_share(f, anonymous) for f in facts)
    return checked


def test_single_source_matrix() -> None:
    assert sum(_check([s]) for s in _sources()) > 500


def test_pairs_matrix() -> None:
    pool = _sources()
    assert sum(_check([a, b]) for a, b in itertools.combinations(pool, 2)) > 10_000


def test_two_amber_groups_fall_back_to_named_members() -> None:
    sources = [
        Source(SharedFacts(1, TLP.AMBER, GROUPS[10]), 10),
        Source(SharedFacts(3, TLP.AMBER, GROUPS[11]), 11),
    ]
    # {1,2} ∩ {2,3,5} = {2}: no stored group says that, so the result names org 2.
    policy = derive_policy(sources, owner_org_id=2, alliance=ALLIANCE)
    assert (policy.tlp, policy.sharing_group_id, policy.recipient_org_ids) == (TLP.AMBER_STRICT, None, ())
    policy = derive_policy(sources[:1] * 2, owner_org_id=2, alliance=ALLIANCE)
    assert (policy.tlp, policy.sharing_group_id) == (TLP.AMBER, 10)


def test_red_source_owner_and_its_recipient_only() -> None:
    red = Source(SharedFacts(1, TLP.RED, None, frozenset({2})))
    policy = derive_policy([red], owner_org_id=2, alliance=ALLIANCE)
    assert (policy.owner_org_id, policy.tlp, policy.recipient_org_ids) == (2, TLP.RED, (1,))
    with pytest.raises(Forbidden):
        derive_policy([red], owner_org_id=3, alliance=ALLIANCE)


def test_nothing_is_derived_from_no_source() -> None:
    with pytest.raises(ValueError, match="at least one source"):
        derive_facts([], owner_org_id=1, alliance=ALLIANCE)
