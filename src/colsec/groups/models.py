"""Tables of the groups domain.

Members are organisations (``groups_member``); the people who speak for them are
``groups_person`` rows (representative, deputy).  A deputy answers a written procedure
only inside a ``groups_delegation`` window.  Procedure answers are one row per
organisation (unique), and the counters live on the procedure row so concurrent
answers cannot lose a vote (the crisis consultation pattern).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from colsec.crisis.outcome import reason_code
from colsec.db_base import Base, BigId, utcnow

__all__ = [
    "ActionItem",
    "AgendaItem",
    "Attendance",
    "Decision",
    "Delegation",
    "Group",
    "Meeting",
    "Member",
    "MinutesComment",
    "Paper",
    "PaperVersion",
    "Person",
    "Procedure",
    "ProcedureAnswer",
    "ProcedureMember",
]

TS = DateTime(timezone=True)


class Group(Base):
    __tablename__ = "groups_group"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))
    mandate_en: Mapped[str] = mapped_column(Text, default="")
    mandate_ru: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20))  # working_group | commission | expert_group | ad_hoc
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("groups_group.id", ondelete="SET NULL"))
    term_start: Mapped[date | None] = mapped_column(Date)
    term_end: Mapped[date | None] = mapped_column(Date)
    default_tlp: Mapped[int] = mapped_column(SmallInteger, default=2)
    chair_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    secretary_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class Member(Base):
    __tablename__ = "groups_member"
    __table_args__ = (UniqueConstraint("group_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups_group.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(12))  # member | observer


class Person(Base):
    __tablename__ = "groups_person"
    __table_args__ = (
        UniqueConstraint("group_id", "user_id"),
        # One representative per organisation and group, held by the database so that two
        # officers adding one at the same moment cannot both succeed.
        Index(
            "uq_groups_person_representative",
            "group_id",
            "organisation_id",
            unique=True,
            sqlite_where=text("function = 'representative'"),
            postgresql_where=text("function = 'representative'"),
        ),  # fmt: skip
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups_group.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    function: Mapped[str] = mapped_column(String(16))  # representative | deputy


class Delegation(Base):
    """The representative hands the organisation's answers to a deputy for a window of time."""

    __tablename__ = "groups_delegation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups_group.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    deputy_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(TS)
    ends_at: Mapped[datetime] = mapped_column(TS)
    created_by: Mapped[str] = mapped_column(String(80))


class Meeting(Base):
    __tablename__ = "groups_meeting"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups_group.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(TS)
    tz: Mapped[str] = mapped_column(String(64))
    duration_minutes: Mapped[int] = mapped_column(Integer, default=120)
    place: Mapped[str] = mapped_column(String(300), default="")
    link: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(20), default="planned")
    quorum_reached: Mapped[bool | None] = mapped_column(Boolean)
    minutes_en: Mapped[str] = mapped_column(Text, default="")
    minutes_ru: Mapped[str] = mapped_column(Text, default="")
    comments_until: Mapped[datetime | None] = mapped_column(TS)
    held_at: Mapped[datetime | None] = mapped_column(TS)
    minutes_draft_at: Mapped[datetime | None] = mapped_column(TS)
    minutes_approved_at: Mapped[datetime | None] = mapped_column(TS)
    # The approved minutes frozen as rendered (both languages): what was approved is what is served.
    minutes_pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    minutes_sha256: Mapped[str | None] = mapped_column(String(64))
    invitations_sent_at: Mapped[datetime | None] = mapped_column(TS)
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class MinutesComment(Base):
    """An attendee's comment on draft minutes, accepted until the comment deadline."""

    __tablename__ = "groups_minutes_comment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("groups_meeting.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class AgendaItem(Base):
    __tablename__ = "groups_agenda_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("groups_meeting.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    presenter: Mapped[str] = mapped_column(String(200), default="")
    decision_sought: Mapped[str] = mapped_column(Text, default="")
    action_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups_action_item.id", ondelete="SET NULL")
    )


class Attendance(Base):
    __tablename__ = "groups_attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("groups_meeting.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    present: Mapped[bool] = mapped_column(Boolean)


