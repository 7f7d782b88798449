"""Page rendering and the UI's request dependencies (who is logged in, CSRF on forms).

UI routes never read the Authorization header themselves: they use the same
``colsec.web.deps`` resolution as the API, whose ``session_user`` hook reads the
signed session cookie.  Form posts check the CSRF field before the session counts.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from functools import cache
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment
from markupsafe import Markup, escape
from sqlalchemy.orm import Session as DbSession
from starlette.datastructures import FormData

from colsec.accounts.roles import Actor, Role
from colsec.crisis.consultation import request_question
from colsec.crisis.outcome import reason_message
from colsec.errors import ColsecError, Forbidden
from colsec.outbox.text import render as render_text
from colsec.stix.tlp import TLP
from colsec.store.views import display_name
from colsec.web.deps import get_db, get_optional_actor, get_settings
from colsec.web.i18n import N_, environment, negotiate, translations
from colsec.web.sessions import CSRF_FIELD, CSRF_HEADER, Session, SessionCodec, current_session

__all__ = [
    "FormActor",
    "LoginRequired",
    "PageActor",
    "WriteDb",
    "came_from",
    "form_data",
    "gettext_for",
    "language_of",
    "page",
    "require",
]

MAX_FIELD_BYTES = 16 * 1024 * 1024


class LoginRequired(Exception):
    """Raised by UI dependencies; rendered as a redirect to the login page."""


class CsrfFailed(ColsecError):
    status = 403
    code = "csrf_failed"


@cache
def came_from(request: Request) -> str | None:
    """The page of this site a form was posted from (its Referer), as a local path; None otherwise.

    A page answering a post has no address of its own to reload: going back, or switching the
    language, returns to the form's page.
    """
    from urllib.parse import urlsplit

    referer = request.headers.get("referer")
    if not referer:
        return None
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc != request.headers.get("host"):
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if not path.startswith("/") or path.startswith("//") or "\\" in path or path == request.url.path:
        return None
    return path


def ui_environment(lang: str) -> Environment:
    """The language's Jinja2 environment with the UI's data filters added."""
    env = environment(lang)
    env.filters["fromjson"] = orjson.loads
    env.filters["tlp"] = lambda v: TLP(int(v))
    env.filters["display_name"] = display_name
    env.filters["reason"] = lambda v: _reason_html(v, lang)
    env.filters["request_question"] = request_question
    env.filters["detail_fields"] = detail_fields
    return env


_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?")


def detail_fields(stored: object, *, limit: int = 12, width: int = 160) -> list[tuple[str, str, bool]]:
    """An audit entry's JSON details as (key, value, is_moment) rows for a compact key/value list:
    a nested value stays one line of compact JSON, long values are cut, and a value that is an
    ISO moment is flagged so the page shows it with the ``datetime`` filter. Details that are not
    a JSON object come back as one row keyed ``""``."""
    try:
        data = orjson.loads(stored) if isinstance(stored, str | bytes) else stored
    except orjson.JSONDecodeError:
        data = stored
    if not isinstance(data, dict):
        return [] if data in (None, "", {}) else [("", _compact(data, width), False)]
    rows = []
    for key, value in list(data.items())[:limit]:
        moment = isinstance(value, str) and _ISO_MOMENT.fullmatch(value.strip()) is not None
        rows.append((str(key), value if moment else _compact(value, width), moment))
    if len(data) > limit:
        rows.append(("…", f"+{len(data) - limit}", False))
    return rows


def _compact(value: object, width: int) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= width else text[: width - 1] + "…"


def _reason_html(stored: object, lang: str) -> Markup:
    """A decision's reason in the reader's language; an old row's stored sentence is shown as
    the data it is (marked not to be translated)."""
    message = reason_message(stored)
    if isinstance(message, str):
        return Markup('<span translate="no">%s</span>') % message if message else Markup("")
    return escape(render_text(message, lang))


def language_of(request: Request, actor: Actor | None = None) -> str:
    sess = current_session(request)
    return negotiate(
        user_language=actor.language if actor else None,
        session_language=sess.lang if sess else None,
        accept_language=request.headers.get("accept-language"),
    )


def gettext_for(lang: str) -> Callable[[str], str]:
    return translations(lang).gettext


def ensure_session(request: Request) -> tuple[Session, bool]:
    """The request's session, or a fresh anonymous one (True: the cookie must be set)."""
    sess = current_session(request)
    if sess is not None:
        return sess, False
    sess = Session.new()
    request.state.ui_session = sess
    return sess, True


def set_session(request: Request, response: Any, sess: Session) -> None:
    codec: SessionCodec = request.app.state.session_codec
    codec.set_cookie(response, sess, secure=request.url.scheme == "https")
    request.state.ui_session = sess


