"""Request and response shapes of the intel API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

__all__ = [
    "CRITICALITY",
    "CRITICALITY_NAMES",
    "AlertAssignIn",
    "AlertCloseIn",
    "AssetIn",
    "AssetOut",
    "CorrelationOut",
    "WebhookIn",
]

CRITICALITY = {"low": 1, "medium": 2, "high": 3, "critical": 4}
CRITICALITY_NAMES = {v: k for k, v in CRITICALITY.items()}
Criticality = Literal["low", "medium", "high", "critical"]


class AssetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    sector: str = Field(min_length=1, max_length=60)
    criticality: Criticality
    ip_ranges: list[str] = Field(default_factory=list, max_length=1000)
    domains: list[str] = Field(default_factory=list, max_length=1000)
    cpes: list[str] = Field(default_factory=list, max_length=1000)
    description: str = Field(default="", max_length=4000)
    organisation: str | None = None  # short name; administrators only, defaults to the caller's


class AssetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organisation_id: int
    name: str
    sector: str
    criticality: str
    ip_ranges: list[str]
    domains: list[str]
    cpes: list[str]
    description: str
    created_at: datetime

    @field_validator("criticality", mode="before")
    @classmethod
    def _crit(cls, v: Any) -> str:
        return CRITICALITY_NAMES.get(v, str(v)) if isinstance(v, int) else str(v)

    @field_validator("ip_ranges", "domains", "cpes", mode="before")
    @classmethod
    def _json_list(cls, v: Any) -> Any:
        return orjson.loads(v) if isinstance(v, str) else v


class CorrelationOut(BaseModel):
    kind: str
    value: str
    status: str
    warninglist: str | None = None
    contains: bool
    visible_objects: int
    n_objects: int | None = None  # global counts: administrators only
    n_owners: int | None = None


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    secret: str = Field(min_length=16, max_length=200)


class AlertCloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=400)


class AlertAssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: str = Field(default="", max_length=80)  # empty: unassign
