"""Request dependencies: the unit of work and the authenticated caller.

The session dependency owns the transaction: commit when the route returns,
roll back on any error.  GET/HEAD use a read session, so on SQLite they never
queue behind writers.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractContextManager
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from colsec.accounts import service as accounts
from colsec.accounts.authn import TOKEN_FAILED
from colsec.accounts.models import User
from colsec.accounts.roles import Actor, Role
from colsec.accounts.throttle import Throttle, count_request
from colsec.db import Database, ReadUnit
from colsec.errors import ColsecError, Forbidden, Unauthorized
from colsec.settings import Settings

__all__ = [
    "ActorDep",
    "DbDep",
    "OptionalActorDep",
    "ReaderDep",
    "caller_in",
    "client_address",
    "get_actor",
    "get_db",
    "get_optional_actor",
    "get_settings",
    "header_of",
    "login_throttle",
    "read_units",
    "require_operator",
    "require_role",
    "run_raw_read",
    "run_read",
]

T = TypeVar("T")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


# Writers admitted at once, well under the threadpool's 40 threads.  A sync route's session is
# opened, used and committed in three separate threadpool hops; if every thread were taken by
# writers waiting for the write lock (SQLite) or a row lock (PostgreSQL), the one holding it could
# never get a thread to commit, and all would wait out their timeouts.  Waiting for a slot happens
# on the event loop and holds no thread.
WRITE_SLOTS = 16


def new_write_slots() -> weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]:
    """The app's admission state (``app.state.write_slots``): one semaphore per event loop."""
    return weakref.WeakKeyDictionary()


async def write_admission(request: Request) -> AsyncIterator[None]:
    """Hold one of ``WRITE_SLOTS`` for a writing request's whole transaction (reads pass freely)."""
    if request.method in SAFE_METHODS:
        yield
        return
    loop = asyncio.get_running_loop()  # a semaphore belongs to one loop (each test client has its own)
    by_loop = request.app.state.write_slots
    slots = by_loop.get(loop)
    if slots is None:
        slots = by_loop[loop] = asyncio.Semaphore(WRITE_SLOTS)
    async with slots:
        yield


def get_db(
    request: Request, _slot: Annotated[None, Depends(write_admission, scope="function")] = None
) -> Iterator[Session]:
    database = get_database(request)
    session = database.session(write=request.method not in SAFE_METHODS)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_reader(request: Request) -> Iterator[Session]:
    """A read-only session beside the request's own, closed after: work that must not hold the
    write lock (a login's password hash) reads here before the request's session begins."""
    session = get_database(request).session(write=False)
    try:
        yield session
    finally:
        session.close()


def header_of(request: Request, name: bytes) -> str | None:
    """The first ``name`` header (lower-case bytes, as ASGI servers give names), read off the scope:
    no ``Headers`` mapping is built for the one or two headers a hot read looks at."""
    for key, value in request.scope["headers"]:
        if key == name:
            return value.decode("latin-1")  # type: ignore[no-any-return]
    return None


def _credentials(request: Request) -> tuple[str | None, str] | None:
    header = header_of(request, b"authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and value.strip():
        return None, value.strip()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("malformed Basic credentials") from None
        user, sep, secret = decoded.partition(":")
        if not sep or not user:
            raise Unauthorized("malformed Basic credentials")
        return user, secret
    raise Unauthorized(f"unsupported authorization scheme {scheme!r}")


def login_throttle(settings: Settings) -> Throttle:
    return Throttle(
        free=settings.login_max_failures,
        base_seconds=settings.login_backoff_base_seconds,
        cap_seconds=settings.login_lockout_seconds,
    )


def client_address(request: Request) -> str | None:
    """The peer address of the connection: the throttle key's source."""
    return request.client.host if request.client else None


def counted_request(
    request: Request, *, key: str, limit: int, then: Callable[[Session], T]
) -> tuple[bool, T | None]:
    """Count the request against ``limit`` per client address and minute, for all workers.

    The count is a row of the login throttle's table, in a unit of its own that commits even
    when the request is refused (a refused client is still counted); ``then`` runs in that
    unit only when the request is allowed, so a cheap read can share its one transaction.
    """
    with get_database(request).unit_of_work() as s:
        allowed = count_request(s, key=key, source=client_address(request), limit=limit)
        return allowed, (then(s) if allowed else None)


def _authenticate(request: Request) -> Actor | None:
    """Resolve the caller in units of its own: the route's session is not open yet."""
    creds = _credentials(request)
    settings = get_settings(request)
    database = get_database(request)
    if creds is None:
        resolver: Callable[[Request, Session], User | None] | None = getattr(
            request.app.state, "session_user", None
        )
        if resolver is None:
            return None
        with database.unit_of_work(write=False) as s:
            user = resolver(request, s)
            return accounts.actor_for(s, user) if user is not None else None
    username, token = creds
    with database.unit_of_work(write=False) as s:
        fast = accounts.actor_for_valid_token(s, token=token, username=username)
        if fast is not None:
            return fast
    if username is None:  # a bare bearer token names nobody to throttle: nothing to count
        raise Unauthorized(TOKEN_FAILED)
    # A failure is counted in a unit that commits although the request then fails.
    refused: ColsecError | None = None
    with database.unit_of_work() as s:
        try:
            user = accounts.authenticate_token(
                s,
                token=token,
                username=username,
                source=client_address(request),
                policy=login_throttle(settings),
            )
            return accounts.actor_for(s, user)
        except ColsecError as exc:
            refused = exc
    raise refused


def caller_in(request: Request, db: Session) -> Actor | None:
    """The caller, resolved in the route's own read session when that needs no write; else None.

    A valid token (or a signed-in browser session) resolves here with no unit of its own,
    so a hot read path runs auth and its query in one transaction and one thread hop.
    None means "take :func:`get_actor`": it answers 401 and counts the failure, exactly as
    any other route does.  Nothing is cached across requests: a revoked token fails at once.
    """
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    creds = _credentials(request)
    if creds is None:
        resolver: Callable[[Request, Session], User | None] | None = getattr(
            request.app.state, "session_user", None
        )
        user = resolver(request, db) if resolver is not None else None
        actor = accounts.actor_for(db, user) if user is not None else None
    else:
        actor = accounts.actor_for_valid_token(db, token=creds[1], username=creds[0])
    if actor is not None:
        request.state.actor = actor
    return actor


def get_optional_actor(request: Request) -> Actor | None:
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    actor = _authenticate(request)
    if actor is None:
        return None
    request.state.actor = actor
    return actor


def get_actor(request: Request) -> Actor:
    actor = get_optional_actor(request)
    if actor is None:
        raise Unauthorized("authentication required")
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]
OptionalActorDep = Annotated[Actor | None, Depends(get_optional_actor)]
# scope="function": the transaction commits before the response is sent, so a client that
# reads right after a successful write always sees it.
DbDep = Annotated[Session, Depends(get_db, scope="function")]
ReaderDep = Annotated[Session, Depends(get_reader, scope="function")]