def nav_items(actor: Actor | None) -> list[tuple[str, str]]:
    """Navigation as (path, message); labels are translated in the template."""
    if actor is None:
        return []
    items = [("/", N_("Dashboard")), ("/intel", N_("Intelligence"))]
    if actor.org_id is not None:
        items += [("/alerts", N_("Alerts")), ("/assets", N_("Exposure"))]
    if actor.role in (Role.ADMIN, Role.ANALYST, Role.COORDINATOR):
        items.append(("/import", N_("Import")))
    items.append(("/crisis", N_("Crises")))
    items.append(("/groups", N_("Working groups")))
    items.append(("/reports", N_("Bulletins")))
    if actor.role != Role.PEER:
        items.append(("/exercises", N_("Exercises")))
    if actor.is_operator:
        items.append(("/admin/organisations", N_("Administration")))
    elif actor.role == Role.ADMIN:
        items.append(("/admin/users", N_("Administration")))
    elif actor.role == Role.COORDINATOR:  # a coordinator's organisation owns sharing groups
        items.append(("/admin/sharing-groups", N_("Sharing groups")))
    return items


def _alert_badge(request: Request, actor: Actor | None) -> int | None:
    """Unacknowledged alerts of the caller's organisation, for the navigation (one indexed count)."""
    if actor is None or actor.org_id is None:
        return None
    from colsec.intel.alerts import new_count
    from colsec.web.deps import read_units

    try:
        with read_units(request)() as s:
            return new_count(s, org_id=actor.org_id)
    except Exception:  # noqa: BLE001 - an error page must render even when the database is the error
        return None


def page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    actor: Actor | None = None,
    status: int = 200,
    lang: str | None = None,
) -> HTMLResponse:
    """Render ``template`` in the negotiated language with the common layout context."""
    started = getattr(request.state, "ui_started", None)
    lang = lang or language_of(request, actor)
    sess, fresh = ensure_session(request)
    settings = get_settings(request)
    ctx: dict[str, Any] = {
        "request": request,
        "actor": actor,
        "csrf_token": sess.csrf,
        "csrf_field": CSRF_FIELD,
        "nav": nav_items(actor),
        "alert_badge": context["alert_badge"]
        if context and "alert_badge" in context
        else _alert_badge(request, actor),
        "path": request.url.path,
        "node_name": settings.node_name,
        "hx": request.headers.get("hx-request") == "true",
    }
    if context:
        ctx.update(context)
    if request.method != "GET":  # a page answering a form: switching language reloads the form, not the post
        ctx["path"] = ctx.get("back") or came_from(request) or "/"
    html = ui_environment(lang).get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status)
    response.headers["Content-Language"] = lang
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Cookie, Accept-Language"
    if started is not None:
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    if fresh:
        set_session(request, response, sess)
    return response


async def form_data(request: Request) -> FormData:
    """The parsed form (cached on the request), with room for pasted text and uploads."""
    cached: FormData | None = getattr(request.state, "ui_form", None)
    if cached is None:
        cached = await request.form(max_part_size=MAX_FIELD_BYTES)
        request.state.ui_form = cached
    return cached


def _page_actor(request: Request) -> Actor:
    request.state.ui_started = time.perf_counter()
    actor = get_optional_actor(request)
    if actor is None:
        raise LoginRequired
    return actor


async def _form_actor(request: Request) -> AsyncIterator[Actor]:
    """For POSTs: the CSRF token (form field or header) must match the session's first.

    Uploaded files of the form are closed when the route is done.
    """
    request.state.ui_started = time.perf_counter()
    try:
        yield await _checked_form_actor(request)
    finally:  # a refused post's uploads too (its form was read for the token)
        pending: FormData | None = getattr(request.state, "ui_form", None)
        if pending is not None:
            await pending.close()


async def _checked_form_actor(request: Request) -> Actor:
    sess = current_session(request)
    presented = request.headers.get(CSRF_HEADER)
    if not presented:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await form_data(request)
            value = form.get(CSRF_FIELD)
            presented = value if isinstance(value, str) else None
    if sess is None or not sess.csrf_ok(presented):
        raise CsrfFailed(
            "the form has expired or did not come from this site; reload the page and try again",
            kind="form_expired",
        )
    request.state.csrf_ok = True
    actor = get_optional_actor(request)
    if actor is None:
        raise LoginRequired
    return actor


PageActor = Annotated[Actor, Depends(_page_actor)]
FormActor = Annotated[Actor, Depends(_form_actor)]
# Form posts commit before the response is sent (scope "function"): the browser follows the
# redirect at once, and its next page must see what was just written.
WriteDb = Annotated[DbSession, Depends(get_db, scope="function")]


def require(actor: Actor, *roles: Role) -> None:
    """Admin always passes; anyone else must hold one of ``roles``."""
    if actor.role != Role.ADMIN and actor.role not in roles:
        raise Forbidden(f"role '{actor.role}' may not open this page", kind="page_not_for_role")
