"""Inputs and outputs of the groups API and commands (Pydantic; the domain takes the inputs)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from colsec.crisis.outcome import reason_english
from colsec.db_base import MAX_ID

__all__ = [
    "ActionIn",
    "ActionOut",
    "AgendaIn",
    "AnswerIn",
    "AttendanceIn",
    "CommentIn",
    "CommentOut",
    "DecisionIn",
    "DecisionOut",
    "DelegationIn",
    "GroupIn",
    "GroupKind",
    "GroupOut",
    "LessonActionIn",
    "MeetingIn",
    "MeetingOut",
    "MemberIn",
    "MinutesIn",
    "OfficersIn",
    "PersonIn",
    "ProcedureIn",
    "ProcedureOut",
    "ProcedureRule",
    "Stance",
]

Text200 = Field(min_length=1, max_length=200)


class GroupKind(StrEnum):
    WORKING_GROUP = "working_group"
    COMMISSION = "commission"
    EXPERT_GROUP = "expert_group"
    AD_HOC = "ad_hoc"


class ProcedureRule(StrEnum):
    CONSENSUS = "consensus"
    SIMPLE = "simple"  # simple majority of the votes cast
    QUALIFIED = "qualified"  # two thirds of the votes cast
    SILENCE = "silence"  # adopted unless someone objects by the deadline


class Stance(StrEnum):
    AGREE = "agree"
    OBJECT = "object"
    ABSTAIN = "abstain"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemberIn(_In):
    organisation: str = Field(min_length=1, max_length=40, description="organisation short name")
    kind: str = Field(default="member", pattern="^(member|observer)$")
    representative: str | None = Field(default=None, max_length=80, description="username")
    deputies: list[str] = Field(default_factory=list, max_length=10)


class GroupIn(_In):
    code: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")
    name_en: str = Text200
    name_ru: str = Text200
    mandate_en: str = Field(default="", max_length=20000)
    mandate_ru: str = Field(default="", max_length=20000)
    kind: GroupKind = GroupKind.WORKING_GROUP
    parent_id: int | None = None
    term_start: date | None = None
    term_end: date | None = None
    default_tlp: str = Field(default="amber", description="clear, green, amber, amber+strict or red")
    chair: str | None = Field(default=None, max_length=80, description="username")
    secretary: str | None = Field(default=None, max_length=80, description="username")
    members: list[MemberIn] = Field(default_factory=list, max_length=200)


class PersonIn(_In):
    organisation: str = Field(min_length=1, max_length=40, description="short name of a member or observer")
    username: str = Field(min_length=1, max_length=80)
    function: str = Field(default="deputy", pattern="^(representative|deputy)$")


class OfficersIn(_In):
    """Only the fields sent change; ``null`` leaves the office vacant."""

    chair: str | None = Field(default=None, max_length=80, description="username")
    secretary: str | None = Field(default=None, max_length=80, description="username")


class GroupOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_en: str
    name_ru: str
    mandate_en: str
    mandate_ru: str
    kind: str
    parent_id: int | None
    term_start: date | None
    term_end: date | None
    default_tlp: int
    chair_user_id: int | None
    secretary_user_id: int | None


class DelegationIn(_In):
    deputy: str = Field(min_length=1, max_length=80, description="username of a deputy of your organisation")
    starts_at: datetime
    ends_at: datetime


class AgendaIn(_In):
    title: str = Field(min_length=1, max_length=300)
    presenter: str = Field(default="", max_length=200)
    decision_sought: str = Field(default="", max_length=5000)


class MeetingIn(_In):
    title: str = Text200
    starts_at: datetime = Field(description="local time of the meeting, or an aware time")
    tz: str = Field(default="UTC", max_length=64, description="IANA time zone, e.g. Europe/Vienna")
    duration_minutes: int = Field(default=120, ge=5, le=24 * 60)
    place: str = Field(default="", max_length=300)
    link: str = Field(default="", max_length=500)
    agenda: list[AgendaIn] = Field(default_factory=list, max_length=100)


class MeetingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    group_id: int
    title: str
    starts_at: datetime
    tz: str
    duration_minutes: int
    place: str
    link: str
    status: str
    quorum_reached: bool | None
    minutes_en: str
    minutes_ru: str
    comments_until: datetime | None = None
    minutes_sha256: str | None = None


class CommentIn(_In):
    text: str = Field(min_length=1, max_length=4000)


class CommentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    meeting_id: int
    organisation_id: int
    author: str
    text: str
    created_at: datetime


class AttendanceIn(_In):
    present: list[str] = Field(max_length=500, description="short names of the organisations present")


class MinutesIn(_In):
    minutes_en: str = Field(default="", max_length=200000)
    minutes_ru: str = Field(default="", max_length=200000)
    comments_until: datetime | None = None


class DecisionIn(_In):
    text_en: str = Field(min_length=1, max_length=20000)
    text_ru: str = Field(min_length=1, max_length=20000)
    paper_ids: list[int] = Field(default_factory=list, max_length=50)


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    group_id: int
    number: str
    text_en: str
    text_ru: str
    adopted_on: date
    how: str
    meeting_id: int | None
    procedure_id: int | None
    positions: str
    paper_ids: str
    tlp: int


class ProcedureIn(_In):
    question: str = Field(min_length=1, max_length=5000)
    text_en: str = Field(min_length=1, max_length=20000, description="the decision text if adopted")
    text_ru: str = Field(min_length=1, max_length=20000)
    options: list[str] = Field(default_factory=list, max_length=20)
    rule: ProcedureRule = ProcedureRule.CONSENSUS
    quorum: int | None = Field(default=None, ge=1)
    deadline: datetime


class ProcedureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    group_id: int
    question: str
    rule: str
    quorum: int
    eligible_count: int
    deadline: datetime
    status: str
    agree_count: int
    object_count: int
    abstain_count: int
    outcome: str | None
    reason: str
    reason_code: str | None = None
    decision_id: int | None

    @field_validator("reason", mode="before")
    @classmethod
    def _english(cls, v: Any) -> str:
        return reason_english(v)


class AnswerIn(_In):
    stance: Stance
    option: str | None = Field(default=None, max_length=200)
    comment: str = Field(default="", max_length=5000)
    on_behalf_of: str | None = Field(
        default=None, max_length=40, description="organisation short name (deputies)"
    )


class ActionIn(_In):
    title: str = Field(min_length=1, max_length=500)
    owner_organisation: str = Field(min_length=1, max_length=40)
    owner_user: str | None = Field(default=None, max_length=80)
    due_on: date
    source: str = Field(default="minutes", pattern="^(decision|minutes|exercise)$")
    decision_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    meeting_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class LessonActionIn(_In):
    lesson_id: int
    owner_organisation: str = Field(min_length=1, max_length=40)
    owner_user: str | None = Field(default=None, max_length=80)
    due_on: date


class ActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    group_id: int
    title: str
    source: str
    decision_id: int | None
    meeting_id: int | None
    lesson_id: int | None
    owner_org_id: int
    owner_user_id: int | None
    due_on: date
    status: str
    reminded_at: datetime | None
    escalated_at: datetime | None
    verified_by: str | None
