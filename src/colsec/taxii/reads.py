"""TAXII reads: query parameters, keyset pages and their envelopes (the access check: ``taxii.access``).

Pages run on the collection's own ``(date_added, seq)`` keyset (``CollectionObject``: when each
version joined the collection) with the ``visible_clause`` sharing policy, per
version (an older version shows only while its latest version is visible too), so every
object a TAXII caller sees, in objects, manifests and version lists, passed the same policy
as everywhere else.  Each statement shape is built and compiled once per viewer and runs
as driver tuples; responses are built from the stored raw JSON bodies, concatenated as
bytes: no per-object JSON round trip.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Dialect, Integer, Select, bindparam, select, tuple_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from colsec.accounts.roles import Actor
from colsec.db import RawQuery, ReadUnit, compile_raw, dialect_of, fetch_raw
from colsec.errors import BadRequest, InvalidInput
from colsec.stix.ids import canonical_timestamp
from colsec.store import queries
from colsec.store.models import Collection, CollectionObject, StixObject
from colsec.store.policy import Recipient, visible_clause
from colsec.store.queries import version_clause
from colsec.taxii.access import CollectionRef

__all__ = [
    "LATEST_BY_ID",
    "CollectionRef",
    "Filters",
    "Page",
    "has_object",
    "page_of",
    "page_select",
    "read_page",
]


# --- reads --------------------------------------------------------------------------------------


@dataclass
class Filters:
    """Parsed TAXII query parameters; unknown parameters are ignored, as the spec requires."""

    ids: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    spec_versions: list[str] = field(default_factory=list)
    added_after: str | None = None
    limit: int = 1000
    next: queries.Cursor | None = None

    @property
    def unfiltered(self) -> bool:
        """No match[...] filter, no added_after and no next: the default page (only ``limit`` may be set)."""
        return not (self.ids or self.types or self.versions or self.spec_versions) and (
            self.added_after is None and self.next is None
        )

    @classmethod
    def parse(cls, params: Iterable[tuple[str, str]], *, default_limit: int, max_limit: int) -> Filters:
        f = cls(limit=default_limit)
        lists = {"match[id]": f.ids, "match[type]": f.types, "match[version]": f.versions,
                 "match[spec_version]": f.spec_versions}  # fmt: skip
        for key, value in params:
            if key in lists:
                lists[key].extend(v.strip() for v in value.split(",") if v.strip())
            elif key == "added_after":
                try:
                    f.added_after = canonical_timestamp(value)
                except ValueError:
                    raise BadRequest(_timestamp_problem("added_after", value)) from None
            elif key == "limit":
                try:
                    n = int(value)
                except ValueError:
                    raise BadRequest(f"limit must be a positive integer, not {value!r}") from None
                if n < 1:
                    raise BadRequest("limit must be a positive integer")
                f.limit = min(n, max_limit)  # larger than allowed: serve the server's maximum
            elif key == "next":
                try:
                    f.next = queries.decode_cursor(value)
                except InvalidInput:
                    raise BadRequest(f"invalid 'next' value {value!r}") from None
        for v in f.versions:
            if v not in ("first", "last", "all"):
                try:
                    canonical_timestamp(v)
                except ValueError:
                    raise BadRequest(
                        f"match[version] must be first, last, all or a timestamp: {v!r}"
                    ) from None
        return f


def _timestamp_problem(name: str, value: str) -> str:
    """Why ``value`` is refused: TAXII 2.1 (§3.1) timestamps are UTC, so an offset is named as such."""
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return f"{name} is not an RFC 3339 timestamp: {value!r}"
    return f"{name} must be a UTC timestamp ending in Z (TAXII 2.1 §3.1), as 2026-01-31T08:00:00Z: {value!r}"


# Only what a TAXII response needs, as driver tuples in this order: no ORM entities, no Row objects.
# An objects envelope reads only the first ``_ENVELOPE_WIDTH`` (its keyset, headers and bodies):
# each further column is a value the driver builds per row, a quarter of a 1,000-row page's fetch.
# DATE_ADDED is the collection's own (``CollectionObject.date_added``, TAXII 2.1 §3.2).
_PAGE_COLUMNS = (
    StixObject.seq, CollectionObject.date_added, StixObject.body, StixObject.id, StixObject.modified,
    StixObject.created, StixObject.spec_version,
)  # fmt: skip
SEQ, DATE_ADDED, BODY, ID, MODIFIED, CREATED, SPEC_VERSION = range(len(_PAGE_COLUMNS))
_ENVELOPE_WIDTH = BODY + 1


@dataclass
class Page:
    """A page's rows; read with ``envelope_only`` they hold only SEQ, DATE_ADDED and BODY (``envelope``)."""

    rows: Sequence[tuple[Any, ...]]  # tuples of _PAGE_COLUMNS (indexes SEQ ... SPEC_VERSION)
    more: bool
    next: str | None

    @property
    def ids(self) -> list[str]:
        return [r[ID] for r in self.rows]

    @property
    def headers(self) -> dict[str, str]:
        if not self.rows:
            return {}
        return {
            "X-TAXII-Date-Added-First": self.rows[0][DATE_ADDED],
            "X-TAXII-Date-Added-Last": self.rows[-1][DATE_ADDED],
        }

    def _head(self) -> bytes:
        head = b'{"more":' + (b"true" if self.more else b"false")
        if self.next is not None:
            head += b',"next":' + orjson.dumps(self.next)
        return head

    def envelope(self) -> bytes:
        """The objects envelope, built from the stored bodies without parsing them."""
        if not self.rows:
            return self._head() + b"}"
        return self._head() + b',"objects":[' + ",".join([r[BODY] for r in self.rows]).encode() + b"]}"

    def manifest(self) -> bytes:
        items = [
            {"id": r[ID], "date_added": r[DATE_ADDED], "version": _version_of(r), "media_type": _media_of(r)}
            for r in self.rows
        ]
        return self._head() + (b',"objects":' + orjson.dumps(items) if items else b"") + b"}"

    def versions(self) -> bytes:
        items = [_version_of(r) for r in self.rows]
        return self._head() + (b',"versions":' + orjson.dumps(items) if items else b"") + b"}"


