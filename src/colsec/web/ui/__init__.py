"""The server-rendered web UI (Jinja2 + htmx, Russian and English).

``install(app)`` wires it into the FastAPI app: the session cookie codec and the
``session_user`` hook that ``colsec.web.deps`` consults, the static files, the
page routers, and HTML error pages for UI paths (API and TAXII paths keep JSON).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from colsec.errors import ColsecError
from colsec.settings import Settings
from colsec.web.i18n import WEB_DIR

__all__ = ["install", "is_ui_path"]

_NOT_UI = ("/api/", "/taxii2", "/healthz", "/static/")


def is_ui_path(path: str) -> bool:
    return not path.startswith(_NOT_UI)


def install(app: FastAPI) -> None:
    from colsec.web.sessions import SessionCodec, session_user
    from colsec.web.ui import (
        admin,
        alerts,
        assistance,
        auth,
        collections,
        crisis,
        dashboard,
        exposure,
        federation,
        imports,
        intel,
        profile,
        public,
        replay,
        report_schedules,
    )
    from colsec.web.ui import exercises as exercises_ui
    from colsec.web.ui import groups as groups_ui
    from colsec.web.ui import outbox as outbox_ui
    from colsec.web.ui import reports as reports_ui
    from colsec.web.ui.forms import explain, explain_document, form_problems
    from colsec.web.ui.refusals import explain_refusal
    from colsec.web.ui.render import LoginRequired, came_from, gettext_for, language_of, page

    settings: Settings = app.state.settings
    app.state.session_codec = SessionCodec(
        settings.ensure_secret_key(), max_age=settings.session_max_age_seconds
    )
    app.state.session_user = session_user
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    for module in (
        auth,
        dashboard,
        intel,
        alerts,
        exposure,
        imports,
        admin,
        outbox_ui,
        federation,
        collections,
        profile,
        crisis,
        assistance,
        groups_ui,
        report_schedules,  # before reports_ui: /reports/{bulletin_id} would take /reports/schedules
        reports_ui,
        public,
        exercises_ui,
        replay,
    ):
        app.include_router(module.router)

    api_error_handler: Any = app.exception_handlers.get(ColsecError)

    async def login_required(request: Request, exc: Exception) -> Response:
        if request.headers.get("hx-request") == "true":
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    def _reader(request: Request) -> Any:
        from colsec.web.deps import get_optional_actor

        try:
            return getattr(request.state, "actor", None) or get_optional_actor(request)
        except ColsecError:
            return None

    def error_page(
        request: Request,
        status: int,
        code: str,
        detail: str,
        details: Any,
        kind: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Response:
        """The UI's error page in the reader's language: a service's refusal by its kind
        (``refusals``), a refused form's problems each by the field's label on the form, with
        the way back to the form."""
        actor = _reader(request)
        lang = language_of(request, actor)
        gettext = gettext_for(lang)
        # a form's own page, when the route set one; else the page a refused post came from
        back = getattr(request.state, "error_back", None) or (
            came_from(request) if request.method != "GET" else None
        )
        ctx = {"status": status, "code": code, "detail": detail, "details": details, "back": back,
               "refusal": explain_refusal(kind, params or {}, gettext, lang),
               "problems": explain(details, gettext),
               "document_problems": explain_document(details, gettext, lang)}  # fmt: skip
        return page(request, "ui/error.html", ctx, actor=actor, status=status, lang=lang)

    async def colsec_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ColsecError)
        if not is_ui_path(request.url.path) and api_error_handler is not None:
            return await api_error_handler(request, exc)  # type: ignore[no-any-return]
        return error_page(request, exc.status, exc.code, exc.message, exc.details, exc.kind, exc.params)

    validation_error_handler: Any = app.exception_handlers.get(RequestValidationError)

    async def validation_error(request: Request, exc: Exception) -> Response:
        """A page's parameters (an id beyond range, a query a link garbled): the error page, not the
        API's JSON; API and TAXII paths keep the app's own answer."""
        assert isinstance(exc, RequestValidationError)
        if not is_ui_path(request.url.path) and validation_error_handler is not None:
            return await validation_error_handler(request, exc)  # type: ignore[no-any-return]
        problems = form_problems(exc.errors())
        detail = "; ".join(f"{p['field']}: {p['msg']}" for p in problems[:5]) or "invalid request"
        return error_page(request, 422, "invalid_input", detail, {"problems": problems})

    http_error_handler: Any = app.exception_handlers.get(StarletteHTTPException)

    async def http_error(request: Request, exc: Exception) -> Response:
        """Unknown pages get the UI's error page when a browser asks for HTML."""
        assert isinstance(exc, StarletteHTTPException)
        wants_html = "text/html" in request.headers.get("accept", "")
        if http_error_handler is not None and not (is_ui_path(request.url.path) and wants_html):
            return await http_error_handler(request, exc)  # type: ignore[no-any-return]
        return page(request, "ui/error.html", {"status": exc.status_code, "code": "http_error",
                    "detail": str(exc.detail)}, status=exc.status_code)  # fmt: skip

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(ColsecError, colsec_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
