"""The public feed: published TLP:CLEAR bulletins and public CAP alerts, as Atom 1.0 and RSS 2.0.

Only two sources feed it, both filtered here and nowhere else: bulletins whose audience is
TLP:CLEAR (their latest published version: a correction moves ``updated``, the entry id
stays the bulletin's series) and CAP alerts whose scope is ``Public`` (never an exercise's).
The XML is built with lxml, never by string concatenation, so hostile text cannot break out
of an element.

Both sources only grow: a published version is never edited (a correction is a new row) and
CAP alerts are appended.  So ``validator`` (counts and the newest of each, one small indexed
query) changes exactly when the feed's content does, and a rendered feed can be kept for as
long as its validator holds: in every worker process, since the validator is read from the
database on each request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import quote

from lxml import etree
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from colsec.crisis.models import CapAlert
from colsec.reports.models import Bulletin
from colsec.reports.service import current_published, first_published_at
from colsec.stix.tlp import TLP

__all__ = ["ATOM_NS", "Entry", "Feed", "atom", "entries", "etag", "public_alerts", "rss", "validator"]

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    title: str
    summary: str
    link: str
    published: datetime
    updated: datetime
    category: str


@dataclass(frozen=True, slots=True)
class Feed:
    id: str
    title: str
    link: str  # the public page
    self_link: str
    lang: str
    entries: Sequence[Entry]

    @property
    def updated(self) -> datetime:
        return max((e.updated for e in self.entries), default=datetime(2026, 1, 1, tzinfo=UTC))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: datetime) -> str:
    return _aware(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cap_time(sent: str, fallback: datetime) -> datetime:
    try:
        return _aware(datetime.fromisoformat(sent.replace("Z", "+00:00")))
    except ValueError:
        return _aware(fallback)


def public_alerts() -> ColumnElement[bool]:
    """CAP alerts the public may see: actual, public scope, not an exercise's."""
    return and_(CapAlert.scope == "Public", CapAlert.status == "Actual", CapAlert.exercise_run_id.is_(None))


def validator(db: Session) -> str:
    """What the feed's content depends on, in one query: it changes whenever an entry appears or moves."""
    published = (Bulletin.status == "published") & (Bulletin.audience == int(TLP.CLEAR))
    row = db.execute(
        select(
            select(func.count(Bulletin.id)).where(published).scalar_subquery(),
            select(func.max(Bulletin.published_at)).where(published).scalar_subquery(),
            select(func.count(CapAlert.id)).where(public_alerts()).scalar_subquery(),
            select(func.max(CapAlert.id)).where(public_alerts()).scalar_subquery(),
        )
    ).one()
    return "|".join(str(v) for v in row)


def entries(
    db: Session,
    *,
    base_url: str,
    lang: str,
    describe: Callable[[Bulletin, str], tuple[str, str]],
    limit: int = FEED_SIZE,
) -> list[Entry]:
    """Newest first; ``describe(bulletin, lang)`` gives the localised title and summary."""
    out = []
    for b in current_published(db, audience=TLP.CLEAR, limit=limit):
        if b.audience != int(TLP.CLEAR) or b.published_at is None:  # never above CLEAR
            continue
        title, summary = describe(b, lang)
        first = first_published_at(db, b.series) or b.published_at
        out.append(
            Entry(
                id=f"urn:uuid:{b.series}",
                title=title,
                summary=summary,
                link=f"{base_url}/public/bulletins/{b.id}?lang={lang}",
                published=_aware(first),
                updated=_aware(b.published_at),
                category=b.kind,
            )
        )
    alerts = db.execute(
        select(CapAlert)
        .where(public_alerts())
        .order_by(CapAlert.created_at.desc(), CapAlert.id.desc())
        .limit(limit)
    ).scalars()
    for a in alerts:
        at = _cap_time(a.sent, a.created_at)
        out.append(
            Entry(
                id=f"urn:colsec:cap:{quote(a.sender, safe='')}:{quote(a.identifier, safe='')}",
                title=a.headline or a.event or a.identifier,
                summary=f"{a.event} — {a.severity} — {a.area}".strip(" —"),
                link=f"{base_url}/public/alerts/{a.id}",
                published=at,
                updated=at,
                category="cap",
            )
        )
    out.sort(key=lambda e: (e.updated, e.id), reverse=True)
    return out[:limit]


def atom(feed: Feed) -> bytes:
    E = f"{{{ATOM_NS}}}"
    root = etree.Element(E + "feed", nsmap={None: ATOM_NS})
    root.set("{http://www.w3.org/XML/1998/namespace}lang", feed.lang)
    etree.SubElement(root, E + "id").text = feed.id
    etree.SubElement(root, E + "title").text = feed.title
    etree.SubElement(root, E + "updated").text = _iso(feed.updated)
    etree.SubElement(root, E + "link", rel="alternate", type="text/html", href=feed.link)
    etree.SubElement(root, E + "link", rel="self", type="application/atom+xml", href=feed.self_link)
    author = etree.SubElement(root, E + "author")
    etree.SubElement(author, E + "name").text = feed.title
    etree.SubElement(root, E + "generator").text = "colsec"
    for e in feed.entries:
        el = etree.SubElement(root, E + "entry")
        etree.SubElement(el, E + "id").text = e.id
        etree.SubElement(el, E + "title").text = e.title
        etree.SubElement(el, E + "updated").text = _iso(e.updated)
        etree.SubElement(el, E + "published").text = _iso(e.published)
        etree.SubElement(el, E + "link", rel="alternate", type="text/html", href=e.link)
        etree.SubElement(el, E + "category", term=e.category)
        etree.SubElement(el, E + "summary", type="text").text = e.summary
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def rss(feed: Feed) -> bytes:
    atom_ns = ATOM_NS
    root = etree.Element("rss", version="2.0", nsmap={"atom": atom_ns})
    ch = etree.SubElement(root, "channel")
    etree.SubElement(ch, "title").text = feed.title
    etree.SubElement(ch, "link").text = feed.link
    etree.SubElement(ch, "description").text = feed.title
    etree.SubElement(ch, "language").text = feed.lang
    etree.SubElement(ch, "lastBuildDate").text = format_datetime(
        _aware(feed.updated).astimezone(UTC), usegmt=True
    )
    etree.SubElement(ch, f"{{{atom_ns}}}link", rel="self", type="application/rss+xml", href=feed.self_link)
    for e in feed.entries:
        item = etree.SubElement(ch, "item")
        etree.SubElement(item, "title").text = e.title
        etree.SubElement(item, "link").text = e.link
        etree.SubElement(item, "guid", isPermaLink="false").text = e.id
        etree.SubElement(item, "pubDate").text = format_datetime(e.updated.astimezone(UTC), usegmt=True)
        etree.SubElement(item, "category").text = e.category
        etree.SubElement(item, "description").text = e.summary
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
