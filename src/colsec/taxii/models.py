"""TAXII-only tables: API roots, the discovery resource and status resources.

Collections and their membership live in ``colsec.store.models`` because the
store fills them on import; what only the TAXII protocol needs lives here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from colsec.db_base import Base, utcnow

__all__ = ["TaxiiApiRoot", "TaxiiDiscovery", "TaxiiStatus"]


class TaxiiDiscovery(Base):
    """The node's discovery resource (one row, id 1); absent means defaults from settings."""

    __tablename__ = "taxii_discovery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    default_root: Mapped[str | None] = mapped_column(String(100))


class TaxiiApiRoot(Base):
    """An API root served at ``/taxii2/<name>/`` (``legacy_path``: also at ``/<name>/``, as medallion did)."""

    __tablename__ = "taxii_api_root"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    max_content_length: Mapped[int | None] = mapped_column(Integer)
    legacy_path: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TaxiiStatus(Base):
    """Outcome of one POST to ``objects``; kept at least 24 h (the interoperability rule)."""

    __tablename__ = "taxii_status"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    api_root: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10))  # pending | complete
    request_timestamp: Mapped[str] = mapped_column(String(32))
    total_count: Mapped[int] = mapped_column(Integer, default=0)
    success_count: Mapped[int] = mapped_column(Integer, default=0)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    pending_count: Mapped[int] = mapped_column(Integer, default=0)
    successes: Mapped[str] = mapped_column(Text, default="[]")
    failures: Mapped[str] = mapped_column(Text, default="[]")
    pendings: Mapped[str] = mapped_column(Text, default="[]")
    organisation_id: Mapped[int | None] = mapped_column(Integer)  # who may read it (None: admins)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
