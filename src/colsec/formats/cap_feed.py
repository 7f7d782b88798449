"""CAP alerts as agencies publish them: an Atom or RSS feed whose entries carry an alert inline or link it.

Weather services and civil-protection agencies (the NWS, national alerting hubs) hand their CAP
alerts out as feeds rather than single files, so a coordinator receives a feed. Each inline alert
is cut out as its own document and goes through the same safe parse and validation as a single
alert file; an entry that only links its alert is reported, not fetched (a node does not follow
links found in outside documents).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from colsec.errors import InvalidInput
from colsec.formats.cap import CAP10_NS, CAP11_NS, CAP12_NS, safe_tree

__all__ = ["MAX_FEED_BYTES", "FeedEntry", "feed_entries", "is_feed"]

ATOM_NS = "http://www.w3.org/2005/Atom"
MAX_FEED_BYTES = 16 * 1024 * 1024
_CAP_NAMESPACES = (CAP12_NS, CAP11_NS, CAP10_NS)


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a feed: its inline alerts as documents of their own, or only its link."""

    entry_id: str
    title: str
    alerts: tuple[bytes, ...]
    link: str


def _root_kind(root: etree._Element) -> str | None:
    name = etree.QName(root)
    if name.localname == "feed" and name.namespace == ATOM_NS:
        return "atom"
    if name.localname == "rss" and not name.namespace:
        return "rss"
    return None


def is_feed(data: bytes) -> bool:
    """Whether the document is an Atom or RSS feed (cheap: the start of the bytes, no parse)."""
    head = data[:4096]
    return (b"<feed" in head and ATOM_NS.encode() in head) or b"<rss" in head


def _text(el: etree._Element, *names: str) -> str:
    for name in names:
        found = el.find(name)
        if found is not None and found.text:
            return str(found.text).strip()
    return ""


def _link(entry: etree._Element) -> str:
    for link in entry.findall(f"{{{ATOM_NS}}}link"):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link.get("href"))
    return _text(entry, "link")


def _inline_alerts(entry: etree._Element) -> tuple[bytes, ...]:
    found = []
    for el in entry.iter(etree.Element):
        name = etree.QName(el)
        if name.localname == "alert" and name.namespace in _CAP_NAMESPACES:
            found.append(etree.tostring(el, xml_declaration=True, encoding="UTF-8"))
    return tuple(found)


def feed_entries(data: bytes) -> list[FeedEntry]:
    """The feed's entries in document order; refused whole only if the feed itself is unsafe or malformed."""
    root = safe_tree(data, limit=MAX_FEED_BYTES)
    kind = _root_kind(root)
    if kind is None:
        raise InvalidInput("not an Atom <feed> or RSS <rss> document")
    if kind == "atom":
        entries = root.findall(f"{{{ATOM_NS}}}entry")
        ids: tuple[str, ...] = (f"{{{ATOM_NS}}}id",)
        titles: tuple[str, ...] = (f"{{{ATOM_NS}}}title",)
    else:
        entries = root.findall("channel/item")
        ids = ("guid", "link")
        titles = ("title",)
    out = []
    for entry in entries:
        link = _link(entry)
        out.append(
            FeedEntry(
                entry_id=_text(entry, *ids) or link, title=_text(entry, *titles),
                alerts=_inline_alerts(entry), link=link,
            )
        )  # fmt: skip
    return out
