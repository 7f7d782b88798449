"""The optional conditions of expected actions, read once per run and judged in memory.

Scoring judges thousands of expectations at a time; one query per expectation and condition
made a run's scoring grow with its size.  ``Facts.load`` reads, in one query per condition
kind the run uses, everything the conditions may ask about the run's own objects, and
``Facts.holds`` answers each expectation from that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.crisis.models import Consultation, Position, ResourceOffer, SituationReport
from colsec.stix.tlp import TLP
from colsec.store.models import StixObject

__all__ = ["CONDITIONS", "Facts"]

CONDITIONS = (
    "", "consultation_answered", "decision_reached", "offer_committed", "sitrep_published", "indicator_tlp_green",
)  # fmt: skip


def _ids(refs: Iterable[str], kind: str) -> set[int]:
    return {int(r.split(":")[1]) for r in refs if r.startswith(f"{kind}:")}


@dataclass
class Facts:
    """What the run's conditions may ask, as sets of keys (each filled only when a condition needs it)."""

    positions: set[tuple[int, int]] = field(default_factory=set)  # (consultation, organisation)
    decided: set[int] = field(default_factory=set)  # consultations with an outcome
    committed: set[tuple[int, int]] = field(default_factory=set)  # (request, organisation)
    sitrep: bool = False
    green_indicators: set[int] = field(default_factory=set)  # organisations that shared one

    @classmethod
    def load(
        cls, db: Session, *, run_id: int, crisis_id: int | None, refs: set[str], needed: set[str]
    ) -> Facts:
        """``refs``: every reference the run's injects created; ``needed``: the conditions in use."""
        facts = cls()
        consultations = sorted(_ids(refs, "consultation"))
        requests = sorted(_ids(refs, "request"))
        if "consultation_answered" in needed and consultations:
            facts.positions = {
                (c, o)
                for c, o in db.execute(
                    select(Position.consultation_id, Position.organisation_id).where(
                        Position.consultation_id.in_(consultations)
                    )
                )
            }
        if "decision_reached" in needed and consultations:
            facts.decided = set(
                db.execute(
                    select(Consultation.id).where(
                        Consultation.id.in_(consultations), Consultation.outcome.is_not(None)
                    )
                ).scalars()
            )
        if "offer_committed" in needed and requests:
            facts.committed = {
                (r, o)
                for r, o in db.execute(
                    select(ResourceOffer.request_id, ResourceOffer.organisation_id).where(
                        ResourceOffer.request_id.in_(requests), ResourceOffer.committed_at.is_not(None)
                    )
                )
            }
        if "sitrep_published" in needed and crisis_id is not None:
            facts.sitrep = (
                db.execute(
                    select(SituationReport.id).where(SituationReport.crisis_id == crisis_id).limit(1)
                ).first()
                is not None
            )
        if "indicator_tlp_green" in needed:
            facts.green_indicators = {
                org
                for org in db.execute(
                    select(StixObject.owner_org_id)
                    .where(
                        StixObject.exercise_run_id == run_id,
                        StixObject.type == "indicator",
                        StixObject.tlp <= int(TLP.GREEN),
                    )
                    .distinct()
                ).scalars()
                if org is not None
            }
        return facts

    def holds(self, cond: str, *, refs: set[str], org_id: int) -> bool:
        """Whether ``cond`` holds for the organisation about what one inject created (``refs``)."""
        if cond == "":
            return True
        if cond == "consultation_answered":
            return any((c, org_id) in self.positions for c in _ids(refs, "consultation"))
        if cond == "decision_reached":
            return any(c in self.decided for c in _ids(refs, "consultation"))
        if cond == "offer_committed":
            return any((r, org_id) in self.committed for r in _ids(refs, "request"))
        if cond == "sitrep_published":
            return self.sitrep
        if cond == "indicator_tlp_green":
            return org_id in self.green_indicators
        return False
