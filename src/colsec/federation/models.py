"""The durable per-collection sync cursor; the peer table itself lives with the store's policy tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from colsec.db_base import Base, BigId, utcnow
from colsec.store.peers import Peer  # federation/push.py still imports it from here

__all__ = ["Peer", "PeerCursor"]


class PeerCursor(Base):
    """Where pulling resumes: written in the same transaction as the page it follows."""

    __tablename__ = "peer_cursor"

    peer_id: Mapped[int] = mapped_column(ForeignKey("peer.id", ondelete="CASCADE"), primary_key=True)
    collection_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    added_after: Mapped[str | None] = mapped_column(String(32))
    pages: Mapped[int] = mapped_column(BigId, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
