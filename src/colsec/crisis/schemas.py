"""Input and output shapes of the crisis API (pydantic v2)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from colsec.crisis.outcome import Rule, reason_english

__all__ = [
    "Capability",
    "CategoryName",
    "ConsultationIn",
    "ConsultationOut",
    "CrisisIn",
    "CrisisOut",
    "DelegationIn",
    "EventOut",
    "IncidentIn",
    "IncidentOut",
    "LessonIn",
    "LessonOut",
    "NotificationOut",
    "OfferIn",
    "OfferOut",
    "PositionIn",
    "PositionOut",
    "RequestIn",
    "RequestOut",
    "ResourceIn",
    "ResourceOut",
    "SitrepIn",
    "SitrepOut",
    "Stance",
    "TransitionIn",
    "WebhookIn",
]


class CategoryName(StrEnum):
    CYBER = "cyber"
    EMERGENCY = "emergency"
    BIOLOGICAL = "biological"
    OTHER = "other"


class Capability(StrEnum):
    """What a team or piece of equipment can do (civilian and defensive only)."""

    CERT_RESPONSE = "cert-incident-response"
    FORENSICS = "forensics"
    EMERGENCY_MEDICAL = "emergency-medical"
    BIOSAFETY = "biological-safety"
    SEARCH_RESCUE = "search-and-rescue"
    POWER_EQUIPMENT = "power-equipment"
    COMMUNICATIONS_EQUIPMENT = "communications-equipment"
    LAB_EQUIPMENT = "laboratory-equipment"
    WATER_PURIFICATION = "water-purification"


class Stance(StrEnum):
    AGREE = "agree"
    OBJECT = "object"
    ABSTAIN = "abstain"


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class IncidentIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    category: CategoryName
    severity: int = Field(ge=1, le=5)
    sector: str = Field(default="", max_length=60)
    critical_infrastructure: bool = False
    stix_refs: list[str] = Field(default_factory=list, max_length=200)


class IncidentOut(_Out):
    id: int
    stix_id: str
    organisation_id: int
    reported_by: str
    title: str
    description: str
    category: str
    severity: int
    sector: str
    critical_infrastructure: bool
    status: str
    triage_note: str
    crisis_id: int | None
    reported_at: datetime
    triaged_at: datetime | None
    escalated_at: datetime | None
    closed_at: datetime | None
    version: int


class TransitionIn(BaseModel):
    note: str = Field(default="", max_length=5000)
    severity: int | None = Field(default=None, ge=1, le=5)


class CrisisIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    alert_level: int = Field(default=3, ge=1, le=5)
    incident_ids: list[int] = Field(min_length=1, max_length=100)
    lead_username: str | None = None


class CrisisOut(_Out):
    id: int
    title: str
    description: str
    alert_level: int
    lead_username: str
    status: str
    opened_at: datetime
    active_at: datetime | None
    stabilising_at: datetime | None
    closed_at: datetime | None
    reviewed_at: datetime | None
    next_report_due: datetime | None
    version: int


class EventOut(_Out):
    at: datetime
    actor: str
    organisation: str | None
    kind: str
    summary: str


class SitrepIn(BaseModel):
    summary: str = Field(min_length=1, max_length=20_000)
    needs: str = Field(default="", max_length=20_000)
    actions: str = Field(default="", max_length=20_000)
    next_report_due: datetime | None = None


class SitrepOut(_Out):
    id: int
    crisis_id: int
    number: int
    author: str
    summary: str
    needs: str
    actions: str
    next_report_due: datetime | None
    created_at: datetime


class LessonIn(BaseModel):
    kind: str = Field(pattern="^(worked|failed|recommendation)$")
    text: str = Field(min_length=1, max_length=20_000)
    owner: str = Field(default="", max_length=120)


class LessonOut(_Out):
    id: int
    crisis_id: int
    kind: str
    text: str
    owner: str
    author: str
    created_at: datetime
    status: str = "recorded"  # implemented once a working group's follow-up action is verified
    implemented_at: datetime | None = None


class RoleIn(BaseModel):
    username: str = Field(min_length=1, max_length=80)
    role: Literal["lead", "scribe", "liaison"]


class RoleOut(_Out):
    id: int
    crisis_id: int
    username: str
    role: str
    organisation_id: int | None
    assigned_by: str
    assigned_at: datetime


class RequestIn(BaseModel):
    capability: Capability
    quantity: int = Field(ge=1, le=10_000)
    location: str = Field(min_length=1, max_length=200)
    needed_by: datetime
    description: str = Field(default="", max_length=20_000)


class RequestOut(_Out):
    id: int
    crisis_id: int
    organisation_id: int
    created_by: str
    capability: str
    quantity: int
    location: str
    needed_by: datetime
    description: str
    status: str
    drafted_at: datetime
    submitted_at: datetime | None
    in_consultation_at: datetime | None
    approved_at: datetime | None
    rejected_at: datetime | None
    withdrawn_at: datetime | None
    version: int


class ConsultationIn(BaseModel):
    question: str = Field(min_length=1, max_length=5000)
    options: list[str] = Field(default_factory=list, max_length=20)
    rule: Rule = Rule.CONSENSUS
    quorum: int | None = Field(default=None, ge=1)
    deadline: datetime
    eligible_org_ids: list[int] | None = None

    @field_validator("options")
    @classmethod
    def _options(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v) or any(not o.strip() or len(o) > 200 for o in v):
            raise ValueError("options must be distinct non-empty strings of at most 200 characters")
        return v


class ConsultationOut(_Out):
    id: int
    request_id: int | None
    crisis_id: int
    question: str
    options: list[str]
    rule: str
    quorum: int
    eligible_count: int
    eligible_org_ids: list[int] = []
    deadline: datetime
    status: str
    agree_count: int
    object_count: int
    abstain_count: int
    outcome: str | None
    chosen_option: str | None
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str
    reason_code: str | None = None
    opened_by: str
    opened_at: datetime
    positions: list[PositionOut] = []

    @field_validator("decision_reason", mode="before")
    @classmethod
    def _english(cls, v: Any) -> str:
        return reason_english(v)

    @field_validator("options", mode="before")
    @classmethod
    def _load(cls, v: Any) -> Any:
        import orjson

        return orjson.loads(v) if isinstance(v, str) else v


class PositionIn(BaseModel):
    stance: Stance
    option: str | None = Field(default=None, max_length=200)
    comment: str = Field(default="", max_length=5000)
    on_behalf_of: int | None = None


class PositionOut(_Out):
    organisation_id: int
    stance: str
    option: str | None
    comment: str
    cast_by: str
    delegated: bool
    cast_at: datetime


class DelegationIn(BaseModel):
    delegate_username: str = Field(min_length=1, max_length=80)


class ResourceIn(BaseModel):
    kind: str = Field(pattern="^(team|equipment)$")
    name: str = Field(min_length=1, max_length=200)
    capability: Capability
    size: int = Field(ge=1, le=10_000)
    readiness_hours: int = Field(ge=0, le=24 * 90)
    location: str = Field(default="", max_length=200)


class ResourceOut(_Out):
    id: int
    organisation_id: int
    kind: str
    name: str
    capability: str
    size: int
    readiness_hours: int
    location: str


class OfferIn(BaseModel):
    resource_id: int
    quantity: int = Field(ge=1, le=10_000)
    note: str = Field(default="", max_length=5000)


class OfferOut(_Out):
    id: int
    request_id: int
    resource_id: int
    organisation_id: int
    quantity: int
    note: str
    status: str
    offered_at: datetime
    accepted_at: datetime | None
    committed_at: datetime | None
    deployed_at: datetime | None
    demobilised_at: datetime | None
    declined_at: datetime | None


class NotificationOut(_Out):
    id: int
    kind: str
    subject: str
    body: str
    target: str
    created_at: datetime
    read_at: datetime | None


class WebhookIn(BaseModel):
    url: str = Field(min_length=8, max_length=500)
    secret: str = Field(min_length=16, max_length=200)
