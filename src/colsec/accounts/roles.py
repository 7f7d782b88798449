"""Roles and the caller identity passed explicitly to services."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["SYSTEM", "Actor", "Role"]


class Role(StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    ANALYST = "analyst"
    REPRESENTATIVE = "representative"
    VIEWER = "viewer"
    PEER = "peer"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a user of an organisation, or the node itself (``SYSTEM``)."""

    username: str
    role: Role
    org_id: int | None
    org_short_name: str | None = None
    user_id: int | None = None
    language: str = "en"

    @property
    def is_system(self) -> bool:
        return self.user_id is None and self.username == "system"

    def has(self, *roles: Role) -> bool:
        return self.role in roles


SYSTEM = Actor(username="system", role=Role.ADMIN, org_id=None)
