"""TAXII 2.1 server verbs: API roots, collections and their rights, reads, writes, status resources.

Reads go through ``colsec.store.queries.list_objects`` (keyset paging on
``(date_added, seq)`` and the ``visible_clause`` sharing policy, per version: an
older version shows only while its latest version is visible too), so every object a
TAXII caller sees, in objects, manifests and version lists, passed the same policy as
everywhere else.  Responses are built
from the stored raw JSON bodies, concatenated as bytes: no per-object JSON round trip.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
from sqlalchemy import Dialect, Integer, Select, bindparam, delete, exists, select, tuple_
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor, Role
from colsec.db import Database, RawQuery, compile_raw, fetch_raw
from colsec.errors import BadRequest, Forbidden, InvalidInput, NotFound
from colsec.stix.ids import canonical_timestamp, now_timestamp
from colsec.stix.tlp import TLP
from colsec.store import audit, queries
from colsec.store.models import Collection, CollectionObject, StixObject
from colsec.store.policy import Recipient, visible_clause
from colsec.store.queries import version_clause
from colsec.store.service import MAX_REPORTED_ERRORS, WriteLimits, import_objects
from colsec.taxii.models import TaxiiApiRoot, TaxiiDiscovery, TaxiiStatus

__all__ = [
    "DEFAULT_ROOT",
    "STATUS_KEEP",
    "ApiRootInfo",
    "CollectionRef",
    "Filters",
    "Page",
    "add_objects",
    "api_root_names",
    "collection_resource",
    "create_collection",
    "create_pending_status",
    "delete_object",
    "discovery",
    "envelope_versions",
    "fail_status",
    "get_api_root",
    "get_collection",
    "get_status",
    "has_object",
    "list_collections",
    "may",
    "parse_rights",
    "read_access",
    "read_page",
    "status_resource",
    "visible_collections",
]

STIX_MEDIA = "application/stix+json;version=2.1"
DEFAULT_ROOT = "root"
# The interoperability test document asks for at least 24 h; a week costs nothing.
STATUS_KEEP = timedelta(days=7)
_ROOT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
NO_WRITE_ROLES = frozenset({Role.VIEWER, Role.REPRESENTATIVE})


# --- rights -------------------------------------------------------------------------------------


def parse_rights(text: str) -> list[str]:
    value = orjson.loads(text or "[]")
    return [str(v) for v in value] if isinstance(value, list) else []


def may(actor: Actor, rights: Sequence[str]) -> bool:
    """True when the rights list names everyone, the caller's organisation or the caller's role."""
    return "*" in rights or (actor.org_short_name or "\0") in rights or actor.role.value in rights


def _can_read(actor: Actor, coll: Collection) -> bool:
    return may(actor, parse_rights(coll.can_read))


def _can_write(actor: Actor, coll: Collection) -> bool:
    return actor.role not in NO_WRITE_ROLES and may(actor, parse_rights(coll.can_write))


# --- API roots and discovery --------------------------------------------------------------------


@dataclass(frozen=True)
class ApiRootInfo:
    name: str
    title: str
    description: str
    max_content_length: int


def api_root_names(db: Session) -> list[str]:
    """Configured roots, roots named by collections, and ``root`` on a node that configured none."""
    names = set(db.execute(select(TaxiiApiRoot.name)).scalars())
    names |= set(db.execute(select(Collection.api_root).distinct()).scalars())
    if not names:
        names.add(DEFAULT_ROOT)
    return sorted(names)


def get_api_root(db: Session, name: str, *, max_body: int) -> ApiRootInfo:
    row = db.get(TaxiiApiRoot, name)
    if row is not None:
        limit = min(row.max_content_length or max_body, max_body)
        return ApiRootInfo(row.name, row.title, row.description, limit)
    if name in api_root_names(db):
        return ApiRootInfo(name, f"colsec API root {name}", "STIX 2.1 collections of this node", max_body)
    raise NotFound(f"API root {name!r} not found")


def discovery(db: Session, *, base_url: str, node_name: str) -> dict[str, Any]:
    row = db.get(TaxiiDiscovery, 1)
    names = api_root_names(db)
    roots = [f"{base_url}taxii2/{n}/" for n in names]
    body: dict[str, Any] = {
        "title": row.title if row else f"colsec node {node_name}",
        "description": row.description if row else "TAXII 2.1 server of a colsec node",
        "api_roots": roots,
    }
    if row and row.contact:
        body["contact"] = row.contact
    default = row.default_root if row and row.default_root in names else None
    if default is None and DEFAULT_ROOT in names:
        default = DEFAULT_ROOT
    if default is not None:
        body["default"] = f"{base_url}taxii2/{default}/"
    return body


# --- collections --------------------------------------------------------------------------------


def create_collection(
    db: Session,
    *,
    actor: Actor,
    title: str,
    api_root: str = DEFAULT_ROOT,
    description: str = "",
    alias: str | None = None,
    can_read: Sequence[str] = ("*",),
    can_write: Sequence[str] = (),
    collection_id: str | None = None,
    media_types: Sequence[str] = (STIX_MEDIA,),
) -> Collection:
    if not title.strip():
        raise InvalidInput("collection title must not be empty")
    if not _ROOT_RE.match(api_root):
        raise InvalidInput(f"invalid API root name {api_root!r}")
    cid = collection_id or str(uuid.uuid4())
    try:
        cid = str(uuid.UUID(cid))
    except ValueError:
        raise InvalidInput(f"collection id {cid!r} is not a UUID") from None
    if db.get(Collection, cid) is not None:
        raise InvalidInput(f"collection {cid} already exists")
    coll = Collection(
        id=cid,
        api_root=api_root,
        alias=alias,
        title=title,
        description=description,
        media_types=orjson.dumps(list(media_types)).decode(),
        can_read=orjson.dumps(list(can_read)).decode(),
        can_write=orjson.dumps(list(can_write)).decode(),
    )
    db.add(coll)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="taxii.collection.create",
        target=cid,
        details={
            "title": title,
            "api_root": api_root,
            "can_read": list(can_read),
            "can_write": list(can_write),
        },
    )
    return coll


def list_collections(db: Session, *, api_root: str | None = None) -> list[Collection]:
    stmt = select(Collection).order_by(Collection.api_root, Collection.created_at, Collection.id)
    if api_root is not None:
        stmt = stmt.where(Collection.api_root == api_root)
    return list(db.execute(stmt).scalars())


def collection_resource(coll: Collection, actor: Actor) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": coll.id,
        "title": coll.title,
        "can_read": _can_read(actor, coll),
        "can_write": _can_write(actor, coll),
        "media_types": orjson.loads(coll.media_types),
    }
    if coll.description:
        body["description"] = coll.description
    if coll.alias:
        body["alias"] = coll.alias
    return body


def visible_collections(db: Session, *, actor: Actor, api_root: str) -> list[Collection]:
    """Collections the caller holds any right on (others are not listed)."""
    return [c for c in list_collections(db, api_root=api_root) if _can_read(actor, c) or _can_write(actor, c)]


def _check_rights(
    actor: Actor, collection_id: str, api_root: str, found: tuple[str, str, str] | None, need: str
) -> None:
    """The rights check of ``get_collection`` and ``read_access``: ``found`` is (api_root, can_read, can_write)."""
    readable = found is not None and may(actor, parse_rights(found[1]))
    writable = found is not None and actor.role not in NO_WRITE_ROLES and may(actor, parse_rights(found[2]))
    if found is None or found[0] != api_root or not (readable or writable):
        raise NotFound(f"collection {collection_id} not found in API root {api_root!r}")
    if need == "read" and not readable:
        raise Forbidden(f"no read access to collection {collection_id}")
    if need == "write" and not writable:
        raise Forbidden(f"no write access to collection {collection_id}")


def get_collection(
    db: Session,
    *,
    actor: Actor,
    api_root: str,
    collection_id: str,
    need: Literal["any", "read", "write"] = "any",
) -> Collection:
    """The collection, or 404 when it does not exist here; 403 when the caller's rights forbid ``need``.

    A collection the caller may neither read nor write answers exactly as a missing one: its
    existence is not disclosed to organisations it is not meant for.
    """
    coll = db.get(Collection, collection_id)
    found = (coll.api_root, coll.can_read, coll.can_write) if coll is not None else None
    _check_rights(actor, collection_id, api_root, found, need)
    assert coll is not None
    return coll


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


def read_access(
    db: Session, *, actor: Actor, api_root: str, collection_id: str
) -> tuple[CollectionRef, Recipient]:
    """``get_collection(need="read")`` and ``recipient_for_org`` in one statement compiled once.

    The hot read paths (every page, every object by id) ask both on every request; the
    checks are ``get_collection``'s own (``_check_rights``), so the answers cannot drift.
    """
    rows = fetch_raw(db, _access_query(db.get_bind().dialect), {"cid": collection_id, "org_id": actor.org_id})
    found = rows[0] if rows else None
    _check_rights(actor, collection_id, api_root, (found[0], found[1], found[2]) if found else None, "read")
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
    db: Session,
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
        viewer = queries.recipient_for_org(db, actor.org_id)
    ids = [object_id] if object_id is not None else filters.ids
    versions = tuple(filters.versions or [default_version])
    shape = _Shape(
        ids=len(ids), types=len(filters.types), spec_versions=len(filters.spec_versions), versions=versions,
        added_after=filters.added_after is not None, after=filters.next is not None,
    )  # fmt: skip
    try:
        query = _page_query(db.get_bind().dialect, viewer, shape)
    except InvalidInput as exc:
        raise BadRequest(exc.message) from None
    params: dict[str, Any] = {"cid": collection.id, "lim": filters.limit + 1}
    params.update({f"id_{i}": v for i, v in enumerate(ids)})
    params.update({f"type_{i}": v for i, v in enumerate(filters.types)})
    params.update({f"spec_{i}": v for i, v in enumerate(filters.spec_versions)})
    if filters.added_after is not None:
        params["added_after"] = filters.added_after
    if filters.next is not None:
        params["after_added"] = filters.next.date_added
        params["after_seq"] = filters.next.seq
    rows = fetch_raw(db, query, params)
    more = len(rows) > filters.limit
    if more:
        del rows[filters.limit :]
    nxt = (
        queries.encode_cursor(queries.Cursor(rows[-1][DATE_ADDED], rows[-1][SEQ])) if more and rows else None
    )
    return Page(rows=rows, more=more, next=nxt)


def has_object(
    db: Session,
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
        viewer = queries.recipient_for_org(db, actor.org_id)
    member = (
        select(CollectionObject.object_seq)
        .join(StixObject, StixObject.seq == CollectionObject.object_seq)
        .where(CollectionObject.collection_id == collection.id, StixObject.id == object_id)
    )
    latest = select(StixObject.seq).where(
        StixObject.id == object_id, StixObject.is_latest, visible_clause(viewer)
    )
    return db.execute(member.limit(1)).first() is not None and db.execute(latest.limit(1)).first() is not None


# --- writes -------------------------------------------------------------------------------------


def envelope_versions(objects: Sequence[Any]) -> list[tuple[str, str]]:
    """(id, version) for each posted item, for status details; '' where the item has none."""
    out = []
    for obj in objects:
        if isinstance(obj, Mapping):
            oid = obj.get("id")
            ver = obj.get("modified") or obj.get("created") or ""
            out.append((oid if isinstance(oid, str) else "", ver if isinstance(ver, str) else ""))
        else:
            out.append(("", ""))
    return out


def _prune_statuses(db: Session) -> None:
    db.execute(delete(TaxiiStatus).where(TaxiiStatus.created_at < datetime.now(UTC) - STATUS_KEEP))


def create_pending_status(db: Session, *, actor: Actor, api_root: str, objects: Sequence[Any]) -> TaxiiStatus:
    """A status row in state pending, listing every posted object as pending."""
    _prune_statuses(db)
    pendings = [{"id": i, "version": v} for i, v in envelope_versions(objects)]
    row = TaxiiStatus(
        id=str(uuid.uuid4()),
        api_root=api_root,
        status="pending",
        request_timestamp=now_timestamp(),
        total_count=len(objects),
        pending_count=len(objects),
        pendings=orjson.dumps(pendings).decode(),
        organisation_id=actor.org_id,
    )
    db.add(row)
    db.flush()
    return row


def add_objects(
    database: Database,
    *,
    actor: Actor,
    collection_id: str,
    status_id: str,
    objects: Sequence[Any],
    default_tlp: TLP,
    limits: WriteLimits | None = None,
) -> None:
    """Store the valid objects of an envelope in the collection and complete its status resource.

    Runs in a worker thread with its own transaction; valid objects are kept when others
    fail (TAXII reports success and failure per object).
    """
    with database.unit_of_work() as db:
        items = [o if isinstance(o, Mapping) else {"_not_an_object": True} for o in objects]

        def run(chunk: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
            return import_objects(
                db, actor=actor, objects=chunk, collection_ids=[collection_id], default_tlp=default_tlp,
                keep_going=True, limits=limits,
            ).errors  # fmt: skip

        savepoint = db.begin_nested()
        errors = run(items)
        if len(errors) >= MAX_REPORTED_ERRORS:
            # The store reports a bounded number of errors; redo in chunks so every failure is named.
            savepoint.rollback()
            step = MAX_REPORTED_ERRORS // 2
            errors = [e for i in range(0, len(items), step) for e in run(items[i : i + step])]
        else:
            savepoint.commit()
        failed_ids: dict[str, str] = {}
        for err in errors:
            failed_ids.setdefault(err.get("id", ""), err.get("message", "invalid object"))
        successes: list[dict[str, str]] = []
        failures: list[dict[str, str]] = []
        for oid, ver in envelope_versions(objects):
            if oid and oid not in failed_ids:
                successes.append({"id": oid, "version": ver})
            else:
                message = failed_ids.get(oid) or "not a valid STIX object"
                failures.append({"id": oid, "version": ver, "message": message})
        row = db.get(TaxiiStatus, status_id)
        if row is None:  # pruned or never created: nothing to report into
            return
        row.status = "complete"
        row.success_count = len(successes)
        row.failure_count = len(failures)
        row.pending_count = 0
        row.successes = orjson.dumps(successes).decode()
        row.failures = orjson.dumps(failures).decode()
        row.pendings = "[]"
        audit.record(
            db,
            actor=actor,
            action="taxii.add_objects",
            target=collection_id,
            details={"status": status_id, "successes": len(successes), "failures": len(failures)},
        )


def fail_status(database: Database, *, status_id: str, objects: Sequence[Any]) -> None:
    """Complete a status whose processing crashed: nothing was stored, every object failed."""
    failures = [
        {"id": i, "version": v, "message": "the server could not process this envelope"}
        for i, v in envelope_versions(objects)
    ]
    with database.unit_of_work() as db:
        row = db.get(TaxiiStatus, status_id)
        if row is not None:
            row.status = "complete"
            row.success_count = 0
            row.failure_count = len(failures)
            row.pending_count = 0
            row.failures = orjson.dumps(failures).decode()
            row.pendings = "[]"


def get_status(db: Session, *, actor: Actor, api_root: str, status_id: str) -> TaxiiStatus:
    row = db.get(TaxiiStatus, status_id)
    if row is None or row.api_root != api_root:
        raise NotFound(f"status {status_id} not found")
    if not actor.is_operator and row.organisation_id != actor.org_id:
        raise NotFound(f"status {status_id} not found")  # another organisation's upload is not disclosed
    return row


def status_resource(row: TaxiiStatus) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id,
        "status": row.status,
        "request_timestamp": row.request_timestamp,
        "total_count": row.total_count,
        "success_count": row.success_count,
        "failure_count": row.failure_count,
        "pending_count": row.pending_count,
    }
    for name in ("successes", "failures", "pendings"):
        items = orjson.loads(getattr(row, name))
        if items:
            body[name] = items
    return body


def delete_object(
    db: Session, *, actor: Actor, collection: Collection, object_id: str, filters: Filters
) -> int:
    """Remove the matching versions from the collection (the store keeps them); only their owner may."""
    viewer = queries.recipient_for_org(db, actor.org_id)
    try:
        page = queries.list_objects(
            db,
            viewer=viewer,
            collection_id=collection.id,
            ids=[object_id],
            versions=filters.versions or ["all"],
            spec_versions=filters.spec_versions,
            limit=100_000,
        )
    except InvalidInput as exc:
        raise BadRequest(exc.message) from None
    if not page.rows:
        raise NotFound(f"object {object_id} not found in collection {collection.id}")
    if not actor.is_operator and any(r.owner_org_id != actor.org_id for r in page.rows):
        raise Forbidden(f"{object_id}: only the owning organisation may delete it from a collection")
    seqs = [r.seq for r in page.rows]
    db.execute(
        delete(CollectionObject).where(
            CollectionObject.collection_id == collection.id, CollectionObject.object_seq.in_(seqs)
        )
    )
    audit.record(
        db, actor=actor, action="taxii.delete_object", target=object_id,
        details={"collection": collection.id, "versions": len(seqs)},
    )  # fmt: skip
    return len(seqs)
