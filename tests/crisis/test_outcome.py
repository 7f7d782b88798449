"""The consultation rule: named edge cases, then every small tally against brute force."""

from __future__ import annotations

import itertools

import pytest

from colsec.crisis.outcome import Outcome, Rule, Tally, decide, outcome_at_close

C, M = Rule.CONSENSUS, Rule.MAJORITY


def test_an_objection_blocks_consensus_at_once() -> None:
    v = decide(C, Tally(eligible=5, quorum=3, agree=3, object=1), deadline_passed=False)
    assert v.final and v.outcome is Outcome.REJECTED


def test_abstentions_do_not_block_consensus() -> None:
    v = decide(C, Tally(eligible=4, quorum=3, agree=1, abstain=3), deadline_passed=False)
    assert v.final and v.outcome is Outcome.APPROVED


def test_consensus_stays_open_while_anyone_could_still_object() -> None:
    v = decide(C, Tally(eligible=4, quorum=2, agree=3), deadline_passed=False)
    assert not v.final and v.outcome is None


def test_quorum_missing_at_deadline_gives_no_decision() -> None:
    for rule in (C, M):
        v = decide(rule, Tally(eligible=6, quorum=4, agree=3), deadline_passed=True)
        assert v.final and v.outcome is Outcome.NO_DECISION, rule
        assert "quorum" in v.reason.english and v.reason.code == "quorum_not_reached"


def test_quorum_met_at_deadline_decides() -> None:
    assert decide(C, Tally(6, 3, agree=2, abstain=1), deadline_passed=True).outcome is Outcome.APPROVED
    assert decide(M, Tally(6, 3, agree=1, object=2), deadline_passed=True).outcome is Outcome.REJECTED


def test_early_close_when_every_member_answered() -> None:
    v = decide(C, Tally(eligible=3, quorum=3, agree=2, abstain=1), deadline_passed=False)
    assert v.final and v.outcome is Outcome.APPROVED


def test_all_abstain_is_no_decision_under_consensus() -> None:
    v = decide(C, Tally(eligible=3, quorum=2, abstain=3), deadline_passed=False)
    assert v.final and v.outcome is Outcome.NO_DECISION


def test_majority_closes_early_once_unbeatable() -> None:
    # 4 agree, 0 object, 3 still to answer: 3 objections could not reach 4.
    v = decide(M, Tally(eligible=7, quorum=4, agree=4), deadline_passed=False)
    assert v.final and v.outcome is Outcome.APPROVED
    # 3 agree, 3 still pending: all three objecting would tie (a tie rejects) -> open.
    assert not decide(M, Tally(eligible=6, quorum=3, agree=3), deadline_passed=False).final


def test_majority_tie_keeps_status_quo() -> None:
    assert decide(M, Tally(4, 2, agree=2, object=2), deadline_passed=True).outcome is Outcome.REJECTED


def test_majority_ignores_abstentions_but_counts_them_for_quorum() -> None:
    v = decide(M, Tally(5, 4, agree=1, abstain=3), deadline_passed=True)
    assert v.outcome is Outcome.APPROVED


@pytest.mark.parametrize(
    "tally",
    [Tally(0, 1), Tally(3, 0), Tally(3, 4), Tally(3, 2, agree=2, object=2), Tally(3, 2, agree=-1)],
)
def test_impossible_tallies_are_refused(tally: Tally) -> None:
    with pytest.raises(ValueError):
        decide(C, tally, deadline_passed=False)


def _completions(t: Tally) -> set[Outcome]:
    """Every way the pending members could answer (agree / object / abstain / stay silent)."""
    outs = set()
    for extra in itertools.product(range(t.pending + 1), repeat=3):
        a, o, b = extra
        if a + o + b <= t.pending:
            outs.add(
                outcome_at_close_rule(Tally(t.eligible, t.quorum, t.agree + a, t.object + o, t.abstain + b))
            )
    return outs


RULE: list[Rule] = [C]


def outcome_at_close_rule(t: Tally) -> Outcome:
    return outcome_at_close(RULE[0], t)[0]


@pytest.mark.parametrize("rule", [C, M])
def test_early_close_exactly_when_outcome_is_certain(rule: Rule) -> None:
    """Exhaustive up to 6 members: final before the deadline iff every completion agrees."""
    RULE[0] = rule
    checked = 0
    for eligible in range(1, 7):
        for quorum in range(1, eligible + 1):
            for agree, obj, abstain in itertools.product(range(eligible + 1), repeat=3):
                if agree + obj + abstain > eligible:
                    continue
                t = Tally(eligible, quorum, agree, obj, abstain)
                possible = _completions(t)
                v = decide(rule, t, deadline_passed=False)
                if rule is C and obj > 0:
                    # a blocked consensus is final as a rejection even if the quorum is short
                    assert v.final and v.outcome is Outcome.REJECTED
                else:
                    assert v.final == (len(possible) == 1), (t, possible, v)
                    if v.final:
                        assert {v.outcome} == possible
                at_deadline = decide(rule, t, deadline_passed=True)
                assert at_deadline.final and at_deadline.outcome is outcome_at_close(rule, t)[0]
                checked += 1
    assert checked > 300


def test_every_reason_is_translated_and_round_trips_through_storage() -> None:
    from colsec.crisis.outcome import REASONS, Reason, reason_code, reason_english, stored_reason
    from colsec.outbox.text import render

    params = {"object": 1, "answered": 2, "quorum": 3, "agree": 4, "abstain": 5, "pending": 6}
    for code in REASONS:
        r = Reason(code, params, settled=True, deadline=True)
        assert stored_reason(r.encode()) == r and reason_code(r.encode()) == code
        ru = render(r.text, "ru")
        assert ru != r.english and not any(w in ru for w in ("quorum", "deadline", "members")), ru
    assert reason_english("an old English sentence") == "an old English sentence"
    assert reason_code("an old English sentence") is None and reason_code("{not json") is None
