"""The consultation decision rule as one pure function (no I/O, exhaustively tested).

Rules:
- **consensus**: approved when nobody who answered objects, at least one member agrees and
  at least ``quorum`` members answered (abstentions count towards the quorum and never
  block). One objection blocks: the outcome is ``rejected`` at once.
- **majority**: among answers that are not abstentions, approved when agree > object,
  rejected otherwise (a tie keeps the status quo); also needs ``quorum`` answers.
- Without a quorum at the deadline there is **no decision**.

A consultation closes early exactly when every way the still-missing members could
answer (or stay silent) leads to the same outcome; ``decide`` reports that as ``final``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Outcome", "Rule", "Tally", "Verdict", "decide", "outcome_at_close"]


class Rule(StrEnum):
    CONSENSUS = "consensus"
    MAJORITY = "majority"


class Outcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    NO_DECISION = "no_decision"


@dataclass(frozen=True, slots=True)
class Tally:
    eligible: int
    quorum: int
    agree: int = 0
    object: int = 0
    abstain: int = 0

    @property
    def answered(self) -> int:
        return self.agree + self.object + self.abstain

    @property
    def pending(self) -> int:
        return self.eligible - self.answered


@dataclass(frozen=True, slots=True)
class Verdict:
    final: bool
    outcome: Outcome | None
    reason: str


def outcome_at_close(rule: Rule, t: Tally) -> tuple[Outcome, str]:
    """The outcome if the consultation closed now with these answers."""
    if rule is Rule.CONSENSUS and t.object > 0:
        return Outcome.REJECTED, f"{t.object} objection(s) block consensus"
    if t.answered < t.quorum:
        return Outcome.NO_DECISION, f"quorum not reached: {t.answered} of {t.quorum} required answers"
    if rule is Rule.CONSENSUS:
        if t.agree == 0:
            return Outcome.NO_DECISION, "no member agreed (all answers were abstentions)"
        return Outcome.APPROVED, f"consensus: {t.agree} agree, {t.abstain} abstain, no objection"
    if t.agree > t.object:
        return Outcome.APPROVED, f"majority: {t.agree} agree against {t.object} object ({t.abstain} abstain)"
    return Outcome.REJECTED, f"no majority: {t.agree} agree against {t.object} object ({t.abstain} abstain)"


def decide(rule: Rule, t: Tally, *, deadline_passed: bool) -> Verdict:
    """Is the outcome certain now?  ``final`` with the outcome, or still open."""
    if t.eligible < 1 or not 1 <= t.quorum <= t.eligible:
        raise ValueError("need at least one eligible member and 1 <= quorum <= eligible")
    if min(t.agree, t.object, t.abstain) < 0 or t.pending < 0:
        raise ValueError("answers must be non-negative and not exceed the eligible members")
    if deadline_passed or t.pending == 0:
        outcome, reason = outcome_at_close(rule, t)
        return Verdict(True, outcome, reason)
    if rule is Rule.CONSENSUS:
        if t.object > 0:
            outcome, reason = outcome_at_close(rule, t)
            return Verdict(True, outcome, reason)
        # Without an objection any pending member could still object (or stay silent).
        return Verdict(False, None, f"waiting for {t.pending} member(s); any objection would block")
    # Majority: certain only once the quorum is met whatever the others do, and the
    # pending members could not overturn the lead even if all voted the other way.
    if t.answered >= t.quorum:
        if t.agree > t.object + t.pending:
            outcome, reason = outcome_at_close(rule, t)
            return Verdict(True, outcome, reason + "; the remaining members cannot change it")
        if t.object >= t.agree + t.pending:
            outcome, reason = outcome_at_close(rule, t)
            return Verdict(True, outcome, reason + "; the remaining members cannot change it")
    return Verdict(False, None, f"waiting for {t.pending} member(s)")
