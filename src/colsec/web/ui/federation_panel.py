"""Federation health for the dashboard, read from the federation domain when it is installed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

__all__ = ["health"]


def health(db: Session) -> list[dict[str, Any]] | None:
    """One row per configured peer, or None when this node has no federation domain."""
    return None
