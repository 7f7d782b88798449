"""What the admin API shows of an outbox row (never a secret: payloads hold none)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from colsec.outbox.models import Topic

__all__ = ["OutboxMessageOut", "WebhookIn", "WebhookOut"]


class OutboxMessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: str
    destination: str
    event: str
    org_id: int | None
    status: str
    attempts: int
    next_attempt_at: datetime
    lease_until: datetime | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    secret: str = Field(min_length=16, max_length=200)
    topics: list[Topic] = Field(default_factory=lambda: list(Topic), min_length=1)


class WebhookOut(BaseModel):
    """An endpoint as its organisation's admin sees it (the secret is never shown again)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    organisation_id: int
    url: str
    topics: list[str]
    active: bool
    created_at: datetime
