"""Bulletin pages, the bulletin document (HTML, PDF, mail text) and the public pages and feeds.

The document is one template (``ui/bulletin_doc.html``) in the reader's language, with the
charts drawn here as SVG; the PDF is that same HTML through WeasyPrint, with the same SVG and
a font with Cyrillic found through fontconfig (DejaVu Sans) and embedded by WeasyPrint.
Public routes (``/public/...``) need no login and show TLP:CLEAR only: published bulletins
whose audience is CLEAR and public CAP alerts, and the Atom and RSS feeds of both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select

from colsec.crisis.models import CapAlert
from colsec.errors import ColsecError, InvalidInput, NotFound
from colsec.reports import feed as feeds
from colsec.reports import service
from colsec.reports.audience import AUDIENCES, audience_level
from colsec.reports.models import Bulletin, BulletinSubscription
from colsec.reports.sections import KINDS
from colsec.stix.tlp import TLP
from colsec.web.deps import DbDep, counted_request, get_settings
from colsec.web.i18n import LANGUAGES, N_, WEB_DIR, translations
from colsec.web.params import IdPath
from colsec.web.ui.charts import bar_chart, stacked_days
from colsec.web.ui.render import FormActor, PageActor, WriteDb, form_data, language_of, page, ui_environment

__all__ = ["describe", "mail_text", "render_html", "render_pdf", "router"]

router = APIRouter(include_in_schema=False)

KIND_NAMES = {
    "daily": N_("Daily situation report"),
    "weekly": N_("Weekly threat review"),
    "monthly": N_("Monthly review"),
    "crisis_digest": N_("Crisis digest"),
    "joint_advisory": N_("Joint advisory"),
}
STATUS_NAMES = {
    "draft": N_("Draft"),
    "in_review": N_("In review"),
    "approved": N_("Approved"),
    "published": N_("Published"),
}
SECTION_NAMES = {
    "new_intel": N_("New intelligence"),
    "top_threats": N_("Top malware and actors"),
    "ci_sightings": N_("Sightings on critical infrastructure"),
    "kev_exposure": N_("Known exploited vulnerabilities"),
    "crises": N_("Crises, requests and decisions"),
    "timings": N_("Time to decision and to deployment"),
    "cap_alerts": N_("Alerts"),
}
CSS_FILE = WEB_DIR / "static" / "bulletin.css"


def _lang(value: str | None) -> str:
    if value is None:
        return "en"
    if value not in LANGUAGES:
        raise InvalidInput(f"language {value!r}: one of {', '.join(LANGUAGES)}")
    return value


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def period_text(b: Bulletin, lang: str) -> str:
    start = _aware(b.period_start).date()
    last = (_aware(b.period_end) - timedelta(seconds=1)).date()
    if start == last:
        return format_date(start, "long", locale=lang)
    return f"{format_date(start, 'long', locale=lang)} – {format_date(last, 'long', locale=lang)}"


def describe(b: Bulletin, lang: str) -> tuple[str, str]:
    """Localised title and one-line summary (feed entries, mail subjects, page titles)."""
    gettext = translations(lang).gettext
    title = f"{gettext(KIND_NAMES[b.kind])}: {period_text(b, lang)}"
    sections = service.sections_of(b)
    parts = []
    intel = sections.get("new_intel")
    if intel:
        parts.append(f"{gettext('New intelligence')}: {format_decimal(intel.get('total', 0), locale=lang)}")
    alerts = sections.get("cap_alerts")
    if alerts:
        parts.append(f"{gettext('Alerts')}: {format_decimal(alerts.get('count', 0), locale=lang)}")
    if b.version > 1:
        parts.append(gettext("Correction, version %(n)s") % {"n": b.version})
    return title, "; ".join(parts) or title


def _charts(b: Bulletin, lang: str) -> dict[str, Markup]:
    gettext = translations(lang).gettext
    s = service.sections_of(b)
    out: dict[str, Markup] = {}
    intel = s.get("new_intel")
    if intel:
        days = [format_date(datetime.fromisoformat(d).date(), "d MMM", locale=lang) for d in intel["days"]]
        chart = {gettext(t.replace("-", " ").capitalize()): v for t, v in intel["chart"].items()}
        out["intel_days"] = stacked_days(gettext("New intelligence per day"), days, chart)
        out["intel_member"] = bar_chart(gettext("New intelligence by member"), intel["by_member"])
        out["intel_sector"] = bar_chart(gettext("New intelligence by sector"), intel["by_sector"])
    ci = s.get("ci_sightings")
    if ci and ci.get("by_sector"):
        out["ci_sector"] = bar_chart(gettext("Sightings by sector"), ci["by_sector"])
    return out


def _doc_context(b: Bulletin, lang: str) -> dict[str, Any]:
    title, summary = describe(b, lang)
    return {
        "b": b,
        "title": title,
        "summary": summary,
        "period": period_text(b, lang),
        "sections": service.sections_of(b),
        "order": KINDS[b.kind].sections,
        "commentary": service.commentary_of(b),
        "charts": _charts(b, lang),
        "section_names": SECTION_NAMES,
        "status_names": STATUS_NAMES,
        "tlp": TLP(b.audience).name.replace("_", "+"),
        "advisory": KINDS[b.kind].advisory,
    }


def render_html(b: Bulletin, lang: str, *, for_pdf: bool = False) -> str:
    """The bulletin as one HTML document (for the browser it links the stylesheet; WeasyPrint gets it)."""
    ctx = _doc_context(b, lang)
    ctx["for_pdf"] = for_pdf
    return ui_environment(lang).get_template("ui/bulletin_doc.html").render(ctx)


def render_pdf(b: Bulletin, lang: str) -> bytes:
    from weasyprint import CSS, HTML

    html = render_html(b, lang, for_pdf=True)
    pdf: bytes = HTML(string=html, base_url=str(WEB_DIR / "static")).write_pdf(
        stylesheets=[CSS(filename=str(CSS_FILE))]
    )
    return pdf


def mail_text(b: Bulletin, lang: str) -> tuple[str, str]:
    """Subject and plain-text body of the e-mail to one subscriber (the service's ``Mailer``)."""
    gettext = translations(lang).gettext
    title, summary = describe(b, lang)
    tlp = TLP(b.audience).name.replace("_", "+")
    body = [title, f"TLP:{tlp}", "", summary, ""]
    text = service.commentary_of(b).get(lang)
    if text:
        body += [text, ""]
    body.append(gettext("The full bulletin is on the node under Bulletins."))
    return f"[TLP:{tlp}] {title}", "\n".join(body)


# --- pages for analysts and readers ---------------------------------------------------------


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    rows = service.list_bulletins(db, actor=actor)
    subs = (
        list(
            db.execute(
                select(BulletinSubscription).where(BulletinSubscription.organisation_id == actor.org_id)
            ).scalars()
        )
        if actor.org_id is not None
        else []
    )
    return page(
        request,
        "ui/reports.html",
        {
            "rows": rows,
            "kinds": KIND_NAMES,
            "status_names": STATUS_NAMES,
            "audiences": list(AUDIENCES),
            "may_edit": actor.is_system or actor.has(*service.EDITORS),
            "may_schedule": actor.is_operator,
            "subscriptions": subs,
            "describe": describe,
        },
        actor=actor,
    )


@router.post("/reports")
async def reports_create(request: Request, db: WriteDb, actor: FormActor) -> Response:
    form = await form_data(request)
    b = service.create_draft(
        db,
        actor=actor,
        kind=str(form.get("kind", "")),
        audience=audience_level(str(form.get("audience", ""))),
    )
    return RedirectResponse(f"/reports/{b.id}", status_code=303)


@router.post("/reports/subscriptions")
async def reports_subscribe(request: Request, db: WriteDb, actor: FormActor) -> Response:
    form = await form_data(request)
    service.subscribe(
        db, actor=actor, email=str(form.get("email", "")), language=str(form.get("language", "en"))
    )
    return RedirectResponse("/reports", status_code=303)


@router.get("/reports/{bulletin_id}", response_class=HTMLResponse)
def report_page(request: Request, bulletin_id: IdPath, db: DbDep, actor: PageActor) -> HTMLResponse:
    b = service.get(db, actor=actor, bulletin_id=bulletin_id)
    editor = actor.is_system or actor.has(*service.EDITORS)
    lang = language_of(request, actor)
    ctx = _doc_context(b, lang)
    ctx.update(
        {
            "versions": service.versions(db, actor=actor, series=b.series),
            "may_edit": editor and b.status == "draft",
            "may_submit": editor and b.status == "draft",
            "may_approve": editor and b.status == "in_review" and b.author != actor.username,
            "may_publish": editor and b.status == "approved",
            "may_correct": editor and b.status == "published",
            "languages": LANGUAGES,
        }
    )
    return page(request, "ui/report.html", ctx, actor=actor, lang=lang)


@router.post("/reports/{bulletin_id}/{step}")
async def report_step(
    request: Request, bulletin_id: IdPath, step: str, db: WriteDb, actor: FormActor
) -> Response:
    form = await form_data(request)
    target = bulletin_id
    if step == "commentary":
        service.set_commentary(
            db, actor=actor, bulletin_id=bulletin_id, language=str(form.get("language", "")),
            text=str(form.get("text", "")),
        )  # fmt: skip
    elif step == "links":
        links = []
        for line in str(form.get("links", "")).splitlines():
            if line.strip():
                member, _, rest = line.partition("|")
                url, _, language = rest.partition("|")
                links.append({"member": member.strip(), "url": url.strip(), "language": language.strip()})
        service.set_links(db, actor=actor, bulletin_id=bulletin_id, links=links)
    elif step == "submit":
        service.submit(db, actor=actor, bulletin_id=bulletin_id)
    elif step == "approve":
        service.approve(db, actor=actor, bulletin_id=bulletin_id)
    elif step == "publish":
        service.publish(db, actor=actor, bulletin_id=bulletin_id, mailer=mail_text)
    elif step == "correct":
        target = service.correct(db, actor=actor, bulletin_id=bulletin_id).id
    else:
        raise NotFound(f"no step {step!r}")
    return RedirectResponse(f"/reports/{target}", status_code=303)


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


@router.get("/public", response_class=HTMLResponse)
@router.get("/public/", response_class=HTMLResponse, include_in_schema=False)
def public_index(request: Request, db: DbDep, lang: LangQuery = None) -> HTMLResponse:
    lang = _lang(lang) if lang else None
    use = lang or language_of(request)
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
    use = _lang(lang) if lang else language_of(request)
    ctx = _doc_context(b, use)
    ctx["feed_links"] = _feed_links(use)
    return page(request, "ui/public_bulletin.html", ctx, lang=use)


@router.get("/public/bulletins/{bulletin_id}.pdf")
def public_bulletin_pdf(bulletin_id: IdPath, db: DbDep, lang: LangQuery = None) -> Response:
    b = _public_bulletin(db, bulletin_id)
    return Response(render_pdf(b, _lang(lang)), media_type="application/pdf")


@router.get("/public/alerts/{alert_id}", response_class=HTMLResponse)
def public_alert(request: Request, alert_id: IdPath, db: DbDep) -> HTMLResponse:
    a = db.get(CapAlert, alert_id)
    if a is None or a.scope != "Public" or a.status != "Actual" or a.exercise_run_id is not None:
        raise NotFound(f"alert {alert_id} not found")
    use = language_of(request)
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
    return _feed(request, db, _lang(lang), "atom")


@router.get("/public/feed.rss")
def public_rss(request: Request, db: DbDep, lang: LangQuery = None) -> Response:
    return _feed(request, db, _lang(lang), "rss")


@router.get("/public/{lang}/feed.atom")
def public_atom_lang(request: Request, lang: str, db: DbDep) -> Response:
    return _feed(request, db, _lang(lang), "atom")


@router.get("/public/{lang}/feed.rss")
def public_rss_lang(request: Request, lang: str, db: DbDep) -> Response:
    return _feed(request, db, _lang(lang), "rss")
