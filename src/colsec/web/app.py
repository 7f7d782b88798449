"""FastAPI application factory: wiring only (routers, middleware, error rendering)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from colsec import __version__
from colsec.db import Database
from colsec.errors import ColsecError
from colsec.migrations import upgrade
from colsec.node import Node, build_node
from colsec.settings import Settings
from colsec.web.deps import new_write_slots
from colsec.web.errors import colsec_error_response, error_response
from colsec.web.middleware import BodySizeLimit, HotRoutes, JsonDepthLimit, SecurityHeaders

__all__ = ["app_from_env", "create_app"]

_HEAP_COLLECTED: list[bool] = []  # a full collection ran before a freeze in this process


def _freeze_startup_heap() -> None:
    """The startup heap (modules, routes, schemas) lives as long as the process; frozen, it is no
    longer rescanned by every full collection, which otherwise adds 50-100 ms pauses.

    The full collection that keeps garbage out of the frozen heap runs at the process's first start
    only. A process that starts app after app (the test suite: hundreds) would otherwise rescan its
    whole heap each time, a quarter of a CPU second; what it froze comes back at each shutdown
    (``gc.unfreeze``), garbage included, to the next ordinary collection."""
    if not _HEAP_COLLECTED:
        gc.collect()
        _HEAP_COLLECTED.append(True)
    gc.freeze()


def _embedded_runner(node: Node) -> Any:
    """The node's own job worker (one thread); an app around an injected database drains jobs itself."""
    runner = node.job_runner()
    runner.start()
    return runner


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    migrate: bool = True,
    node: Node | None = None,
) -> FastAPI:
    """The ASGI app of one node; ``node`` (else one built from ``settings``) holds all its wiring."""
    from colsec.web.ui.reports import mail_text

    node = node or build_node(settings or Settings(), database=database, report_mailer=mail_text)
    settings = node.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = node.database
        if node.owns_database and migrate:
            upgrade(db.engine)
        for hook in getattr(app.state, "startup_hooks", []):
            await hook(app)
        runner = _embedded_runner(node) if node.owns_database and settings.jobs_embedded else None
        app.state.job_runner = runner
        _freeze_startup_heap()
        try:
            yield
        finally:
            gc.unfreeze()  # an embedding process (tests, a supervisor) gets its heap back
            if runner is not None:
                await run_in_threadpool(runner.stop)
            for hook in getattr(app.state, "shutdown_hooks", []):
                await hook(app)
            node.close()  # anchors the audit head at shutdown, after the last request

    app = FastAPI(
        # No OpenTelemetry provider is configured by a node; FastAPI's native telemetry would
        # still ask the global providers on every request whether it is enabled.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        title="colsec",
        version=__version__,
        description="Collective cyber security and crisis response node: STIX 2.1 store, TAXII 2.1, "
        "federation, matching, correlation, crisis response.",
        docs_url=None,  # served by web/api/system.py from the vendored Swagger UI (no CDN, strict CSP)
        openapi_url="/api/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.node = node
    app.state.settings = settings
    app.state.write_slots = new_write_slots()  # admission of writing requests (web.deps)
    app.state.database = node.database
    app.state.startup_hooks = []
    app.state.shutdown_hooks = []

    @app.exception_handler(ColsecError)
    async def _colsec_error(request: Request, exc: ColsecError) -> JSONResponse:
        return colsec_error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", "")} for e in exc.errors()
        ]
        msg = "; ".join(f"{'.'.join(p['loc'])}: {p['msg']}" for p in problems[:5])
        return error_response(request, 422, "invalid_input", msg or "invalid request", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, ColsecError):  # FastAPI wraps errors raised while reading a body
            return colsec_error_response(request, exc.__cause__)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(request, exc.status_code, code, exc.detail, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return error_response(request, 500, "internal_error", "internal server error")

    from colsec.taxii.legacy import LegacyRootPaths
    from colsec.web.api import accounts, collections, federation, imports, jobs, objects, system, taxii_reads
    from colsec.web.api.taxii import router as taxii_router

    # TAXII first: its clients send the most requests, and routes are matched in order.  Its two
    # hottest reads are plain Starlette routes, matched first of all (before FastAPI's own
    # OpenAPI route too): an object by id matches on the first try, a page on the second.
    for route in taxii_reads.routes:
        app.router.add_route(
            route.path, route.endpoint, methods=["GET"], name=route.name, include_in_schema=False
        )
    hot = app.router.routes[-len(taxii_reads.routes) :]
    app.router.routes[:] = hot + app.router.routes[: -len(hot)]
    app.include_router(taxii_router)
    generated = app.openapi

    def openapi() -> dict[str, Any]:  # the plain routes' operations, documented beside the generated ones
        if app.openapi_schema is None:
            app.openapi_schema = taxii_reads.document(generated())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.include_router(system.router)
    app.include_router(accounts.router)
    app.include_router(objects.router)
    app.include_router(imports.router)
    app.include_router(jobs.router)
    app.include_router(collections.router)
    from colsec.web.api import intel as intel_api

    app.include_router(intel_api.router)
    from colsec.web.api import crisis as crisis_api

    crisis_api.install(app)
    from colsec.web.api import match as match_api

    app.include_router(match_api.router)
    from colsec.web.api import users as users_api

    app.include_router(users_api.router)
    from colsec.web.api import outbox as outbox_api

    app.include_router(outbox_api.router)
    app.include_router(outbox_api.webhooks_router)
    from colsec.web.api import groups as groups_api

    app.include_router(groups_api.router)
    from colsec.web.api import reports as reports_api

    app.include_router(reports_api.router)
    from colsec.web.api import exercises as exercises_api

    app.include_router(exercises_api.router)
    from colsec.web import ui

    ui.install(app)  # pages, session-cookie login, static files
    federation.install(app)

    # Innermost: a GET of a hot TAXII read skips the framework's exception layer and router (the
    # route renders its own errors as those handlers would); every layer below applies as before.
    app.add_middleware(HotRoutes, routes=hot)
    app.add_middleware(LegacyRootPaths)
    # A string of N characters is at most 6N bytes of JSON (\uXXXX escapes): nothing the write
    # gate would accept is refused, and a huge string is refused before the body is held.
    app.add_middleware(
        JsonDepthLimit, max_depth=settings.max_json_depth, max_string_bytes=6 * settings.max_string_length
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)  # outermost: the caps' own refusals are hardened too
    return app


def app_from_env() -> FastAPI:
    """The uvicorn factory of ``colsec serve``: each worker process builds its node from COLSEC_*."""
    return create_app(Settings())
