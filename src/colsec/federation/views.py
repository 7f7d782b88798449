"""Read models for federation pages: each peer's health for the dashboard, full status for operators."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from colsec.federation import service

__all__ = ["peer_health", "peer_rows"]


def peer_health(db: Session) -> list[dict[str, Any]]:
    """One row per configured peer: healthy while its last success is newer than its last error."""
    rows = []
    for peer in service.list_peers(db):
        ok = (
            peer.enabled
            and peer.last_error_at is None
            or (
                peer.last_success_at is not None
                and peer.last_error_at is not None
                and peer.last_success_at >= peer.last_error_at
            )
        )
        rows.append({"name": peer.name, "ok": bool(ok), "last_sync": peer.last_success_at,
                     "received": peer.objects_received or 0})  # fmt: skip
    return rows


def peer_rows(db: Session) -> list[dict[str, Any]]:
    """Full status of every peer for the operators' peers page (URLs and errors included)."""
    return [service.peer_status(db, peer) for peer in service.list_peers(db)]
