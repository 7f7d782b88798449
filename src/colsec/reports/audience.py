"""Who a number or an item is for: one organisation's reader, or a bulletin audience level.

A bulletin for TLP:GREEN is read as an alliance organisation that owns nothing, is in no
sharing group and is named on nothing would read it, and no row above the level passes:
``visible_clause`` for that reader *and* a TLP ceiling.  So an object restricted to a
group, addressed to named recipients or marked above the level never appears, and the
same predicate serves the series, every section and the public feed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, true
from sqlalchemy.orm import Session

from colsec.errors import InvalidInput
from colsec.stix.tlp import TLP
from colsec.store.models import StixObject
from colsec.store.policy import Recipient, SharedFacts, may_share, row_visible_clause, visible_clause
from colsec.store.queries import recipient_for_org

__all__ = ["AUDIENCES", "Scope", "audience_level", "exercise_excluded", "may_read_level"]

AUDIENCES: dict[str, TLP] = {"clear": TLP.CLEAR, "green": TLP.GREEN, "amber": TLP.AMBER}

# No organisation has this id: the audience reader owns nothing and is named on nothing.
_NOBODY = 0


def audience_level(name: str) -> TLP:
    try:
        return AUDIENCES[name.strip().lower()]
    except KeyError:
        raise InvalidInput(f"unknown audience {name!r}: one of clear, green, amber") from None


def exercise_excluded() -> ColumnElement[bool]:
    """Objects of exercise runs never count: the marker column, once the store has one."""
    marker = getattr(StixObject, "exercise", None)
    return marker.is_not(True) if marker is not None else true()


def may_read_level(db: Session, org_id: int | None, level: TLP) -> bool:
    """Whether an organisation may read a product made for ``level`` (the policy's own function)."""
    return may_share(SharedFacts(owner_org_id=None, tlp=level), recipient_for_org(db, org_id))


@dataclass(frozen=True, slots=True)
class Scope:
    """The reader of a series or a section: the object predicate and what crisis data it may see."""

    clause: ColumnElement[bool]
    ceiling: TLP  # the highest TLP of anything shown
    alliance: bool  # an alliance reader: crisis details and timings (TLP:GREEN data)
    reader: Recipient  # whom the counts are for (``colsec.store.activity``): the policy's reader
    audience: TLP | None = None  # a bulletin audience (else an organisation's reader: counts cached briefly)

    @classmethod
    def for_org(cls, db: Session, org_id: int | None) -> Scope:
        reader = recipient_for_org(db, org_id)
        return cls(
            clause=and_(visible_clause(reader), exercise_excluded()),
            ceiling=TLP.RED,
            alliance=reader.alliance_member and reader.org_id is not None,
            reader=reader,
        )

    @classmethod
    def for_audience(cls, level: TLP) -> Scope:
        if level not in AUDIENCES.values():
            raise InvalidInput(f"a bulletin audience is TLP:CLEAR, GREEN or AMBER, not {level.name}")
        reader = (
            Recipient(org_id=None, alliance_member=False)
            if level == TLP.CLEAR
            else Recipient(org_id=_NOBODY, alliance_member=True)
        )
        # Latest versions only (every bulletin count and list reads those): the row predicate of
        # ``visible_clause`` then decides alone, and needs no column outside the activity index.
        return cls(
            clause=and_(
                StixObject.tlp <= int(level),  # first: rows above the level skip the policy's probes
                StixObject.is_latest,
                row_visible_clause(reader, groups_of_recipient=()),
                exercise_excluded(),
            ),
            ceiling=level,
            alliance=level >= TLP.GREEN,
            reader=reader,
            audience=level,
        )