class Paper(Base):
    __tablename__ = "groups_paper"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups_group.id", ondelete="CASCADE"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("groups_meeting.id", ondelete="SET NULL"))
    agenda_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups_agenda_item.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(8))
    tlp: Mapped[int] = mapped_column(SmallInteger)
    recipients: Mapped[str] = mapped_column(Text, default="[]")  # JSON organisation ids (TLP:RED)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class PaperVersion(Base):
    """One uploaded file; kept in the database so a paper and its bytes commit together."""

    __tablename__ = "groups_paper_version"
    __table_args__ = (UniqueConstraint("paper_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("groups_paper.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class Procedure(Base):
    __tablename__ = "groups_procedure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups_group.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text, default="")
    text_ru: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[str] = mapped_column(Text, default="[]")
    rule: Mapped[str] = mapped_column(String(20))  # consensus | simple | qualified | silence
    quorum: Mapped[int] = mapped_column(Integer)
    eligible_count: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[datetime] = mapped_column(TS)
    status: Mapped[str] = mapped_column(String(12), default="open")
    agree_count: Mapped[int] = mapped_column(Integer, default=0)
    object_count: Mapped[int] = mapped_column(Integer, default=0)
    abstain_count: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    decision_id: Mapped[int | None] = mapped_column(Integer)
    reminded_at: Mapped[datetime | None] = mapped_column(TS)
    opened_by: Mapped[str] = mapped_column(String(80))
    opened_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(TS)

    @property
    def reason_code(self) -> str | None:
        """The stable code of ``reason`` (None for a sentence stored before codes)."""
        return reason_code(self.reason)


class ProcedureMember(Base):
    __tablename__ = "groups_procedure_member"
    __table_args__ = (UniqueConstraint("procedure_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    procedure_id: Mapped[int] = mapped_column(
        ForeignKey("groups_procedure.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))


class ProcedureAnswer(Base):
    __tablename__ = "groups_procedure_answer"
    __table_args__ = (UniqueConstraint("procedure_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    procedure_id: Mapped[int] = mapped_column(
        ForeignKey("groups_procedure.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    stance: Mapped[str] = mapped_column(String(10))  # agree | object | abstain
    option: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text, default="")
    cast_by: Mapped[str] = mapped_column(String(80))
    by_deputy: Mapped[bool] = mapped_column(Boolean, default=False)
    cast_at: Mapped[datetime] = mapped_column(TS)


class Decision(Base):
    __tablename__ = "groups_decision"
    __table_args__ = (
        UniqueConstraint("group_id", "year", "seq"),
        Index("ix_groups_decision_group_adopted", "group_id", "adopted_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups_group.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(40), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    text_en: Mapped[str] = mapped_column(Text)
    text_ru: Mapped[str] = mapped_column(Text)
    adopted_on: Mapped[date] = mapped_column(Date)
    how: Mapped[str] = mapped_column(String(20))  # meeting | written | silence
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("groups_meeting.id", ondelete="SET NULL"))
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("groups_procedure.id", ondelete="SET NULL"))
    positions: Mapped[str] = mapped_column(Text, default="{}")  # JSON {org short name: stance}
    paper_ids: Mapped[str] = mapped_column(Text, default="[]")
    tlp: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class ActionItem(Base):
    __tablename__ = "groups_action_item"
    __table_args__ = (Index("ix_groups_action_item_due", "status", "due_on"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups_group.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(12))  # decision | minutes | lesson | exercise
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("groups_decision.id", ondelete="SET NULL"))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("groups_meeting.id", ondelete="SET NULL"))
    lesson_id: Mapped[int | None] = mapped_column(ForeignKey("crisis_lesson.id", ondelete="SET NULL"))
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open|in_progress|done|verified
    reminded_at: Mapped[datetime | None] = mapped_column(TS)
    escalated_at: Mapped[datetime | None] = mapped_column(TS)
    done_at: Mapped[datetime | None] = mapped_column(TS)
    verified_at: Mapped[datetime | None] = mapped_column(TS)
    verified_by: Mapped[str | None] = mapped_column(String(80))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
