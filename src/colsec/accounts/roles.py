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
    node_operator: bool = False  # runs the node itself: every organisation's accounts, peers, groups

    @property
    def is_system(self) -> bool:
        return self.user_id is None and self.username == "system"

    @property
    def is_operator(self) -> bool:
        """The node operator (CLI, the node itself, or an admin flagged as operator).

        An organisation admin is not one: it manages only its own organisation.
        """
        return self.is_system or (self.node_operator and self.role == Role.ADMIN)

    def manages(self, org_id: int | None) -> bool:
        """May this caller administer ``org_id``'s users, tokens, webhooks and assets?"""
        return self.is_operator or (self.role == Role.ADMIN and org_id is not None and org_id == self.org_id)

    def has(self, *roles: Role) -> bool:
        return self.role in roles


SYSTEM = Actor(username="system", role=Role.ADMIN, org_id=None, node_operator=True)
