"""Crisis-response tables: incidents, crises and their timeline, requests, consultations, resources.

Every stateful row carries ``status`` plus one ``*_at`` column per state it can
reach, so each transition is timestamped where it happened and metrics are plain
column arithmetic.  Uniqueness (one position per organisation per consultation)
and vote counters live in SQL so concurrent writers cannot lose a vote.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from colsec.crisis.outcome import reason_code
from colsec.db_base import Base, BigId, utcnow

__all__ = [
    "AssistanceRequest",
    "CapAlert",
    "Consultation",
    "ConsultationDelegation",
    "ConsultationMember",
    "Crisis",
    "CrisisEvent",
    "CrisisRole",
    "Incident",
    "Lesson",
    "Notification",
    "Position",
    "Resource",
    "ResourceOffer",
    "SituationReport",
]

TS = DateTime(timezone=True)


class Incident(Base):
    """A national incident reported by a member organisation; mirrored as a STIX ``incident``."""

    __tablename__ = "crisis_incident"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stix_id: Mapped[str] = mapped_column(String(100), unique=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    reported_by: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(20))
    severity: Mapped[int] = mapped_column(SmallInteger)
    sector: Mapped[str] = mapped_column(String(60), default="")
    critical_infrastructure: Mapped[bool] = mapped_column(Boolean, default=False)
    stix_refs: Mapped[str] = mapped_column(Text, default="[]")
    status: Mapped[str] = mapped_column(String(20), default="reported", index=True)
    triage_note: Mapped[str] = mapped_column(Text, default="")
    crisis_id: Mapped[int | None] = mapped_column(ForeignKey("crisis.id", ondelete="SET NULL"), index=True)
    reported_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    triaged_at: Mapped[datetime | None] = mapped_column(TS)
    escalated_at: Mapped[datetime | None] = mapped_column(TS)
    closed_at: Mapped[datetime | None] = mapped_column(TS)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Set on rows an exercise run created; default lists leave them out.
    exercise_run_id: Mapped[int | None] = mapped_column(Integer, index=True)


class Crisis(Base):
    """An alliance-level crisis run by the crisis centre."""

    __tablename__ = "crisis"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    alert_level: Mapped[int] = mapped_column(SmallInteger, default=3)
    lead_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    lead_username: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default="opened", index=True)
    opened_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    active_at: Mapped[datetime | None] = mapped_column(TS)
    stabilising_at: Mapped[datetime | None] = mapped_column(TS)
    closed_at: Mapped[datetime | None] = mapped_column(TS)
    reviewed_at: Mapped[datetime | None] = mapped_column(TS)
    next_report_due: Mapped[datetime | None] = mapped_column(TS)
    # when the lead was last reminded that the alert level's report interval has run out
    sitrep_reminded_at: Mapped[datetime | None] = mapped_column(TS)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Set on rows an exercise run created; default lists leave them out.
    exercise_run_id: Mapped[int | None] = mapped_column(Integer, index=True)


class CrisisEvent(Base):
    """One line of a crisis timeline (every transition and report lands here)."""

    __tablename__ = "crisis_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crisis.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    organisation: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(60))
    summary: Mapped[str] = mapped_column(Text, default="")
    # The event's parameters (JSON object): pages render ``kind`` with them in the reader's
    # language; ``summary`` is the English line kept for the API and the command line.
    params: Mapped[str] = mapped_column(Text, default="{}")


class CrisisRole(Base):
    """Who holds which role on a crisis: lead, scribe, or liaison for one member organisation."""

    __tablename__ = "crisis_role"
    __table_args__ = (UniqueConstraint("crisis_id", "user_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crisis.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20))  # lead | scribe | liaison
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    assigned_by: Mapped[str] = mapped_column(String(80))
    assigned_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class SituationReport(Base):
    __tablename__ = "situation_report"
    __table_args__ = (UniqueConstraint("crisis_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crisis.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(80))
    summary: Mapped[str] = mapped_column(Text)
    needs: Mapped[str] = mapped_column(Text, default="")
    actions: Mapped[str] = mapped_column(Text, default="")
    next_report_due: Mapped[datetime | None] = mapped_column(TS)
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class Lesson(Base):
    """A lessons-learned entry: what worked, what failed, or a recommendation with an owner."""

    __tablename__ = "crisis_lesson"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crisis.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # worked | failed | recommendation
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(120), default="")
    author: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    # recorded | implemented: set when the follow-up action item a group took on is verified
    status: Mapped[str] = mapped_column(String(12), default="recorded", server_default="recorded")
    implemented_at: Mapped[datetime | None] = mapped_column(TS)


class AssistanceRequest(Base):
    """A member's request for assistance during a crisis: what capability, how much, where, by when."""

    __tablename__ = "assistance_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crisis.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    created_by: Mapped[str] = mapped_column(String(80))
    capability: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int] = mapped_column(Integer)
    location: Mapped[str] = mapped_column(String(200))
    needed_by: Mapped[datetime] = mapped_column(TS)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="drafted", index=True)
    drafted_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(TS)
    in_consultation_at: Mapped[datetime | None] = mapped_column(TS)
    approved_at: Mapped[datetime | None] = mapped_column(TS)
    rejected_at: Mapped[datetime | None] = mapped_column(TS)
    withdrawn_at: Mapped[datetime | None] = mapped_column(TS)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Set on rows an exercise run created; default lists leave them out.
    exercise_run_id: Mapped[int | None] = mapped_column(Integer, index=True)


