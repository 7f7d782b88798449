"""Login, logout and the language switch.

Login goes through ``accounts.authenticate_password`` in a write transaction that
is committed on failure too, so the one lockout counter per username counts form
logins exactly like API ones.  A successful login issues a new session id and
CSRF token.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from colsec.accounts import service as accounts
from colsec.errors import ColsecError, Locked
from colsec.web.deps import get_database, get_optional_actor, get_settings
from colsec.web.i18n import LANGUAGES
from colsec.web.sessions import CSRF_FIELD, credential_fingerprint, current_session
from colsec.web.ui import data
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
        raise CsrfFailed("the form has expired or did not come from this site; reload the page and try again")
    request.state.csrf_ok = True


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    actor = get_optional_actor(request)
    if actor is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return page(request, "ui/login.html", {"next": safe_next(next), "error": None})


@router.post("/login")
async def login(request: Request) -> Response:
    form = await form_data(request)
    _check_csrf(request, form.get(CSRF_FIELD))
    username = str(form.get("username") or "")
    password = str(form.get("password") or "")
    nxt = safe_next(form.get("next"))
    settings = get_settings(request)
    db = get_database(request).session(write=True)
    error: str | None = None
    try:
        user = accounts.authenticate_password(
            db,
            username=username,
            password=password,
            max_failures=settings.login_max_failures,
            lockout_seconds=settings.login_lockout_seconds,
        )
        db.commit()
    except Locked:
        db.commit()
        error = "locked"
    except ColsecError:
        db.commit()  # the failure counter must persist
        error = "invalid"
    finally:
        db.close()
    if error is not None:
        return page(request, "ui/login.html", {"next": nxt, "error": error, "username": username}, status=401)
    sess, _ = ensure_session(request)
    response = RedirectResponse(nxt, status_code=303)
    set_session(request, response, sess.rotated(uid=user.id, cred=credential_fingerprint(user)))
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await form_data(request)
    _check_csrf(request, form.get(CSRF_FIELD))
    sess, _ = ensure_session(request)
    response = RedirectResponse("/login", status_code=303)
    set_session(request, response, sess.rotated(uid=None))
    return response


@router.post("/lang")
async def switch_language(request: Request) -> Response:
    """Pick the UI language: stored as the user's setting when logged in, in the session otherwise."""
    form = await form_data(request)
    _check_csrf(request, form.get(CSRF_FIELD))
    lang = str(form.get("lang") or "")
    if lang not in LANGUAGES:
        lang = "en"
    actor = get_optional_actor(request)
    if actor is not None:
        with get_database(request).unit_of_work() as db:
            data.set_user_language(db, actor=actor, language=lang)
    sess, _ = ensure_session(request)
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    set_session(request, response, sess.with_lang(lang))
    return response
