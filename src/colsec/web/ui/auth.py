"""Login, logout and the language switch.

Login goes through ``accounts.authenticate_password`` in the request's write
transaction, its password checked on a read session before that transaction's first
statement, and off the event loop (as logout and the language switch write); a refused login renders a page (it does not raise), so the session
dependency commits the failure too and the one throttle per (username, source)
counts form logins exactly like API ones; unknown user, wrong password and throttled
all render the same page.  A successful login starts a new server-side session
(new id and CSRF token); logout ends it on the server, not only in the browser.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from colsec.accounts import service as accounts
from colsec.accounts import sessions as server_sessions
from colsec.errors import ColsecError
from colsec.web.deps import (
    DbDep,
    ReaderDep,
    client_address,
    get_optional_actor,
    get_settings,
    login_throttle,
)
from colsec.web.i18n import LANGUAGES
from colsec.web.sessions import CSRF_FIELD, credential_fingerprint, current_session
from colsec.web.ui.forms import see_other
from colsec.web.ui.render import CsrfFailed, ensure_session, form_data, page, set_session

router = APIRouter(include_in_schema=False)


def safe_next(value: object) -> str:
    """Only local paths: never an absolute or scheme-relative URL (no open redirect)."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _check_csrf(request: Request, value: object) -> None:
    sess = current_session(request)
    if sess is None or not sess.csrf_ok(value if isinstance(value, str) else None):
        raise CsrfFailed(
            "the form has expired or did not come from this site; reload the page and try again",
            kind="form_expired",
        )
    request.state.csrf_ok = True


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    actor = get_optional_actor(request)
    if actor is not None:
        return see_other(safe_next(next))
    return page(request, "ui/login.html", {"next": safe_next(next), "error": None})


@router.post("/login")
async def login(request: Request, db: DbDep, reader: ReaderDep) -> Response:
    form = await form_data(request)
    _check_csrf(request, form.get(CSRF_FIELD))
    return await run_in_threadpool(_login, request, db, reader, form)


def _login(request: Request, db: Session, reader: Session, form: FormData) -> Response:
    """The password checked on a read session, then the writes (off the event loop: the hash
    and a wait for SQLite's write lock held up every request of the node)."""
    username = str(form.get("username") or "")
    password = str(form.get("password") or "")
    nxt = safe_next(form.get("next"))
    settings = get_settings(request)
    try:
        user = accounts.authenticate_password(
            db,
            username=username,
            password=password,
            source=client_address(request),
            policy=login_throttle(settings),
            reader=reader,
        )
    except ColsecError:  # returned, not raised: the dependency commits the counted failure
        return page(
            request, "ui/login.html", {"next": nxt, "error": "invalid", "username": username}, status=401
        )
    session_id = server_sessions.start_session(
        db, user=user, max_age_seconds=settings.session_max_age_seconds
    )
    cred = credential_fingerprint(user)
    sess, _ = ensure_session(request)
    response = see_other(nxt)
    set_session(request, response, sess.rotated(uid=user.id, cred=cred, sid=session_id))
    return response


@router.post("/logout")
async def logout(request: Request, db: DbDep) -> Response:
    form = await form_data(request)
    _check_csrf(request, form.get(CSRF_FIELD))
    sess, _ = ensure_session(request)
    if sess.uid is not None:
        await run_in_threadpool(server_sessions.end_session, db, sess.sid)
    response = see_other("/login")
    set_session(request, response, sess.rotated(uid=None))
    return response


@router.post("/lang")
async def switch_language(request: Request, db: DbDep) -> Response:
    """Pick the UI language: stored as the user's setting when logged in, in the session otherwise."""
    form = await form_data(request)
    _check_csrf(request, form.get(CSRF_FIELD))
    lang = str(form.get("lang") or "")
    if lang not in LANGUAGES:
        lang = "en"
    actor = get_optional_actor(request)
    if actor is not None:
        await run_in_threadpool(accounts.set_user_language, db, actor=actor, language=lang)
    sess, _ = ensure_session(request)
    response = see_other(safe_next(form.get("next")))
    set_session(request, response, sess.with_lang(lang))
    return response
