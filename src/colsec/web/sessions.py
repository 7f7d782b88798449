"""Web UI sessions: a signed cookie naming a server-side session, with a CSRF token.

The cookie holds a small JSON payload (session id, user id, CSRF token, chosen
language, issue time) and an HMAC-SHA256 over it keyed by the node secret.  A
logged-in cookie counts only while its session id is live in ``login_session``
(``colsec.accounts.sessions``): logout, a password change and disabling the
account delete the row, so a copied cookie dies with it.  A fresh session id and
CSRF token are issued at login (no session fixation), the cookie is ``HttpOnly``
and ``SameSite=Lax``, and every state-changing request must present the
session's CSRF token (form field or ``X-CSRF-Token`` header) before the session
counts as authenticated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from sqlalchemy.orm import Session as DbSession
from starlette.requests import Request
from starlette.responses import Response

from colsec.accounts.models import User
from colsec.accounts.sessions import session_owner

__all__ = [
    "COOKIE_NAME",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "Session",
    "SessionCodec",
    "credential_fingerprint",
    "current_session",
    "session_user",
]

COOKIE_NAME = "colsec_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    csrf: str
    uid: int | None = None
    lang: str | None = None
    iat: int = field(default_factory=lambda: int(time.time()))
    cred: str = ""  # fingerprint of the user's password hash: a password change ends every session

    @staticmethod
    def new(*, uid: int | None = None, lang: str | None = None, cred: str = "") -> Session:
        return Session(
            sid=secrets.token_urlsafe(18), csrf=secrets.token_urlsafe(24), uid=uid, lang=lang, cred=cred
        )

    def rotated(self, *, uid: int | None, cred: str = "", sid: str | None = None) -> Session:
        """A new session id and CSRF token (at login and logout), keeping only the language."""
        fresh = Session.new(uid=uid, lang=self.lang, cred=cred)
        return replace(fresh, sid=sid) if sid else fresh

    def with_lang(self, lang: str) -> Session:
        return replace(self, lang=lang)

    def csrf_ok(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf.encode(), (presented or "").encode())


class SessionCodec:
    """Encode and verify cookies; ``max_age`` bounds a session's life from its issue time."""

    def __init__(self, secret: str, *, max_age: int) -> None:
        self._key = hashlib.sha256(b"colsec-ui-session\x00" + secret.encode()).digest()
        self.max_age = max_age

    def _sign(self, payload: bytes) -> str:
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def encode(self, sess: Session) -> str:
        body = {"s": sess.sid, "c": sess.csrf, "u": sess.uid, "l": sess.lang, "t": sess.iat, "p": sess.cred}
        payload = base64.urlsafe_b64encode(orjson.dumps(body)).decode().rstrip("=")
        return f"{payload}.{self._sign(payload.encode())}"

    def decode(self, cookie: str | None) -> Session | None:
        if not cookie or len(cookie) > 1024 or "." not in cookie:
            return None
        payload, _, mac = cookie.rpartition(".")
        if not hmac.compare_digest(self._sign(payload.encode()), mac):
            return None
        try:
            data: Any = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            sess = Session(
                sid=str(data["s"]),
                csrf=str(data["c"]),
                uid=int(data["u"]) if data.get("u") is not None else None,
                lang=str(data["l"]) if data.get("l") else None,
                iat=int(data["t"]),
                cred=str(data.get("p") or ""),
            )
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            return None
        if time.time() - sess.iat > self.max_age or sess.iat > time.time() + 60:
            return None
        return sess

    def set_cookie(self, response: Response, sess: Session, *, secure: bool) -> None:
        response.set_cookie(
            COOKIE_NAME,
            self.encode(sess),
            max_age=self.max_age,
            httponly=True,
            samesite="lax",
            secure=secure,
            path="/",
        )

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(COOKIE_NAME, path="/")


def current_session(request: Request) -> Session | None:
    """The verified session of this request (cached on the request)."""
    if hasattr(request.state, "ui_session"):
        cached: Session | None = request.state.ui_session
        return cached
    codec: SessionCodec = request.app.state.session_codec
    sess = codec.decode(request.cookies.get(COOKIE_NAME))
    request.state.ui_session = sess
    return sess


def session_user(request: Request, db: DbSession) -> User | None:
    """The ``app.state.session_user`` hook: the logged-in, active user of this cookie, or None.

    For unsafe methods the CSRF token must have been checked (form routes set
    ``request.state.csrf_ok``) or be sent in the ``X-CSRF-Token`` header, so a
    cross-site form can never act with the victim's cookie, on UI or API routes.
    """
    sess = current_session(request)
    if sess is None or sess.uid is None:
        return None
    if request.method not in SAFE_METHODS and not (
        getattr(request.state, "csrf_ok", False) or sess.csrf_ok(request.headers.get(CSRF_HEADER))
    ):
        return None
    user = session_owner(db, sess.sid)
    if user is None or user.id != sess.uid:
        return None
    if not hmac.compare_digest(sess.cred, credential_fingerprint(user)):
        return None
    return user


def credential_fingerprint(user: User) -> str:
    """A short digest of the password hash: sessions issued before a password change stop working."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]
