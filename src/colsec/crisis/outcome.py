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

A reason is a ``Reason``: a stable code and its numbers, not a sentence, so that every reader
sees it in their own language (the sentence is a catalog message, ``Reason.text``).  It is
stored as a small JSON object; rows written before hold a plain English sentence and still
display as they are (``stored_reason``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import orjson

from colsec.outbox.text import N_, Text, render

__all__ = [
    "REASONS",
    "Outcome",
    "Reason",
    "Rule",
    "Tally",
    "Verdict",
    "decide",
    "outcome_at_close",
    "reason_code",
    "reason_english",
    "reason_message",
    "stored_reason",
]

# The one table of reasons (consultations and written procedures): stable code -> catalog msgid
# (marked: ``Reason.text`` looks them up by code).
REASONS: dict[str, str] = {
    "objections_block": N_("%(object)s objection(s) block consensus"),
    "quorum_not_reached": N_("quorum not reached: %(answered)s of %(quorum)s required answers"),
    "no_agreement": N_("no member agreed (all answers were abstentions)"),
    "consensus": N_("consensus: %(agree)s agree, %(abstain)s abstain, no objection"),
    "majority": N_("majority: %(agree)s agree against %(object)s object (%(abstain)s abstain)"),
    "no_majority": N_("no majority: %(agree)s agree against %(object)s object (%(abstain)s abstain)"),
    "waiting_any_objection_blocks": N_("waiting for %(pending)s member(s); any objection would block"),
    "waiting": N_("waiting for %(pending)s member(s)"),
    "silence_broken": N_("silence broken: %(object)s objection(s)"),
    "silence_kept": N_("silence procedure: no objection by the deadline (%(agree)s agreed)"),
    "silence_holds": N_("silence holds; %(pending)s member(s) may still object"),
    "qualified_majority": N_("qualified majority: %(agree)s agree against %(object)s object"),
    "no_qualified_majority": N_("no qualified majority (2/3): %(agree)s agree against %(object)s object"),
    "request_withdrawn": N_("request withdrawn"),
}
_SETTLED = N_("%(reason)s; the remaining members cannot change it")
_DEADLINE = N_("deadline passed: %(reason)s")


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
class Reason:
    """Why a consultation or procedure ended (or is still open): a code from ``REASONS`` and
    its numbers; ``settled`` when the remaining members cannot change it, ``deadline`` when
    the deadline closed it."""

    code: str
    params: dict[str, int] = field(default_factory=dict)
    settled: bool = False
    deadline: bool = False

    def __post_init__(self) -> None:
        if self.code not in REASONS:
            raise ValueError(f"unknown reason code {self.code!r}")

    @property
    def text(self) -> Text:
        t = Text(REASONS[self.code], dict(self.params))
        if self.settled:
            t = Text(_SETTLED, {"reason": t})
        if self.deadline:
            t = Text(_DEADLINE, {"reason": t})
        return t

    @property
    def english(self) -> str:
        return render(self.text, "en")

    def with_(self, *, settled: bool = False, deadline: bool = False) -> Reason:
        return replace(self, settled=self.settled or settled, deadline=self.deadline or deadline)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "params": self.params}
        if self.settled:
            out["settled"] = True
        if self.deadline:
            out["deadline"] = True
        return out

    def encode(self) -> str:
        """The stored form (a reason column)."""
        return orjson.dumps(self.to_json()).decode()


def stored_reason(value: object) -> Reason | str:
    """A stored reason back: the JSON object (or its text) as a ``Reason``; anything else, such
    as an English sentence written before reasons had codes, as the plain string it is."""
    data: Any = value
    if isinstance(value, str):
        if not value.startswith("{"):
            return value
        try:
            data = orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    if isinstance(data, dict) and data.get("code") in REASONS:
        params = data.get("params") or {}
        return Reason(
            str(data["code"]),
            {str(k): v for k, v in params.items()} if isinstance(params, dict) else {},
            settled=bool(data.get("settled")),
            deadline=bool(data.get("deadline")),
        )
    return "" if value is None else str(value)


def reason_message(value: object) -> Text | str:
    """What to show for a stored reason: its catalog message, or an old plain sentence."""
    r = stored_reason(value)
    return r.text if isinstance(r, Reason) else r


def reason_english(value: object) -> str:
    r = stored_reason(value)
    return r.english if isinstance(r, Reason) else r


def reason_code(value: object) -> str | None:
    """The stable machine-readable code of a stored reason (None for an old plain sentence)."""
    r = stored_reason(value)
    return r.code if isinstance(r, Reason) else None


@dataclass(frozen=True, slots=True)
class Verdict:
    final: bool
    outcome: Outcome | None
    reason: Reason


def outcome_at_close(rule: Rule, t: Tally) -> tuple[Outcome, Reason]:
    """The outcome if the consultation closed now with these answers."""
    counts = {"agree": t.agree, "object": t.object, "abstain": t.abstain}
    if rule is Rule.CONSENSUS and t.object > 0:
        return Outcome.REJECTED, Reason("objections_block", {"object": t.object})
    if t.answered < t.quorum:
        return Outcome.NO_DECISION, Reason("quorum_not_reached", {"answered": t.answered, "quorum": t.quorum})
    if rule is Rule.CONSENSUS:
        if t.agree == 0:
            return Outcome.NO_DECISION, Reason("no_agreement")
        return Outcome.APPROVED, Reason("consensus", counts)
    if t.agree > t.object:
        return Outcome.APPROVED, Reason("majority", counts)
    return Outcome.REJECTED, Reason("no_majority", counts)


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
        return Verdict(False, None, Reason("waiting_any_objection_blocks", {"pending": t.pending}))
    # Majority: certain only once the quorum is met whatever the others do, and the
    # pending members could not overturn the lead even if all voted the other way.
    if t.answered >= t.quorum:
        if t.agree > t.object + t.pending:
            outcome, reason = outcome_at_close(rule, t)
            return Verdict(True, outcome, reason.with_(settled=True))
        if t.object >= t.agree + t.pending:
            outcome, reason = outcome_at_close(rule, t)
            return Verdict(True, outcome, reason.with_(settled=True))
    return Verdict(False, None, Reason("waiting", {"pending": t.pending}))
