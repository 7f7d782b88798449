"""Bulletin pages, the bulletin document (HTML, PDF, mail text) and the public pages and feeds.

The document is one template (``ui/bulletin_doc.html``) in the reader's language, with the
charts drawn here as SVG; the PDF is that same HTML through WeasyPrint, with the same SVG and
a font with Cyrillic found through fontconfig (DejaVu Sans) and embedded by WeasyPrint.
Public routes (``/public/...``) need no login and show TLP:CLEAR only: published bulletins
whose audience is CLEAR and public CAP alerts, and the Atom and RSS feeds of both.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import select

from colsec.errors import InvalidInput, NotFound
from colsec.reports import service
from colsec.reports.audience import AUDIENCES, audience_level
from colsec.reports.models import Bulletin, BulletinSubscription
from colsec.reports.sections import KINDS
from colsec.stix.tlp import TLP
from colsec.web.deps import DbDep
from colsec.web.i18n import LANGUAGES, N_, WEB_DIR, format_day, translations
from colsec.web.params import IdPath
from colsec.web.ui.charts import bar_chart, stacked_days
from colsec.web.ui.forms import see_other
from colsec.web.ui.render import FormActor, PageActor, WriteDb, form_data, language_of, page, ui_environment

__all__ = ["bulletin_lang", "describe", "doc_context", "mail_text", "render_html", "render_pdf", "router"]

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


def bulletin_lang(value: str | None) -> str:
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
        return format_day(start, lang)
    return f"{format_day(start, lang)} – {format_day(last, lang)}"


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
        type_text = ui_environment(lang).get_template("ui/_macros.html").module.type_text  # type: ignore[attr-defined]
        chart = {type_text(t): v for t, v in intel["chart"].items()}  # the pages' one table of type names
        out["intel_days"] = stacked_days(gettext("New intelligence per day"), days, chart)
        out["intel_member"] = bar_chart(gettext("New intelligence by member"), intel["by_member"])
        out["intel_sector"] = bar_chart(gettext("New intelligence by sector"), intel["by_sector"])
    ci = s.get("ci_sightings")
    if ci and ci.get("by_sector"):
        out["ci_sector"] = bar_chart(gettext("Sightings by sector"), ci["by_sector"])
    return out


def doc_context(b: Bulletin, lang: str) -> dict[str, Any]:
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
    ctx = doc_context(b, lang)
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
    return see_other(f"/reports/{b.id}")


@router.post("/reports/subscriptions")
async def reports_subscribe(request: Request, db: WriteDb, actor: FormActor) -> Response:
    form = await form_data(request)
    service.subscribe(
        db, actor=actor, email=str(form.get("email", "")), language=str(form.get("language", "en"))
    )
    return see_other("/reports")


@router.get("/reports/{bulletin_id}", response_class=HTMLResponse)
def report_page(request: Request, bulletin_id: IdPath, db: DbDep, actor: PageActor) -> HTMLResponse:
    b = service.get(db, actor=actor, bulletin_id=bulletin_id)
    editor = actor.is_system or actor.has(*service.EDITORS)
    lang = language_of(request, actor)
    ctx = doc_context(b, lang)
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
    return see_other(f"/reports/{target}")
