"""Persistence of STIX objects: one row per (id, modified) version, raw JSON body."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
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
    "ACTIVITY_INDEX",
    "EXERCISE_RUN",
    "ActivityCount",
    "AuditEntry",
    "Collection",
    "CollectionFilter",
    "CollectionObject",
    "ObjectLink",
    "ObjectRecipient",
    "Observable",
    "SearchDoc",
    "SharingGroup",
    "SharingGroupMember",
    "StixObject",
]


# ``Session.info`` key set while an exercise run delivers an inject: ``(run id, run name)``.
# Writers below the exercises domain (store, crisis notices) read it to stamp what they create.
EXERCISE_RUN = "exercise_run"


class SharingGroup(Base):
    __tablename__ = "sharing_group"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The organisation that alone changes the members; NULL: owned by the node operator.
    owner_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )


class SharingGroupMember(Base):
    __tablename__ = "sharing_group_member"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("sharing_group.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class StixObject(Base):
    """One version of one STIX object.

    ``seq`` is monotonic in commit order and ``date_added`` strictly increasing for
    objects added by this node, so TAXII paging by ``(date_added, seq)`` is gap-free.
    Timestamps are canonical text (``colsec.stix.ids``) to sort the same everywhere.
    """

    __tablename__ = "stix_object"
    __table_args__ = (
        UniqueConstraint("id", "modified"),
        Index("ix_stix_object_date_added_seq", "date_added", "seq"),
        # A type's latest rows newest first: the dashboard's latest sightings walk it backward
        # (by (type, is_latest) alone SQLite walked every row by date at a million objects).
        Index("ix_stix_object_type_latest_added", "type", "is_latest", "date_added", "seq"),
        # An owner's rows at one TLP in seq order: searches at AMBER+STRICT or RED start there
        # (an index of owner_org_id alone would only repeat its prefix: object_prefix_indexes).
        Index("ix_stix_object_owner_tlp", "owner_org_id", "tlp", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(120))  # looked up by the (id, modified) index
    type: Mapped[str] = mapped_column(String(250))
    spec_version: Mapped[str] = mapped_column(String(8), default="2.1")
    created: Mapped[str | None] = mapped_column(String(32))
    modified: Mapped[str] = mapped_column(String(32))
    created_by_ref: Mapped[str | None] = mapped_column(String(120))
    owner_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"))
    tlp: Mapped[int] = mapped_column(SmallInteger)
    sharing_group_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_group.id", ondelete="SET NULL"))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    is_latest: Mapped[bool] = mapped_column(Boolean, default=True)
    date_added: Mapped[str] = mapped_column(String(32))
    origin: Mapped[str | None] = mapped_column(String(200))  # None = created here; else peer name
    body: Mapped[str] = mapped_column(Text)
    # Set on objects an exercise run created: every default read excludes them (``policy``).
    exercise_run_id: Mapped[int | None] = mapped_column(Integer, index=True)


class ActivityCount(Base):
    """Latest real versions per day added, type and visibility class (owner, TLP, sharing group).

    The dashboard's and the series' counts read these few rows instead of scanning the store
    (seconds at a million objects).  Kept by triggers on ``stix_object`` in the writing
    statement's transaction (``activity_counts`` migration), so every path that writes a row
    moves its count.  0 stands for "no owner" and "no group" (key columns are not nullable).
    """

    __tablename__ = "activity_count"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    type: Mapped[str] = mapped_column(String(250), primary_key=True)
    owner_org_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tlp: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    sharing_group_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigId, default=0)


class ObjectRecipient(Base):
    """Explicitly named recipient organisations (the only way RED/AMBER+STRICT leave their owner)."""

    __tablename__ = "object_recipient"

    object_seq: Mapped[int] = mapped_column(
        ForeignKey("stix_object.seq", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True, index=True
    )


# The index rows of a version (``Observable``, ``SearchDoc``, ``ObjectLink``) name it by seq with no
# foreign key: only the write gate writes them, after the version in its transaction, and a delete
# trigger on ``stix_object`` removes them with it (``derived_rows_no_fk`` migration: the keys' per-row
# checks were a fifth of the server's work in a PostgreSQL import).


class Observable(Base):
    __tablename__ = "observable"
    __table_args__ = (Index("ix_observable_kind_value", "kind", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(2048))
    object_seq: Mapped[int] = mapped_column(BigId, index=True)  # no foreign key: see above
    object_id: Mapped[str] = mapped_column(String(120))


class SearchDoc(Base):
    """The stemmed searchable words of the latest version of an object (``colsec.fulltext``).

    Written by the store's one write gate in the object's transaction; a superseded version's
    row is removed there too, so only latest versions are found.  SQLite indexes ``terms`` in
    the FTS5 table ``search_fts`` (filled by the gate, emptied by triggers), PostgreSQL in a GIN index of
    ``to_tsvector('simple', terms)``; both are created by the ``fulltext`` migration.  On PostgreSQL
    that tsvector is stored in a column ``tsv`` the gate writes (``search_doc_tsv`` migration; in no
    model, as SQLite has no such column) and the GIN index is over it.
    """

    __tablename__ = "search_doc"

    # No foreign key: see the comment above ``Observable``.
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    terms: Mapped[str] = mapped_column(Text)


class ObjectLink(Base):
    """An object id that a relationship (source, target) or sighting (sighting_of) version points at.

    The object page lists an object's relationships and sightings through this index instead of
    scanning every relationship body.  Rows are kept for every version; readers join the latest.
    Written by the store's one write gate; created and backfilled by the ``object_links`` migration.
    """

    __tablename__ = "object_link"

    ref_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    # No foreign key: see the comment above ``Observable``.
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, index=True)


class Collection(Base):
    """A TAXII collection; rights list organisation short names or roles ("*" = everyone)."""

    __tablename__ = "collection"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    api_root: Mapped[str] = mapped_column(String(100), default="root")
    alias: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    media_types: Mapped[str] = mapped_column(Text, default='["application/stix+json;version=2.1"]')
    can_read: Mapped[str] = mapped_column(Text, default='["*"]')
    can_write: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CollectionObject(Base):
    """A version a TAXII collection holds, and when it joined that collection.

    ``date_added`` is the collection's own (TAXII 2.1 §3.2: the time the object was added to
    *this* collection): a version published into a collection after it was stored joins it
    now, so ``added_after`` pollers of that collection see it, and adding it to a second
    collection leaves the first one's pollers alone.  A new version joins its collections at
    its own store ``date_added``; one already stored joins at a fresh tick of the write gate's
    clock (``colsec.store.rows.Clock``), so a collection's stamps are unique and only grow.
    """

    __tablename__ = "collection_object"
    __table_args__ = (Index("ix_collection_object_added", "collection_id", "date_added", "object_seq"),)

    collection_id: Mapped[str] = mapped_column(
        ForeignKey("collection.id", ondelete="CASCADE"), primary_key=True
    )
    object_seq: Mapped[int] = mapped_column(
        ForeignKey("stix_object.seq", ondelete="CASCADE"), primary_key=True, index=True
    )
    date_added: Mapped[str] = mapped_column(String(32))


class AuditEntry(Base):
    """Append-only; ``hash`` = sha256(prev_hash + canonical row), so edits and deletions show."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(120))
    organisation: Mapped[str | None] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(80), index=True)
    target: Mapped[str] = mapped_column(String(250), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class CollectionFilter(Base):
    """A collection defined by a filter: objects that match it join the collection as they are stored.

    Lists are JSON text (empty = any); ``max_tlp`` is a ceiling (a ``TLP`` value).
    """

    __tablename__ = "collection_filter"

    collection_id: Mapped[str] = mapped_column(
        ForeignKey("collection.id", ondelete="CASCADE"), primary_key=True
    )
    types: Mapped[str] = mapped_column(Text, default="[]")
    owner_org_ids: Mapped[str] = mapped_column(Text, default="[]")
    labels: Mapped[str] = mapped_column(Text, default="[]")
    max_tlp: Mapped[int | None] = mapped_column(SmallInteger)
    sharing_group_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_group.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# One covering index for the dashboard's activity counts.
#
# The situational picture counts visible objects per day, type and owner over the
# last two weeks.  Reading those rows from the table costs ~300 ms at 100,000
# objects on SQLite (every row's page is touched); with every needed column in
# one index the count never leaves the index (measured in bench/web.py).
# Created by the ``web_ui_activity`` migration, widened by ``reports_auto_publish``.
ACTIVITY_INDEX = Index(
    "ix_stix_object_activity",
    StixObject.date_added,
    StixObject.type,
    StixObject.owner_org_id,
    StixObject.tlp,
    StixObject.sharing_group_id,
    StixObject.is_latest,
    # Every real view excludes exercise rows, and the sharing policy probes recipients by seq:
    # without these columns each count reads the table (SQLite keeps seq as the rowid anyway;
    # PostgreSQL needs it for an index-only scan).  Measured in bench/reports.py.
    StixObject.exercise_run_id,
    StixObject.seq,
)
