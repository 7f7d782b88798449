"""The weekly threat review from the demonstration data: numbers equal direct queries, both languages."""

from __future__ import annotations

import io
from collections import Counter
from html.parser import HTMLParser
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from colsec.accounts.roles import SYSTEM
from colsec.crisis.models import Crisis
from colsec.db import Database
from colsec.demo import build_demo
from colsec.intel.models import Vulnerability
from colsec.reports import service
from colsec.reports.sections import KINDS
from colsec.stix.tlp import TLP
from colsec.store.models import StixObject
from colsec.store.views import INTEL_TYPES
from colsec.web.i18n import translations
from colsec.web.ui.reports import KIND_NAMES, SECTION_NAMES, render_html, render_pdf
from reports.conftest import tomorrow


@pytest.fixture
def demo(app: Any, database: Database) -> int:
    """The demonstration node and its weekly review for TLP:GREEN (returns the bulletin id)."""
    with database.unit_of_work() as s:
        build_demo(s, extensions=app.state.node.demo_extensions)
    with database.unit_of_work() as s:
        return service.create_draft(s, actor=SYSTEM, kind="weekly", audience=TLP.GREEN, end=tomorrow()).id


def _green_rows(s: Any) -> list[StixObject]:
    """Latest rows an alliance audience may read, by the rule: GREEN or below, no group, not named-only."""
    rows = s.execute(select(StixObject).where(StixObject.is_latest)).scalars()
    return [r for r in rows if r.tlp <= TLP.GREEN]


@pytest.mark.slow
def test_weekly_bulletin_from_demo_data(database: Database, demo: int) -> None:
    """One demonstration node (building it takes ~15 s): sections, both languages' HTML and PDF."""
    _sections_equal_direct_queries(database, demo)
    _html_in_both_languages_has_no_untranslated_text(database, demo)
    _pdf_has_headings_and_chart_labels_in_both_languages(database, demo)


def _sections_equal_direct_queries(database: Database, demo: int) -> None:
    with database.unit_of_work(write=False) as s:
        b = service.get(s, actor=SYSTEM, bulletin_id=demo)
        sections = orjson.loads(b.sections)
        start, end = b.period_start.date().isoformat(), b.period_end.date().isoformat()
        rows = [r for r in _green_rows(s) if start <= r.date_added < end]
        by_type = Counter(r.type for r in rows if r.type in INTEL_TYPES)
        assert sections["new_intel"]["by_type"] == {k: float(v) for k, v in by_type.items()}
        assert sections["new_intel"]["total"] == sum(by_type.values()) > 0
        assert sum(sections["new_intel"]["by_member"].values()) == sections["new_intel"]["total"]
        assert sections["ci_sightings"]["total"] == by_type.get("sighting", 0)
        vulns = {orjson.loads(r.body).get("name") for r in rows if r.type == "vulnerability"}
        kev = s.execute(
            select(func.count()).where(Vulnerability.in_kev, Vulnerability.cve.in_(sorted(vulns)))
        ).scalar()
        assert sections["kev_exposure"]["in_kev_count"] == kev
        open_crises = s.execute(
            select(func.count()).select_from(Crisis).where(Crisis.status.not_in(("closed", "reviewed")))
        ).scalar()
        assert sections["crises"]["open_count"] == open_crises
        assert set(sections) == set(KINDS["weekly"].sections)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.parts.append(data.strip())


def _html_in_both_languages_has_no_untranslated_text(database: Database, demo: int) -> None:
    with database.unit_of_work(write=False) as s:
        b = service.get(s, actor=SYSTEM, bulletin_id=demo)
        en, ru = render_html(b, "en"), render_html(b, "ru")
    ru_gettext = translations("ru").gettext
    for msg in [
        *SECTION_NAMES.values(),
        KIND_NAMES["weekly"],
        "New intelligence per day",
        "Period",
        "Version",
    ]:
        assert msg in en and ru_gettext(msg) in ru and ru_gettext(msg) != msg
        parser = _Text()
        parser.feed(ru)
        assert msg not in parser.parts, msg  # no English fixed text left in the Russian bulletin
    assert "<script" not in en and "<svg" in en and "<svg" in ru


def _pdf_has_headings_and_chart_labels_in_both_languages(database: Database, demo: int) -> None:
    from pypdf import PdfReader

    with database.unit_of_work(write=False) as s:
        b = service.get(s, actor=SYSTEM, bulletin_id=demo)
        pdfs = {lang: render_pdf(b, lang) for lang in ("en", "ru")}
    for lang, pdf in pdfs.items():
        reader = PdfReader(io.BytesIO(pdf))
        text = "\n".join(p.extract_text() for p in reader.pages)
        gettext = translations(lang).gettext
        for msg in (KIND_NAMES["weekly"], *(SECTION_NAMES[n] for n in KINDS["weekly"].sections)):
            assert gettext(msg) in text.replace("\n", " "), (lang, msg)
        for label in ("New intelligence per day", "New intelligence by member"):
            assert gettext(label) in text, (lang, label)  # chart titles, drawn in the SVG
        for label in ("Indicator",):  # the legend: the pages' type names
            assert gettext(label) in text, (lang, label)
        fonts = {
            str(f.get_object().get("/BaseFont"))
            for p in reader.pages
            for f in (p["/Resources"].get("/Font") or {}).values()
        }
        assert any("DejaVu" in f for f in fonts), fonts  # embedded (subset) font with Cyrillic
    assert "Еженедельный обзор угроз" in "\n".join(
        p.extract_text() for p in PdfReader(io.BytesIO(pdfs["ru"])).pages
    )
