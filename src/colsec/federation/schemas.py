"""API shapes for peers and sharing groups (the token is write-only)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

__all__ = ["AttachIn", "MemberIn", "PeerIn", "PeerOut", "PeerPatch", "SharingGroupIn", "SharingGroupOut"]


class PeerIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=8, max_length=500)
    organisation: str = Field(description="The peer node's organisation (short name)")
    token: str | None = Field(default=None, max_length=500)
    username: str | None = Field(default=None, max_length=120)
    collections: list[str] = Field(default_factory=list, max_length=100)
    local_org: str | None = Field(default=None, description="Our organisation as the peer knows it")
    push_collection: str | None = None
    local_collection: str | None = None
    pull_interval_seconds: int = Field(default=60, ge=1, le=86400)


class PeerPatch(BaseModel):
    url: str | None = None
    token: str | None = None
    username: str | None = None
    collections: list[str] | None = None
    push_collection: str | None = None
    local_collection: str | None = None
    pull_interval_seconds: int | None = Field(default=None, ge=1, le=86400)
    enabled: bool | None = None


class PeerOut(BaseModel):
    name: str
    url: str
    organisation: str | None
    local_org: str | None
    collections: list[str]
    push_collection: str | None
    local_collection: str | None
    pull_interval_seconds: int
    enabled: bool
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    lag_seconds: float | None
    last_error: str | None
    last_error_kind: str | None
    last_error_at: datetime | None
    error_count: int
    objects_received: int
    objects_rejected: int
    objects_pushed: int
    newest_date_added: str | None
    cursors: dict[str, str | None]


class SharingGroupIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    description: str = ""
    members: list[str] = Field(default_factory=list, max_length=1000)


class MemberIn(BaseModel):
    organisation: str


class AttachIn(BaseModel):
    object_id: str


class SharingGroupOut(BaseModel):
    name: str
    description: str
    members: list[str]
    owner: str | None = None  # None: the node operator
