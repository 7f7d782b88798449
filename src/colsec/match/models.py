"""Tables of stream matching: what a worker has committed, its alerts, its sighting counters.

Workers pulling telemetry from a message stream share these rows, so that N workers on any
machines count a sighting exactly once whatever is redelivered: ``match_stream_range`` holds
the stream sequences already committed (as ranges, coalesced), ``match_sighting_count`` the
running totals that each sighting version is written from, ``match_alert`` one row per alert.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from colsec.db_base import Base, BigId, utcnow

__all__ = ["MatchAlert", "MatchSightingCount", "MatchStream", "MatchStreamRange"]


class MatchStream(Base):
    """One row per (stream, consumer): the lock every commit of that consumer takes first."""

    __tablename__ = "match_stream"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    commits: Mapped[int] = mapped_column(BigInteger, default=0)


class MatchStreamRange(Base):
    """Stream sequences ``first_seq..last_seq`` (inclusive) whose alerts and counts are committed."""

    __tablename__ = "match_stream_range"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    first_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class MatchSightingCount(Base):
    """Running total of one sighting (sighter, indicator, window): the sum over every worker."""

    __tablename__ = "match_sighting_count"

    sighter: Mapped[str] = mapped_column(String(120), primary_key=True)
    indicator_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # µs since the epoch
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    first_us: Mapped[int] = mapped_column(BigInteger)
    last_us: Mapped[int] = mapped_column(BigInteger)
    matched_values: Mapped[str] = mapped_column(Text, default="[]")  # JSON list, at most 20
    modified_us: Mapped[int] = mapped_column(BigInteger, default=0)  # of the latest sighting version
    # counted since the latest version was written: the next publication writes a new one
    pending: Mapped[bool] = mapped_column(Boolean, default=True, index=True)


class MatchAlert(Base):
    """One alert of a stream worker; unique per message and indicator, so a retry cannot double it."""

    __tablename__ = "match_alert"
    __table_args__ = (UniqueConstraint("stream_key", "seq", "indicator_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int | None] = mapped_column(Integer, index=True)
    stream_key: Mapped[str] = mapped_column(String(300))
    seq: Mapped[int] = mapped_column(BigInteger)
    indicator_id: Mapped[str] = mapped_column(String(120), index=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
