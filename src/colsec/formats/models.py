"""Tables of the formats domain: MISP warninglists (known-benign values)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from colsec.db_base import Base, BigId, utcnow

__all__ = ["TagAlias", "TagVocabulary", "Warninglist", "WarninglistEntry"]


class Warninglist(Base):
    __tablename__ = "warninglist"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    list_type: Mapped[str] = mapped_column(String(16))  # cidr, string, hostname, substring, regex
    version: Mapped[int] = mapped_column(Integer, default=0)
    matching_attributes: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of MISP types
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WarninglistEntry(Base):
    __tablename__ = "warninglist_entry"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    warninglist_id: Mapped[int] = mapped_column(ForeignKey("warninglist.id", ondelete="CASCADE"), index=True)
    value: Mapped[str] = mapped_column(String(2048))


class TagVocabulary(Base):
    """A known tag: a MISP taxonomy machine tag or a galaxy cluster (``misp-galaxy:type="value"``)."""

    __tablename__ = "tag_vocabulary"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tag: Mapped[str] = mapped_column(String(512), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # taxonomy, galaxy
    namespace: Mapped[str] = mapped_column(String(120), index=True)
    expanded: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    colour: Mapped[str | None] = mapped_column(String(16), nullable=True)
    uuid: Mapped[str | None] = mapped_column(String(36), nullable=True)


class TagAlias(Base):
    """Another name of a vocabulary tag (galaxy synonyms), lower-cased, for lookup."""

    __tablename__ = "tag_alias"

    alias: Mapped[str] = mapped_column(String(512), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag_vocabulary.id", ondelete="CASCADE"), primary_key=True)
