"""Re-sharing is never wider: along any chain of nodes, what each node may show is a subset of the origin's.

Property test over the pure functions: random markings, sharing groups,
explicit recipients, which organisations each node knows, and chains of up to
five hops.  Premise (as in a deployment): the origin node's organisation owns
the object, or the object names its creator.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from colsec.stix.tlp import TLP
from colsec.store.policy import Recipient, SharedFacts, may_share, received_facts

ORGS = range(1, 7)
EXTERNAL = 6


def rec(org: int) -> Recipient:
    return Recipient(org, alliance_member=org != EXTERNAL)


def visible(f: SharedFacts) -> set[int]:
    return {o for o in ORGS if may_share(f, rec(o))}


orgs_subset = st.frozensets(st.sampled_from(list(ORGS)))


@settings(max_examples=400, deadline=None)
@given(
    owner=st.sampled_from(list(ORGS)),
    tlp=st.sampled_from(list(TLP)),
    group=st.none() | orgs_subset,
    recipients=orgs_subset,
    hops=st.lists(st.tuples(st.sampled_from(list(ORGS)), st.booleans(), orgs_subset), min_size=1, max_size=5),
)
def test_never_wider_along_any_chain(
    owner: int,
    tlp: TLP,
    group: frozenset[int] | None,
    recipients: frozenset[int],
    hops: list[tuple[int, bool, frozenset[int]]],
) -> None:
    origin = SharedFacts(owner_org_id=owner, tlp=tlp, sharing_group_members=group, recipients=recipients)
    allowed = visible(origin)
    facts, sender = origin, owner
    for our_org, creator_known, known_here in hops:
        if not may_share(facts, rec(our_org)):
            break  # the sending node refuses: nothing travels further along this chain
        facts = received_facts(
            facts,
            creator_org_id=owner if creator_known else None,
            sender_org_id=sender,
            our_org_id=our_org,
            group_members_here=None if group is None else group & known_here,
        )
        assert facts.tlp == tlp
        assert visible(facts) <= allowed, "a hop widened the audience"
        sender = our_org


def test_explicit_recipients_do_not_travel() -> None:
    red = SharedFacts(owner_org_id=1, tlp=TLP.RED, recipients=frozenset({2, 3}))
    at_2 = received_facts(red, creator_org_id=1, sender_org_id=1, our_org_id=2, group_members_here=None)
    assert visible(at_2) == {1, 2}
    assert not may_share(at_2, rec(3))  # named by the owner, but not by the node that holds it now


def test_creator_stays_owner_and_group_is_kept() -> None:
    amber = SharedFacts(owner_org_id=1, tlp=TLP.AMBER, sharing_group_members=frozenset({2, 3}))
    at_2 = received_facts(
        amber, creator_org_id=1, sender_org_id=1, our_org_id=2, group_members_here=frozenset({2, 3})
    )
    assert at_2.owner_org_id == 1 and visible(at_2) == {1, 2, 3}
    unknown_creator = received_facts(
        amber, creator_org_id=None, sender_org_id=1, our_org_id=2, group_members_here=frozenset({3})
    )
    assert unknown_creator.owner_org_id == 1 and visible(unknown_creator) == {1, 3}
