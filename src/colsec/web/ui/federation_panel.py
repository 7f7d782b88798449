"""Federation health for the dashboard, read from the federation domain when it is installed."""

from __future__ import annotations

import importlib.util
from typing import Any

from sqlalchemy.orm import Session

__all__ = ["health", "peer_rows"]


def health(db: Session) -> list[dict[str, Any]] | None:
    """One row per configured peer, or None when this node has no federation domain."""
    if importlib.util.find_spec("colsec.federation.service") is None:
        return None
    from colsec.federation import service

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


def peer_rows(db: Session) -> list[dict[str, Any]] | None:
    """Full status of every peer for the peers page, or None without a federation domain."""
    if importlib.util.find_spec("colsec.federation.service") is None:
        return None
    from colsec.federation import service

    return [service.peer_status(db, peer) for peer in service.list_peers(db)]
