"""Activity counts under the sharing policy: the dashboard's, the series' and the bulletins' one count.

Counting a reader's visible objects per day by scanning the store cost seconds of CPU at a
million objects.  The ``activity_count`` table (``colsec.store.models.ActivityCount``) holds the
latest real versions per day, type and visibility class (owner, TLP, sharing group), kept by
triggers on ``stix_object`` in each write's own transaction.  A reader's count sums the classes
that the policy's own ``may_share`` lets it see, so no count derives from an object it may not
read: a class is one fact set the policy decides as a whole.  The one thing a class does not
hold is a named recipient: the rows a reader sees only because it is named on them are counted
from the store directly (its own handful, by the recipient index).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from colsec.stix.tlp import TLP
from colsec.store.models import ActivityCount, ObjectRecipient, SharingGroupMember, StixObject
from colsec.store.policy import Recipient, SharedFacts, may_share

__all__ = ["ActivityRow", "activity_counts", "class_visible"]

# (day added "YYYY-MM-DD", type, owner organisation or None, number of latest versions)
ActivityRow = tuple[str, str, int | None, int]


def class_visible(
    reader: Recipient, owner: int | None, tlp: int, group: int | None, groups: Collection[int]
) -> bool:
    """Whether ``reader`` (in sharing ``groups``) may see an object of this class, named on nothing.

    The policy's own function decides: the class's group stands for its members as far as
    the reader's membership goes, which is all ``may_share`` asks of them.
    """
    members = (
        None
        if group is None
        else frozenset({reader.org_id} if group in groups and reader.org_id is not None else ())
    )
    return may_share(SharedFacts(owner_org_id=owner, tlp=TLP(tlp), sharing_group_members=members), reader)


def activity_counts(
    db: Session,
    reader: Recipient,
    since: str,
    until: str | None = None,
    *,
    types: Collection[str],
    ceiling: TLP = TLP.RED,
) -> list[ActivityRow]:
    """Latest real versions of ``types`` that ``reader`` may see, per (day added, type, owner).

    ``since`` and ``until`` are calendar days (``YYYY-MM-DD``, ``until`` excluded); ``ceiling``
    leaves out anything marked above it (a bulletin's audience).  Equal to counting
    ``stix_object`` under ``visible_clause`` (tests/store/test_activity_counts.py).
    """
    for day in (since, until):
        if day is not None and len(day) != 10:
            raise ValueError(f"activity is counted per calendar day (YYYY-MM-DD), not {day!r}")
    groups: frozenset[int] = frozenset()
    if reader.org_id is not None and reader.alliance_member:
        groups = frozenset(
            db.execute(
                select(SharingGroupMember.group_id).where(SharingGroupMember.organisation_id == reader.org_id)
            ).scalars()
        )
    ac = ActivityCount
    stmt = select(ac.day, ac.type, ac.owner_org_id, ac.tlp, ac.sharing_group_id, ac.n).where(
        ac.day >= since, ac.type.in_(list(types)), ac.tlp <= int(ceiling), ac.n > 0
    )
    if until is not None:
        stmt = stmt.where(ac.day < until)
    out: Counter[tuple[str, str, int | None]] = Counter()
    for day, typ, owner, tlp, group, n in db.execute(stmt).all():
        if class_visible(reader, owner or None, tlp, group or None, groups):
            out[(day, typ, owner or None)] += int(n)
    if reader.org_id is not None:
        for added, kind, holder, level, within, count in _named(
            db, reader.org_id, since, until, types, ceiling
        ):
            if not class_visible(reader, holder, level, within, groups):  # else counted with its class
                out[(added, kind, holder)] += count
    return [(day, typ, owner, n) for (day, typ, owner), n in out.items()]


def _named(
    db: Session, org_id: int, since: str, until: str | None, types: Collection[str], ceiling: TLP
) -> list[tuple[str, str, int | None, int, int | None, int]]:
    """The latest real versions naming ``org_id`` as a recipient, per day, type and class."""
    day = func.substr(StixObject.date_added, 1, 10)
    stmt = (
        select(
            day,
            StixObject.type,
            StixObject.owner_org_id,
            StixObject.tlp,
            StixObject.sharing_group_id,
            func.count(),
        )
        .join(ObjectRecipient, ObjectRecipient.object_seq == StixObject.seq)
        .where(
            ObjectRecipient.organisation_id == org_id,
            StixObject.is_latest,
            StixObject.exercise_run_id.is_(None),
            StixObject.date_added >= since,
            StixObject.type.in_(list(types)),
            StixObject.tlp <= int(ceiling),
        )
        .group_by(day, StixObject.type, StixObject.owner_org_id, StixObject.tlp, StixObject.sharing_group_id)
    )
    if until is not None:
        stmt = stmt.where(StixObject.date_added < until)
    return [(d, t, o, tl, g, int(n)) for d, t, o, tl, g, n in db.execute(stmt).all()]
