"""Crisis workspace pages, shown once the crisis domain's services are present."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor

__all__ = ["available", "dashboard_panel"]


def available() -> bool:
    return False


def dashboard_panel(db: Session, actor: Actor) -> dict[str, Any] | None:
    return None