def run_read(request: Request, work: Callable[[Session, Actor], T]) -> Awaitable[T]:
    """Run a read in one worker-thread hop: the caller, the checks and the query share one read transaction.

    A dependency per concern (session, caller) would cost a thread hop and a transaction
    each; a TAXII client pays that on every page and every object.  The caller resolves
    in the same session (``caller_in``); anything else (no or bad credentials) takes
    ``get_actor``, which answers and counts exactly as every other route.
    """
    return run_in_threadpool(_read_in_session, request, work)


TokenCaller = Callable[[ReadUnit, str, str | None], Actor | None]


def _token_caller(unit: ReadUnit, token: str, username: str | None) -> Actor | None:
    return accounts.actor_for_valid_token(unit, token=token, username=username)


def run_raw_read(
    request: Request,
    work: Callable[[Session | ReadUnit, Actor], T],
    *,
    caller: TokenCaller = _token_caller,
    small: bool = False,
) -> Awaitable[T]:
    """``run_read`` for reads written as raw statements: a token caller's read runs in a :class:`ReadUnit`.

    The token is checked by one query (``caller``: ``actor_for_valid_token``'s, or one that
    also reads what the route needs next; nothing is cached: a revoked token fails on its
    next request), in the unit that then serves the read.  A browser session, a missing or
    a failed token takes ``run_read``'s path unchanged.  One worker-thread hop either way:
    measured on SQLite, the read on the event loop spent less CPU but answered a single
    client more slowly than the hop.

    ``small``: a read answered faster on the event loop than through the hop (an object by id,
    a TAXII objects page).  On SQLite its token caller's unit runs on the event loop: a hop to
    a worker thread and back cost it more than its statements, and under concurrent clients
    queued the loop behind the reading thread for the GIL (``bench/taxii.py``).  The other paths (a session, a password, a failed
    token: hashing, counting) still take the thread.
    """
    database = get_database(request)

    def in_unit(unit: ReadUnit, creds: tuple[str | None, str]) -> tuple[T] | None:
        actor = caller(unit, creds[1], creds[0])
        if actor is None:
            return None
        request.state.actor = actor
        return (work(unit, actor),)

    def run() -> T:
        creds = _credentials(request)
        if creds is not None:
            done = database.raw_read(lambda unit: in_unit(unit, creds))
            if done is not None:
                return done[0]
        return _read_in_session(request, work)

    if small and database.sqlite:
        return _inline(request, database, in_unit, work)
    return run_in_threadpool(run)


async def _inline(
    request: Request,
    database: Database,
    in_unit: Callable[[ReadUnit, tuple[str | None, str]], tuple[T] | None],
    work: Callable[[Session, Actor], T],
) -> T:
    creds = _credentials(request)
    if creds is not None:
        done = database.raw_read(lambda unit: in_unit(unit, creds), small=True)
        if done is not None:
            return done[0]
    return await run_in_threadpool(_read_in_session, request, work)


def _read_in_session(request: Request, work: Callable[[Session, Actor], T]) -> T:
    database = get_database(request)
    with database.unit_of_work(write=False) as db:
        actor = caller_in(request, db)
        if actor is not None:
            return work(db, actor)
    actor = get_actor(request)  # raises 401 (a failed token is counted in its own unit)
    with database.unit_of_work(write=False) as db:
        return work(db, actor)


def read_units(request: Request) -> Callable[[], AbstractContextManager[Session]]:
    """Read-only units for a streaming body, which outlives the request's session: one per chunk."""
    database = get_database(request)
    return lambda: database.unit_of_work(write=False)


def require_role(*roles: Role) -> Callable[[Actor], Actor]:
    """Dependency factory: the caller must hold one of ``roles`` (admin always passes)."""

    def check(actor: ActorDep) -> Actor:
        if actor.role != Role.ADMIN and actor.role not in roles:
            raise Forbidden(f"role '{actor.role}' may not do this; needs one of: {', '.join(roles)}")
        return actor

    return check


def require_operator(actor: ActorDep) -> Actor:
    """Dependency: the node operator only (an organisation admin manages its own organisation)."""
    if not actor.is_operator:
        raise Forbidden("only the node operator may do this")
    return actor