class Consultation(Base):
    """A question put to eligible members with a rule and a deadline.

    The answer counters are updated only by conditional ``UPDATE ... WHERE status='open'``
    in the same statement that checks the deadline, so concurrent positions serialise on
    this row and the decision is taken on exact figures.
    """

    __tablename__ = "consultation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("assistance_request.id", ondelete="CASCADE"), index=True
    )
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crisis.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(Text)
    options: Mapped[str] = mapped_column(Text, default="[]")
    rule: Mapped[str] = mapped_column(String(20))  # consensus | majority
    quorum: Mapped[int] = mapped_column(Integer)
    eligible_count: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[datetime] = mapped_column(TS, index=True)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    agree_count: Mapped[int] = mapped_column(Integer, default=0)
    object_count: Mapped[int] = mapped_column(Integer, default=0)
    abstain_count: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(20))  # approved | rejected | no_decision
    chosen_option: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(TS)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    opened_by: Mapped[str] = mapped_column(String(80))
    opened_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    reminded_at: Mapped[datetime | None] = mapped_column(TS)
    # Set on rows an exercise run created; default lists leave them out.
    exercise_run_id: Mapped[int | None] = mapped_column(Integer, index=True)

    @property
    def reason_code(self) -> str | None:
        """The stable code of ``decision_reason`` (None for a sentence stored before codes)."""
        return reason_code(self.decision_reason)


class ConsultationMember(Base):
    __tablename__ = "consultation_member"

    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultation.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ConsultationDelegation(Base):
    """A representative hands their organisation's voice in one consultation to another user."""

    __tablename__ = "consultation_delegation"
    __table_args__ = (UniqueConstraint("consultation_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultation.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    delegate_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    delegated_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class Position(Base):
    """One organisation's answer; the unique constraint is what makes double votes impossible."""

    __tablename__ = "consultation_position"
    __table_args__ = (UniqueConstraint("consultation_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultation.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    stance: Mapped[str] = mapped_column(String(10))  # agree | object | abstain
    option: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text, default="")
    cast_by: Mapped[str] = mapped_column(String(80))
    delegated: Mapped[bool] = mapped_column(Boolean, default=False)
    cast_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class Resource(Base):
    """A team or piece of equipment a member can send, typed by capability, size and readiness."""

    __tablename__ = "crisis_resource"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # team | equipment
    name: Mapped[str] = mapped_column(String(200))
    capability: Mapped[str] = mapped_column(String(40), index=True)
    size: Mapped[int] = mapped_column(Integer)
    readiness_hours: Mapped[int] = mapped_column(Integer)
    location: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class ResourceOffer(Base):
    __tablename__ = "resource_offer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("assistance_request.id", ondelete="CASCADE"), index=True
    )
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("crisis_resource.id", ondelete="RESTRICT"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"))
    quantity: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="offered", index=True)
    offered_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(TS)
    committed_at: Mapped[datetime | None] = mapped_column(TS)
    deployed_at: Mapped[datetime | None] = mapped_column(TS)
    demobilised_at: Mapped[datetime | None] = mapped_column(TS)
    declined_at: Mapped[datetime | None] = mapped_column(TS)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Notification(Base):
    """A user's in-app notification: the inbox itself, written with the change (e-mail goes via the outbox)."""

    __tablename__ = "crisis_notification"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(250))
    body: Mapped[str] = mapped_column(Text, default="")
    target: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(TS)
    # Set on rows an exercise run created; default lists leave them out.
    exercise_run_id: Mapped[int | None] = mapped_column(Integer, index=True)


class CapAlert(Base):
    """A CAP 1.2 alert imported from an agency or produced for a crisis; raw XML kept verbatim."""

    __tablename__ = "cap_alert"
    __table_args__ = (UniqueConstraint("sender", "identifier", "sent"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(250))
    sender: Mapped[str] = mapped_column(String(250))
    sent: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    msg_type: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str] = mapped_column(String(20))
    event: Mapped[str] = mapped_column(String(250), default="")
    headline: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(20), default="")
    urgency: Mapped[str] = mapped_column(String(20), default="")
    area: Mapped[str] = mapped_column(Text, default="")
    direction: Mapped[str] = mapped_column(String(10))  # in | out
    crisis_id: Mapped[int | None] = mapped_column(ForeignKey("crisis.id", ondelete="SET NULL"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    xml: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    # Set on rows an exercise run created; default lists leave them out.
    exercise_run_id: Mapped[int | None] = mapped_column(Integer, index=True)