def _version_of(row: tuple[Any, ...]) -> str:
    """The version as the object states it: the columns hold a re-padded canonical form."""
    obj = orjson.loads(row[BODY])
    stated = obj.get("modified") or obj.get("created") if isinstance(obj, dict) else None
    return stated if isinstance(stated, str) else str(row[MODIFIED] or row[CREATED] or row[DATE_ADDED])


def _media_of(row: tuple[Any, ...]) -> str:
    return f"application/stix+json;version={row[SPEC_VERSION] or '2.1'}"


@dataclass(frozen=True, slots=True)
class _Shape:
    """What decides a page statement's SQL text; the values travel as parameters."""

    ids: int
    types: int
    spec_versions: int
    versions: tuple[str, ...]
    added_after: bool
    after: bool
    envelope_only: bool = False  # the first ``_ENVELOPE_WIDTH`` columns only


LATEST_BY_ID = _Shape(ids=1, types=0, spec_versions=0, versions=("last",), added_after=False, after=False)


@functools.lru_cache(maxsize=256)
def _page_query(dialect: Dialect, viewer: Recipient, shape: _Shape) -> RawQuery:
    """The page statement for one viewer and shape, built and compiled once (``visible_clause`` included).

    Keyed by the viewer itself (organisation and alliance membership), whose values the
    policy clause binds at build time; everything a request varies is a named parameter.
    """
    return compile_raw(page_select(viewer, shape), dialect)


def page_select(viewer: Recipient, shape: _Shape) -> Select[Any]:
    """``_page_query``'s statement, uncompiled: ``by_id`` nests it under the caller's statement.

    It walks the collection's members in their own order, the (collection_id, date_added,
    object_seq) index, and reads each version by its key: a page costs the same at any
    depth, and in a small collection of a large store it reads only that collection's rows.
    """
    member = CollectionObject
    columns = _PAGE_COLUMNS[:_ENVELOPE_WIDTH] if shape.envelope_only else _PAGE_COLUMNS
    stmt: Select[Any] = (
        select(*columns)  # type: ignore[assignment]
        .select_from(member)
        .join(StixObject, StixObject.seq == member.object_seq)
        .where(_by_key(member.collection_id, shape.ids) == bindparam("cid"), visible_clause(viewer))
    )
    if shape.ids:
        stmt = stmt.where(StixObject.id.in_([bindparam(f"id_{i}") for i in range(shape.ids)]))
    if shape.types:
        stmt = stmt.where(StixObject.type.in_([bindparam(f"type_{i}") for i in range(shape.types)]))
    if shape.spec_versions:
        stmt = stmt.where(
            StixObject.spec_version.in_([bindparam(f"spec_{i}") for i in range(shape.spec_versions)])
        )
    stmt = version_clause(stmt, shape.versions, viewer, bindparam("cid"), member.date_added)
    if shape.added_after:
        stmt = stmt.where(member.date_added > bindparam("added_after"))
    if shape.after:
        stmt = stmt.where(
            tuple_(member.date_added, member.object_seq)
            > tuple_(bindparam("after_added"), bindparam("after_seq"))
        )
    return stmt.order_by(member.date_added, member.object_seq).limit(bindparam("lim", type_=Integer))


class _not_indexed(FunctionElement[Any]):
    """A column SQLite may not look up by index (``+col``, the same value); the plain column elsewhere."""

    inherit_cache = True
    name = "not_indexed"


