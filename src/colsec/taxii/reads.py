"""TAXII reads: the access check, query parameters, keyset pages and their envelopes.

Pages run on ``(date_added, seq)`` keyset with the ``visible_clause`` sharing policy, per
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
from typing import Any

import orjson
from sqlalchemy import Dialect, Integer, Select, bindparam, exists, select, tuple_
from sqlalchemy.orm import Session

from colsec.accounts.authn import TOKEN_CALLER_COLUMNS, actor_of_token_row, token_caller_select
from colsec.accounts.models import Organisation
from colsec.accounts.passwords import hash_token
from colsec.accounts.roles import Actor
from colsec.db import RawQuery, ReadUnit, compile_raw, dialect_of, fetch_raw
from colsec.errors import BadRequest, InvalidInput
from colsec.stix.ids import canonical_timestamp
from colsec.store import queries
from colsec.store.models import Collection, CollectionObject, StixObject
from colsec.store.policy import Recipient, visible_clause
from colsec.store.queries import version_clause
from colsec.taxii.rights import check_rights

__all__ = [
    "AccessRow",
    "CollectionRef",
    "Filters",
    "Page",
    "caller_access",
    "has_object",
    "read_access",
    "read_page",
]


@dataclass(frozen=True, slots=True)
class CollectionRef:
    """A collection a read may page through: its id is all ``read_page`` and ``has_object`` need."""

    id: str


@functools.lru_cache(maxsize=8)
def _access_query(dialect: Dialect) -> RawQuery:
    kind = select(Organisation.kind).where(Organisation.id == bindparam("org_id")).scalar_subquery()
    stmt = select(Collection.api_root, Collection.can_read, Collection.can_write, kind).where(
        Collection.id == bindparam("cid")
    )
    return compile_raw(stmt, dialect)


@functools.lru_cache(maxsize=8)
def _caller_access_query(dialect: Dialect) -> RawQuery:
    """The token's caller (``token_caller_select``) and ``_access_query``'s row, in one statement.

    The collection joins on its key alone (at most one row), its columns NULL when there is
    no such collection; the organisation is the caller's own, as ``read_access`` binds it.
    """
    stmt = (
        token_caller_select()
        .add_columns(Collection.api_root, Collection.can_read, Collection.can_write, Organisation.kind)
        .outerjoin(Collection, Collection.id == bindparam("cid"))
    )
    return compile_raw(stmt, dialect)


AccessRow = tuple[Any, Any, Any, Any]  # api_root, can_read, can_write, the caller's organisation kind


def caller_access(
    unit: ReadUnit, *, token: str, username: str | None, collection_id: str
) -> tuple[Actor, AccessRow | None] | None:
    """The caller of a valid token (as ``actor_for_valid_token``) and the collection's access row, or None.

    A TAXII read by a token caller learns both in one round trip; the rights themselves are
    checked by ``read_access``, after the query parameters, in the order of every TAXII route.
    """
    query = _caller_access_query(unit.dialect)
    rows = fetch_raw(unit, query, {"token_hash": hash_token(token), "cid": collection_id})
    actor = actor_of_token_row(rows[0], username) if rows else None
    if actor is None:
        return None
    access = rows[0][TOKEN_CALLER_COLUMNS:]
    return actor, (access[0], access[1], access[2], access[3]) if access[0] is not None else None


_UNREAD: Any = object()


def read_access(
    db: Session | ReadUnit,
    *,
    actor: Actor,
    api_root: str,
    collection_id: str,
    found: AccessRow | None = _UNREAD,
) -> tuple[CollectionRef, Recipient]:
    """``get_collection(need="read")`` and ``recipient_for_org`` in one statement compiled once.

    The hot read paths (every page, every object by id) ask both on every request; the
    checks are ``get_collection``'s own (``rights.check_rights``), so the answers cannot drift.
    ``found``: the access row as ``caller_access`` already read it (None: no such collection).
    """
    if found is _UNREAD:
        rows = fetch_raw(db, _access_query(dialect_of(db)), {"cid": collection_id, "org_id": actor.org_id})
        found = rows[0] if rows else None
    check_rights(actor, collection_id, api_root, (found[0], found[1], found[2]) if found else None, "read")
    assert found is not None
    if actor.org_id is None:
        viewer = Recipient(org_id=None, alliance_member=False)
    else:
        viewer = Recipient(org_id=actor.org_id, alliance_member=found[3] != "external")
    return CollectionRef(collection_id), viewer


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
                    raise BadRequest(f"added_after is not an RFC 3339 timestamp: {value!r}") from None
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


# Only what a TAXII response needs, as driver tuples in this order: no ORM entities, no Row objects.
_PAGE_COLUMNS = (
    StixObject.seq, StixObject.id, StixObject.date_added, StixObject.modified, StixObject.created,
    StixObject.spec_version, StixObject.body,
)  # fmt: skip
SEQ, ID, DATE_ADDED, MODIFIED, CREATED, SPEC_VERSION, BODY = range(len(_PAGE_COLUMNS))


@dataclass
class Page:
    rows: Sequence[tuple[Any, ...]]  # tuples of _PAGE_COLUMNS (indexes SEQ ... BODY)
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


_LATEST_BY_ID = _Shape(ids=1, types=0, spec_versions=0, versions=("last",), added_after=False, after=False)


@functools.lru_cache(maxsize=256)
def _page_query(dialect: Dialect, viewer: Recipient, shape: _Shape) -> RawQuery:
    """The page statement for one viewer and shape, built and compiled once (``visible_clause`` included).

    Keyed by the viewer itself (organisation and alliance membership), whose values the
    policy clause binds at build time; everything a request varies is a named parameter.
    """
    member = exists().where(
        CollectionObject.collection_id == bindparam("cid"), CollectionObject.object_seq == StixObject.seq
    )
    stmt: Select[Any] = select(*_PAGE_COLUMNS).where(member, visible_clause(viewer))  # type: ignore[assignment]
    if shape.ids:
        stmt = stmt.where(StixObject.id.in_([bindparam(f"id_{i}") for i in range(shape.ids)]))
    if shape.types:
        stmt = stmt.where(StixObject.type.in_([bindparam(f"type_{i}") for i in range(shape.types)]))
    if shape.spec_versions:
        stmt = stmt.where(
            StixObject.spec_version.in_([bindparam(f"spec_{i}") for i in range(shape.spec_versions)])
        )
    stmt = version_clause(stmt, shape.versions, viewer)
    if shape.added_after:
        stmt = stmt.where(StixObject.date_added > bindparam("added_after"))
    if shape.after:
        stmt = stmt.where(
            tuple_(StixObject.date_added, StixObject.seq)
            > tuple_(bindparam("after_added"), bindparam("after_seq"))
        )
    stmt = stmt.order_by(StixObject.date_added, StixObject.seq).limit(bindparam("lim", type_=Integer))
    return compile_raw(stmt, dialect)


def read_page(
    db: Session | ReadUnit,
    *,
    actor: Actor,
    collection: Collection | CollectionRef,
    filters: Filters,
    object_id: str | None = None,
    default_version: str = "last",
    viewer: Recipient | None = None,
) -> Page:
    """One keyset page of a collection as the caller may see it (``visible_clause``), oldest first.

    Membership is a correlated EXISTS on the (collection_id, object_seq) key, so SQLite and
    PostgreSQL walk the ``(date_added, seq)`` index (or the id index) and stop after
    ``limit`` rows: a page costs the same at any depth and in any collection size.
    ``viewer`` may be passed when the caller already resolved it (``recipient_for_org``).
    """
    if viewer is None:
        viewer = _recipient(db, actor)
    params: dict[str, Any] = {"cid": collection.id, "lim": filters.limit + 1}
    if object_id is not None and default_version == "last" and filters.unfiltered:
        # An object by id with no filters, what TAXII clients send most: the one shape, held.
        shape, params["id_0"] = _LATEST_BY_ID, object_id
    else:
        ids = [object_id] if object_id is not None else filters.ids
        shape = _Shape(
            ids=len(ids), types=len(filters.types), spec_versions=len(filters.spec_versions),
            versions=tuple(filters.versions or [default_version]), added_after=filters.added_after is not None,
            after=filters.next is not None,
        )  # fmt: skip
        params.update({f"id_{i}": v for i, v in enumerate(ids)})
        params.update({f"type_{i}": v for i, v in enumerate(filters.types)})
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
    rows = fetch_raw(db, query, params)
    more = len(rows) > filters.limit
    if more:
        del rows[filters.limit :]
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
        .where(CollectionObject.collection_id == bindparam("cid"), StixObject.id == bindparam("oid"))
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
