"""Plain ASGI middleware (no BaseHTTPMiddleware): body-size cap, JSON depth cap, security headers,
and the dispatch of the hottest routes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from starlette.routing import BaseRoute, Match

from colsec.errors import BadRequest, InvalidInput
from colsec.jsonutil import DepthScanner
from colsec.taxii.media import TAXII_MEDIA

__all__ = ["BodySizeLimit", "HotRoutes", "JsonDepthLimit", "SecurityHeaders"]

Scope = dict[str, Any]
Message = dict[str, Any]


class _TooBig(Exception):
    pass


def _has_body(scope: Scope) -> bool:
    """False for a GET or HEAD that frames no body (no Content-Length, no Transfer-Encoding: RFC
    9112 6.3), as TAXII clients send their reads: nothing to count or scan, no wrapper to build.
    Any other method is checked as before, framing or not."""
    if scope.get("method") not in ("GET", "HEAD"):
        return True
    for name, _ in scope.get("headers", ()):
        if name == b"content-length" or name == b"transfer-encoding":
            return True
    return False


class BodySizeLimit:
    """Refuse bodies over ``max_bytes`` with 413, by Content-Length and while streaming."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._refuse(scope, send)
                    return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message: Message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooBig
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooBig:
            if not started:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Any) -> None:
        taxii = scope.get("path", "").startswith("/taxii2")
        detail = f"request body larger than {self.max_bytes} bytes"
        body = (
            {"title": "Request entity too large", "http_status": "413", "description": detail}
            if taxii
            else {"error": "too_large", "detail": detail}
        )
        ctype = TAXII_MEDIA.encode() if taxii else b"application/json"
        payload = orjson.dumps(body)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", ctype), (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _json_media(scope: Scope) -> bool | None:
    """True for JSON media types, False for others, None when the body is untyped."""
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return None


class JsonDepthLimit:
    """Scan JSON request bodies for nesting depth as they stream in, before any parser runs.

    The route's body read then raises InvalidInput (rendered as 422 naming the limit, or
    the TAXII error envelope), so no handler ever builds a hostile structure.  An untyped
    body is scanned when it starts like JSON: FastAPI parses untyped bodies as JSON too.
    """

    def __init__(self, app: Any, max_depth: int, max_string_bytes: int | None = None) -> None:
        self.app = app
        self.max_depth = max_depth
        self.max_string_bytes = max_string_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        media = _json_media(scope) if scope["type"] == "http" and _has_body(scope) else False
        if media is False:
            await self.app(scope, receive, send)
            return
        scanner = DepthScanner(self.max_depth, what="request body", max_string_bytes=self.max_string_bytes)
        taxii = str(scope.get("path", "")).startswith("/taxii2")
        scanning: bool | None = media  # None: decided by the first non-blank byte

        async def scanned_receive() -> Message:
            nonlocal scanning
            message: Message = await receive()
            if message["type"] == "http.request" and scanning is not False:
                body: bytes = message.get("body", b"")
                if scanning is None and body.strip():
                    scanning = body.lstrip()[:1] in (b"{", b"[")
                if scanning:
                    try:
                        scanner.feed(body)
                    except InvalidInput as exc:
                        if taxii:  # TAXII 2.1 answers a malformed envelope with 400
                            raise BadRequest(exc.message) from None
                        raise
            return message

        await self.app(scope, scanned_receive, send)


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'; form-action 'self'"
)


# Built once: every response carries them, unless it set its own.
_EXTRA = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
_EXTRA_NAMES = frozenset(name for name, _ in _EXTRA)


class SecurityHeaders:
    """Strict CSP (no unsafe-inline) and the usual hardening headers on every response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                for name, _ in headers:  # a response that sets one of them keeps its own
                    if name.lower() in _EXTRA_NAMES:
                        names = {h[0].lower() for h in headers}
                        headers.extend(h for h in _EXTRA if h[0] not in names)
                        break
                else:
                    headers.extend(_EXTRA)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HotRoutes:
    """A GET that one of ``routes`` matches goes straight to that route's app.

    The innermost middleware: every cap, header and rewrite above it has applied.  What it
    skips is the framework's own per-request work under it (the exception layer, FastAPI's
    exit stack and router, the match against each route): the cost of a TAXII object by id
    as large as its statements.  The routes stay in the router too, matched first there
    (HEAD, a method not allowed), so the answer is the same either way; they take no
    dependency and render their own errors as the app's handlers do (``web/errors.py``).
    """

    def __init__(self, app: Any, routes: Sequence[BaseRoute], prefix: str = "/taxii2/") -> None:
        self.app = app
        self.routes = tuple(routes)
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(self.prefix):
            for route in self.routes:
                match, child = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child)
                    await route.handle(scope, receive, send)
                    return
        await self.app(scope, receive, send)
