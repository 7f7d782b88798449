"""Approved minutes as one PDF in both languages, rendered once at approval and kept.

Rendering at approval (not on request) freezes what the chair approved: a later change of
template, font or group name cannot alter the record, and its SHA-256 goes into the audit log.
"""

from __future__ import annotations

import warnings
from html import escape

from colsec.groups.models import Group, Meeting
from colsec.stix.tlp import TLP

__all__ = ["STYLE", "pdf", "render_minutes"]

STYLE = "body{font-family:sans-serif;font-size:9pt}td{border:1px solid #999;padding:2px;vertical-align:top}"


def pdf(html: str) -> bytes:
    """WeasyPrint, with the data already escaped by the caller; no scripts, no network."""
    with warnings.catch_warnings():  # WeasyPrint warns about optional system libraries on import
        warnings.simplefilter("ignore", DeprecationWarning)
        from weasyprint import HTML
    out: bytes = HTML(string=html).write_pdf()
    return out


def render_minutes(m: Meeting, g: Group, comments: list[tuple[str, str]]) -> bytes:
    """English then Russian minutes, with the attendees' comments received before approval."""
    approved = m.minutes_approved_at.date().isoformat() if m.minutes_approved_at else ""

    def part(title: str, text: str, heading: str) -> str:
        lines = "".join(f"<p>{escape(line)}</p>" for line in text.splitlines())
        notes = "".join(f"<li>{escape(who)}: {escape(what)}</li>" for who, what in comments)
        return f"<h1>{escape(title)}</h1>{lines}" + (f"<h2>{heading}</h2><ul>{notes}</ul>" if notes else "")

    html = (f"<html><head><meta charset='utf-8'><style>{STYLE}</style></head><body>"
            f"<p>{escape(TLP(g.default_tlp).display)} · {escape(g.code)} · {escape(approved)}</p>"
            + part(f"Minutes: {m.title}", m.minutes_en, "Comments")
            + "<div style='page-break-before:always'></div>"
            + part(f"Протокол: {m.title}", m.minutes_ru, "Замечания") + "</body></html>")  # fmt: skip
    return pdf(html)
