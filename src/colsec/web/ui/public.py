"""Public pages and feeds: no login, TLP:CLEAR only, rate-limited per client address for all workers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from colsec.crisis.models import CapAlert
from colsec.errors import ColsecError, NotFound
from colsec.reports import feed as feeds
from colsec.reports import service
from colsec.reports.models import Bulletin
from colsec.stix.tlp import TLP
from colsec.web.deps import DbDep, counted_request, get_optional_actor, get_settings
from colsec.web.i18n import translations
from colsec.web.params import IdPath
from colsec.web.ui.render import language_of, page
from colsec.web.ui.reports import bulletin_lang, describe, doc_context, render_pdf

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


# --- public: no login, TLP:CLEAR only ------------------------------------------------------


def _feed_links(lang: str) -> list[tuple[str, str, str]]:
    return [
        ("application/atom+xml", f"/public/feed.atom?lang={lang}", "Atom"),
        ("application/rss+xml", f"/public/feed.rss?lang={lang}", "RSS"),
    ]


def _public_bulletin(db: Any, bulletin_id: int) -> Bulletin:
    b: Bulletin | None = db.get(Bulletin, bulletin_id)
    if b is None or b.status != "published" or b.audience != int(TLP.CLEAR):
        raise NotFound(f"bulletin {bulletin_id} not found")
    return b


LangQuery = Annotated[str | None, Query(description="en or ru")]


def _language(request: Request, asked: str | None) -> str:
    """The asked language, else the reader's: a logged-in user's saved choice holds here too."""
    if asked:
        return bulletin_lang(asked)
    try:
        actor = get_optional_actor(request)
    except ColsecError:  # a public page reads on without a valid caller
        actor = None
    return language_of(request, actor)


@router.get("/public", response_class=HTMLResponse)
@router.get("/public/", response_class=HTMLResponse, include_in_schema=False)
def public_index(request: Request, db: DbDep, lang: LangQuery = None) -> HTMLResponse:
    use = _language(request, lang)
    rows = service.current_published(db, audience=TLP.CLEAR)
    alerts = db.execute(
        select(CapAlert).where(feeds.public_alerts())
        .order_by(CapAlert.created_at.desc()).limit(20)
    ).scalars()  # fmt: skip
    return page(
        request,
        "ui/public.html",
        {"rows": rows, "alerts": list(alerts), "describe": describe, "feed_links": _feed_links(use)},
        lang=use,
    )


@router.get("/public/bulletins/{bulletin_id}", response_class=HTMLResponse)
def public_bulletin(request: Request, bulletin_id: IdPath, db: DbDep, lang: LangQuery = None) -> HTMLResponse:
    b = _public_bulletin(db, bulletin_id)
    use = _language(request, lang)
    ctx = doc_context(b, use)
    ctx["feed_links"] = _feed_links(use)
    return page(request, "ui/public_bulletin.html", ctx, lang=use)


@router.get("/public/bulletins/{bulletin_id}.pdf")
def public_bulletin_pdf(bulletin_id: IdPath, db: DbDep, lang: LangQuery = None) -> Response:
    b = _public_bulletin(db, bulletin_id)
    return Response(render_pdf(b, bulletin_lang(lang)), media_type="application/pdf")


@router.get("/public/alerts/{alert_id}", response_class=HTMLResponse)
def public_alert(request: Request, alert_id: IdPath, db: DbDep) -> HTMLResponse:
    a = db.get(CapAlert, alert_id)
    if a is None or a.scope != "Public" or a.status != "Actual" or a.exercise_run_id is not None:
        raise NotFound(f"alert {alert_id} not found")
    use = _language(request, None)
    return page(request, "ui/public_alert.html", {"a": a, "feed_links": _feed_links(use)}, lang=use)


class RateLimited(ColsecError):
    status = 429
    code = "rate_limited"


def _throttle(request: Request) -> str:
    """Count the request and return the feed's validator, in one short unit of its own.

    At most ``feed_requests_per_minute`` feed requests per client address, counted for all
    workers: the count is the login throttle's (``colsec.accounts.throttle``), a row in the
    database, committed even when this request is refused.  The validator is read in the same
    transaction, so a feed served from the cache costs this one unit and nothing else.
    """
    limit = get_settings(request).feed_requests_per_minute
    allowed, current = counted_request(request, key="public-feed", limit=limit, then=feeds.validator)
    if not allowed or current is None:
        raise RateLimited("too many feed requests from this address; try again in a minute")
    return current


@dataclass(frozen=True, slots=True)
class _Rendered:
    body: bytes
    etag: str
    updated: datetime


_CACHE_SIZE = 32


def _render_feed(request: Request, db: Any, current: str, lang: str, fmt: str, base: str) -> _Rendered:
    """The feed's bytes, kept per process while the database's validator for them holds.

    Rendered from the request's session: a publication committed between the validator and
    this read only makes the cached bytes newer than their key, and the next request's
    validator (changed) renders them again.
    """
    key = (current, lang, fmt, base)
    cache: dict[tuple[str, str, str, str], _Rendered] | None = getattr(request.app.state, "feed_cache", None)
    if cache is None:
        cache = request.app.state.feed_cache = {}
    hit = cache.get(key)
    if hit is not None:
        return hit
    gettext = translations(lang).gettext
    f = feeds.Feed(
        id=f"{base}/public/feed?lang={lang}",
        title=gettext("Alliance public bulletins and alerts"),
        link=f"{base}/public?lang={lang}",
        self_link=f"{base}/public/feed.{fmt}?lang={lang}",
        lang=lang,
        entries=feeds.entries(db, base_url=base, lang=lang, describe=describe),
    )
    body = feeds.atom(f) if fmt == "atom" else feeds.rss(f)
    if len(cache) >= _CACHE_SIZE:  # stale validators are never asked for again
        cache.clear()
    cache[key] = out = _Rendered(body, feeds.etag(body), f.updated.replace(microsecond=0))
    return out


def _feed(request: Request, db: Any, lang: str, fmt: str) -> Response:
    current = _throttle(request)
    base = str(request.base_url).rstrip("/")
    feed = _render_feed(request, db, current, lang, fmt, base)
    tag, updated = feed.etag, feed.updated
    headers = {
        "ETag": tag,
        "Last-Modified": format_datetime(updated.astimezone(UTC), usegmt=True),
        "Cache-Control": "public, max-age=60",
        "Vary": "Accept-Encoding",
        "Content-Language": lang,
    }
    inm = request.headers.get("if-none-match")
    ims = request.headers.get("if-modified-since")
    if inm is not None:
        if tag in [t.strip() for t in inm.split(",")] or inm.strip() == "*":
            return Response(status_code=304, headers=headers)
    elif ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            since = None
        if since is not None and updated <= since:
            return Response(status_code=304, headers=headers)
    media = "application/atom+xml" if fmt == "atom" else "application/rss+xml"
    return Response(feed.body, media_type=f"{media}; charset=utf-8", headers=headers)


@router.get("/public/feed.atom")
def public_atom(request: Request, db: DbDep, lang: LangQuery = None) -> Response:
    return _feed(request, db, bulletin_lang(lang), "atom")


@router.get("/public/feed.rss")
def public_rss(request: Request, db: DbDep, lang: LangQuery = None) -> Response:
    return _feed(request, db, bulletin_lang(lang), "rss")


@router.get("/public/{lang}/feed.atom")
def public_atom_lang(request: Request, lang: str, db: DbDep) -> Response:
    return _feed(request, db, bulletin_lang(lang), "atom")


@router.get("/public/{lang}/feed.rss")
def public_rss_lang(request: Request, lang: str, db: DbDep) -> Response:
    return _feed(request, db, bulletin_lang(lang), "rss")
