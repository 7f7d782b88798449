"""Tables of the intel domain: correlation groups, scores, assets, vulnerabilities, alerts, webhooks.

Correlation stores one row per shared *value*, not per pair of objects: the objects
that share it are found through the observables index, so a value held by n objects
costs one row instead of n² (the blow-up that makes pair tables explode).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from colsec.db_base import Base, BigId, utcnow

__all__ = [
    "Alert",
    "AlertObject",
    "AlertRecipient",
    "Asset",
    "Correlation",
    "CorrelationDomain",
    "CorrelationEdge",
    "IndicatorScore",
    "Vulnerability",
]


class Correlation(Base):
    """A value stated by several objects.  ``status``: active | capped | warninglisted."""

    __tablename__ = "correlation"
    __table_args__ = (Index("ix_correlation_kind_value", "kind", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(2048))
    n_objects: Mapped[int] = mapped_column(Integer)
    n_owners: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    warninglist: Mapped[str | None] = mapped_column(String(200))
    contains: Mapped[bool] = mapped_column(Boolean, default=False)  # has contained/child values
    updated_at: Mapped[str] = mapped_column(String(32))


class CorrelationEdge(Base):
    """Value-level containment: an IP inside a CIDR, a sub-domain (or URL host) under a domain."""

    __tablename__ = "correlation_edge"
    __table_args__ = (
        Index("ix_correlation_edge_parent", "parent_kind", "parent_value"),
        Index("ix_correlation_edge_child", "kind", "value"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(2048))
    parent_kind: Mapped[str] = mapped_column(String(20))
    parent_value: Mapped[str] = mapped_column(String(2048))


class CorrelationDomain(Base):
    """Every stated domain, reversed (``moc.elpmaxe.live``), so sub-domains of a new parent are one
    index range scan instead of a suffix scan over all domains."""

    __tablename__ = "correlation_domain"

    rev: Mapped[str] = mapped_column(String(260), primary_key=True)


class IndicatorScore(Base):
    """Score inputs of one indicator and the instant its decayed score falls below the threshold."""

    __tablename__ = "indicator_score"

    object_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    object_seq: Mapped[int] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(20))
    confidence: Mapped[int] = mapped_column(SmallInteger)
    sightings: Mapped[int] = mapped_column(Integer, default=0)
    ref_time: Mapped[str] = mapped_column(String(32))
    base_score: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[str] = mapped_column(String(32), index=True)
    updated_at: Mapped[str] = mapped_column(String(32))


class Asset(Base):
    """A member organisation's critical-infrastructure asset; lists are JSON text."""

    __tablename__ = "asset"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    sector: Mapped[str] = mapped_column(String(60))
    criticality: Mapped[int] = mapped_column(SmallInteger)  # 1 low, 2 medium, 3 high, 4 critical
    ip_ranges: Mapped[str] = mapped_column(Text, default="[]")
    domains: Mapped[str] = mapped_column(Text, default="[]")
    cpes: Mapped[str] = mapped_column(Text, default="[]")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Vulnerability(Base):
    """A CVE known from the KEV catalogue and/or an NVD record (public data, TLP:CLEAR)."""

    __tablename__ = "vulnerability"

    cve: Mapped[str] = mapped_column(String(30), primary_key=True)
    in_kev: Mapped[bool] = mapped_column(Boolean, default=False)
    kev_date_added: Mapped[str | None] = mapped_column(String(10))
    vendor: Mapped[str] = mapped_column(String(200), default="")
    product: Mapped[str] = mapped_column(String(200), default="")
    name: Mapped[str] = mapped_column(String(400), default="")
    ransomware: Mapped[bool] = mapped_column(Boolean, default=False)
    cpe_matches: Mapped[str | None] = mapped_column(Text)  # NVD cpeMatch list (JSON); None = no NVD record
    updated_at: Mapped[str] = mapped_column(String(32))


class Alert(Base):
    """One alert, deduplicated by ``dedupe_key``; kind: exposure | cross_member."""

    __tablename__ = "alert"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    severity: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(400))
    value_kind: Mapped[str | None] = mapped_column(String(20))
    value: Mapped[str | None] = mapped_column(String(2048))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id", ondelete="SET NULL"), index=True)
    cve: Mapped[str | None] = mapped_column(String(30))
    details: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[str] = mapped_column(String(32), index=True)
    updated_at: Mapped[str] = mapped_column(String(32))


class AlertObject(Base):
    """Objects an alert is about; shown to a recipient only where the sharing policy allows."""

    __tablename__ = "alert_object"

    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), primary_key=True)
    object_seq: Mapped[int] = mapped_column(
        ForeignKey("stix_object.seq", ondelete="CASCADE"), primary_key=True, index=True
    )


class AlertRecipient(Base):
    """One organisation's copy of an alert: its own workflow state, since each recipient handles it apart.

    ``state``: new -> acknowledged -> in_progress -> closed (``close_reason`` says why).
    ``escalation``: 0 none, 1 told the organisation's deputies, 2 told the crisis centre.
    """

    __tablename__ = "alert_recipient"
    __table_args__ = (
        Index("ix_alert_recipient_org_state", "organisation_id", "state"),
        Index("ix_alert_recipient_org_alert", "organisation_id", "alert_id"),
    )

    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[str] = mapped_column(String(32))
    read_at: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="new", server_default="new")
    acknowledged_by: Mapped[str | None] = mapped_column(String(80))
    acknowledged_at: Mapped[str | None] = mapped_column(String(32))
    assigned_to: Mapped[str | None] = mapped_column(String(80))
    closed_by: Mapped[str | None] = mapped_column(String(80))
    closed_at: Mapped[str | None] = mapped_column(String(32))
    close_reason: Mapped[str | None] = mapped_column(String(400))
    escalation: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    escalated_at: Mapped[str | None] = mapped_column(String(32))