@compiles(_not_indexed)
def _not_indexed_default(element: _not_indexed, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(_not_indexed, "sqlite")
def _not_indexed_sqlite(element: _not_indexed, compiler: Any, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


def _by_key(collection_id: Any, ids: int) -> Any:
    """The collection term: the index's first column for a walk; kept off it when ids are named.

    SQLite plans without statistics and would walk the whole collection in order rather than
    find a named object by its id index and sort its few rows; PostgreSQL's statistics decide.
    """
    return _not_indexed(collection_id) if ids else collection_id


def read_page(
    db: Session | ReadUnit,
    *,
    actor: Actor,
    collection: Collection | CollectionRef,
    filters: Filters,
    object_id: str | None = None,
    default_version: str = "last",
    viewer: Recipient | None = None,
    envelope_only: bool = False,
) -> Page:
    """One keyset page of a collection as the caller may see it (``visible_clause``), oldest first.

    SQLite and PostgreSQL walk the collection's ``(collection_id, date_added, object_seq)``
    index (or the id index) and stop after ``limit`` rows: a page costs the same at any
    depth and in any collection size.
    ``viewer`` may be passed when the caller already resolved it (``recipient_for_org``).
    ``envelope_only``: the page serves ``Page.envelope`` alone, so its rows skip the columns
    only manifests and version lists read.
    """
    if viewer is None:
        viewer = _recipient(db, actor)
    params: dict[str, Any] = {"cid": collection.id, "lim": filters.limit + 1}
    if object_id is not None and default_version == "last" and filters.unfiltered and not envelope_only:
        # An object by id with no filters, what TAXII clients send most: the one shape, held.
        shape, params["id_0"] = LATEST_BY_ID, object_id
    else:
        # an object by id takes no match[id] nor match[type] (TAXII 2.1 §5.6): both ignored alike
        ids = [object_id] if object_id is not None else filters.ids
        types = filters.types if object_id is None else []
        shape = _Shape(
            ids=len(ids), types=len(types), spec_versions=len(filters.spec_versions),
            versions=tuple(filters.versions or [default_version]), added_after=filters.added_after is not None,
            after=filters.next is not None, envelope_only=envelope_only,
        )  # fmt: skip
        params.update({f"id_{i}": v for i, v in enumerate(ids)})
        params.update({f"type_{i}": v for i, v in enumerate(types)})
        params.update({f"spec_{i}": v for i, v in enumerate(filters.spec_versions)})
        if filters.added_after is not None:
            params["added_after"] = filters.added_after
        if filters.next is not None:
            params["after_added"] = filters.next.date_added
            params["after_seq"] = filters.next.seq
    try:
        query = _page_query(dialect_of(db), viewer, shape)
    except InvalidInput as exc:
        raise BadRequest(exc.message) from None
    return page_of(fetch_raw(db, query, params), filters.limit)


def page_of(rows: list[tuple[Any, ...]], limit: int) -> Page:
    """The page of ``rows`` fetched with ``limit + 1`` (one more row tells that there is more)."""
    more = len(rows) > limit
    if more:
        del rows[limit:]
    nxt = (
        queries.encode_cursor(queries.Cursor(rows[-1][DATE_ADDED], rows[-1][SEQ])) if more and rows else None
    )
    return Page(rows=rows, more=more, next=nxt)


def has_object(
    db: Session | ReadUnit,
    *,
    actor: Actor,
    collection: Collection | CollectionRef,
    object_id: str,
    viewer: Recipient | None = None,
) -> bool:
    """True when a version of the object is in the collection and its latest version is visible.

    Tells "filters excluded every version" (an empty envelope, as the reference server
    answers) from "no such object here" (404); existence is disclosed only to a caller
    who may see the object as it now stands (history is visible as far as the latest is).
    """
    if viewer is None:
        viewer = _recipient(db, actor)
    member, latest = _has_object_queries(dialect_of(db), viewer)
    params = {"cid": collection.id, "oid": object_id}
    return bool(fetch_raw(db, member, params)) and bool(fetch_raw(db, latest, params))


@functools.lru_cache(maxsize=64)
def _has_object_queries(dialect: Dialect, viewer: Recipient) -> tuple[RawQuery, RawQuery]:
    member = (
        select(CollectionObject.object_seq)
        .join(StixObject, StixObject.seq == CollectionObject.object_seq)
        .where(
            _by_key(CollectionObject.collection_id, 1) == bindparam("cid"), StixObject.id == bindparam("oid")
        )
        .limit(1)
    )
    latest = (
        select(StixObject.seq)
        .where(StixObject.id == bindparam("oid"), StixObject.is_latest, visible_clause(viewer))
        .limit(1)
    )
    return compile_raw(member, dialect), compile_raw(latest, dialect)


def _recipient(db: Session | ReadUnit, actor: Actor) -> Recipient:
    if isinstance(db, ReadUnit):
        raise TypeError("a raw read unit needs the viewer resolved by read_access")
    return queries.recipient_for_org(db, actor.org_id)
