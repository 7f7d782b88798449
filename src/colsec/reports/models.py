"""Bulletins (one row per version), their schedules and their e-mail subscribers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from colsec.crisis.models import CapAlert
from colsec.db_base import Base, utcnow

__all__ = ["CAP_PUBLIC_INDEX", "Bulletin", "BulletinSchedule", "BulletinSubscription"]


class Bulletin(Base):
    """One version of one bulletin.

    ``series`` names the bulletin across corrections (the feed's stable entry id);
    a correction is a new row with ``version + 1``, and the earlier rows stay readable.
    ``sections`` is the data frozen when the draft was generated (JSON), so what was
    reviewed is what is published; ``commentary`` holds the analysts' text per language.
    """

    __tablename__ = "bulletin"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series: Mapped[str] = mapped_column(String(36), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[str] = mapped_column(String(30))
    audience: Mapped[int] = mapped_column(SmallInteger)  # a TLP value: CLEAR, GREEN or AMBER
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    period_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    sections: Mapped[str] = mapped_column(Text, default="{}")
    commentary: Mapped[str] = mapped_column(Text, default="{}")  # {"en": "...", "ru": "..."}
    author: Mapped[str] = mapped_column(String(80))
    author_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    approved_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)

    # The public feed's validator and list: published bulletins of one audience, newest first.
    __table_args__ = (
        UniqueConstraint("series", "version"),
        Index("ix_bulletin_status_audience_published", "status", "audience", "published_at"),
    )


class BulletinSchedule(Base):
    """When drafts of one bulletin type are generated (node time, UTC) and the last slot done.

    ``commentary``: the drafts wait for analysts' commentary sections.  ``auto_publish``: a
    data-only TLP:CLEAR bulletin (no commentary, not an advisory) is published by the node
    itself as soon as it is generated; anything else always goes through review.
    """

    __tablename__ = "bulletin_schedule"

    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    audience: Mapped[int] = mapped_column(SmallInteger)
    hour: Mapped[int] = mapped_column(SmallInteger, default=7)
    minute: Mapped[int] = mapped_column(SmallInteger, default=0)
    last_slot: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    commentary: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_publish: Mapped[bool] = mapped_column(Boolean, default=False)


class BulletinSubscription(Base):
    """One address that receives published bulletins, in one language, for its organisation."""

    __tablename__ = "bulletin_subscription"
    __table_args__ = (UniqueConstraint("organisation_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5), default="en")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# The public feed's validator counts public CAP alerts on every feed request: from this index
# alone.  Created by the ``reports_auto_publish`` migration.
CAP_PUBLIC_INDEX = Index(
    "ix_cap_alert_public", CapAlert.scope, CapAlert.status, CapAlert.exercise_run_id, CapAlert.id
)
