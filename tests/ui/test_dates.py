"""One way to write a moment and one to write a day on every page, in the reader's language.

A browser review found four formats side by side (``2026-12-05T10:00:00.000Z`` from STIX,
``2026-12-05 10:00:00+00:00``, a bare date, a localised date without its zone): the pages now
use the ``datetime`` and ``date`` filters only, and name the zone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from colsec.web.i18n import environment, format_day, format_when

from .conftest import csrf_of
from .test_i18n import _switch, untranslated

Client = Callable[..., TestClient]
RAW = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|[+-]\d{2}:\d{2}\b|\d{2}:\d{2}:\d{2}")
WHEN = {
    "en": re.compile(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC"),
    "ru": re.compile(r"\b\d{1,2} [а-я]{3,4}\.? \d{4}, \d{2}:\d{2} UTC"),
}


class _Shown(HTMLParser):
    """Every text a reader sees (``translate="no"`` data included), less scripts, styles, ``<code>``
    and ``<samp>`` (raw records shown as such: an audit entry's JSON details)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code", "samp"):
            self.skip += 1
        elif not self.skip:
            self.texts.extend(v for k, v in attrs if k in ("title", "aria-label", "placeholder") and v)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code", "samp"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip and data.strip():
            self.texts.append(data.strip())


def shown(html: str) -> list[str]:
    p = _Shown()
    p.feed(html)
    return p.texts


@pytest.mark.parametrize(
    ("value", "en", "ru"),
    [
        (datetime(2026, 12, 5, 10, 0, tzinfo=UTC), "5 Dec 2026, 10:00 UTC", "5 дек. 2026, 10:00 UTC"),
        (datetime(2026, 12, 5, 10, 0), "5 Dec 2026, 10:00 UTC", "5 дек. 2026, 10:00 UTC"),  # stored naive: UTC
        (datetime(2026, 12, 5, 12, 0, tzinfo=timezone(timedelta(hours=2))), "5 Dec 2026, 10:00 UTC", "5 дек. 2026, 10:00 UTC"),
        ("2026-01-01T00:00:00.000Z", "1 Jan 2026, 00:00 UTC", "1 янв. 2026, 00:00 UTC"),  # a STIX timestamp
        ("2026-12-07T18:36:32.182661Z", "7 Dec 2026, 18:36 UTC", "7 дек. 2026, 18:36 UTC"),
        ("2026-12-05 10:00:00+00:00", "5 Dec 2026, 10:00 UTC", "5 дек. 2026, 10:00 UTC"),
        ("2026-11-11T07:00:00-02:00", "11 Nov 2026, 09:00 UTC", "11 нояб. 2026, 09:00 UTC"),  # a CAP "sent"
        (date(2026, 12, 5), "5 Dec 2026", "5 дек. 2026"),  # a day stays a day
        ("2026-12-05", "5 Dec 2026", "5 дек. 2026"),
        (None, "", ""),
        ("", "", ""),
        ("soon", "soon", "soon"),  # not a date: shown as it is, never lost
    ],
)  # fmt: skip
def test_the_datetime_filter_writes_one_format_with_its_zone(value: object, en: str, ru: str) -> None:
    assert environment("en").filters["datetime"](value) == en
    assert environment("ru").filters["datetime"](value) == ru
    assert format_when(value, "en") == en


def test_the_date_filter_writes_the_day_of_any_date_or_moment() -> None:
    for value in (
        date(2026, 11, 20),
        datetime(2026, 11, 20, 23, 59),
        "2026-11-20",
        "2026-11-20T12:00:00.000Z",
    ):
        assert environment("en").filters["date"](value) == "20 Nov 2026"
        assert environment("ru").filters["date"](value) == "20 нояб. 2026"
    assert format_day("2026-11-20T23:30:00-02:00", "en") == "21 Nov 2026"  # the UTC day
    assert environment("en").filters["date"](None) == "" and format_day("later", "ru") == ""


def test_a_meeting_is_shown_in_its_own_zone_in_the_same_format() -> None:
    starts = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    assert format_when(starts, "en", tz="Asia/Almaty") == "5 Dec 2026, 15:00"  # the page names the zone
    assert format_when(starts, "ru", tz="Europe/Riga") == "5 дек. 2026, 12:00"
    assert format_when(starts, "en", tz="Nowhere/Land") == "5 Dec 2026, 10:00 UTC"


def test_the_filters_take_no_second_format() -> None:
    """A page asking for "short" or "medium" would bring a second format back."""
    with pytest.raises(TypeError):
        environment("en").filters["datetime"]("2026-12-05T10:00:00Z", "short")
    with pytest.raises(TypeError):
        environment("en").filters["date"]("2026-12-05", "medium")


def _group_with_a_meeting(c: TestClient) -> str:
    token = csrf_of(c.get("/groups").text)
    r = c.post("/groups", data={"csrf_token": token, "code": "G7", "name_en": "Dates group",
                                "name_ru": "Группа дат", "chair": "coordinator", "members": "NM-CERT, EV-CERT"},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[r.text.find("<main") :][:1500]
    url = r.headers["location"]
    r = c.post(f"{url}/meetings", data={"csrf_token": token, "title": "Plenary", "starts_at": "2030-03-01T10:30",
                                        "tz": "Asia/Almaty", "agenda": "Welcome"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:500]
    r = c.post(f"{url}/actions", data={"csrf_token": token, "title": "Glossary", "owner_organisation": "NM-CERT",
                                       "due_on": "2030-01-01"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:500]
    return url


def _first(c: TestClient, listing: str, pattern: str) -> str:
    m = re.search(pattern, c.get(listing).text)
    assert m, (listing, pattern)
    return m.group(1)


def test_pages_show_no_raw_timestamps_in_either_language(ui_client: Client) -> None:
    c = ui_client("coordinator")
    group = _group_with_a_meeting(c)
    pages = ["/", "/intel", "/crisis", "/crisis/1", "/crisis/1/replay", "/groups", group]
    pages += [_first(c, "/crisis/1", r'href="(/crisis/requests/\d+)"'),
              _first(c, "/crisis", r'href="(/crisis/consultations/\d+)"'),
              _first(c, "/crisis/1", r'href="(/crisis/cap/\d+)"')]  # fmt: skip
    for typ in ("indicator", "sighting", "report", "incident"):
        pages.append(_first(c, f"/intel?type={typ}", rf'href="(/intel/{typ}--[^"]+)"'))
    admin = ui_client("admin")
    admin_pages = [
        "/admin/audit",
        "/admin/jobs",
        "/admin/tokens",
        "/admin/organisations",
        "/reports/schedules",
    ]
    for lang in ("ru", "en"):
        for client, paths in ((c, pages), (admin, admin_pages)):
            _switch(client, lang)
            for path in paths:
                r = client.get(path)
                assert r.status_code == 200, (path, r.status_code)
                raw = [t for t in shown(r.text) if RAW.search(t)]
                assert raw == [], (lang, path, raw)
                assert untranslated(r.text, lang) == [], (lang, path)
        for path in ("/crisis/1", pages[-1]):  # the moments are there, their zone named
            assert WHEN[lang].search(" ".join(shown(c.get(path).text))), (lang, path)
        meeting = {"en": "1 Mar 2030, 10:30 (Asia/Almaty)", "ru": "1 мар. 2030, 10:30 (Asia/Almaty)"}[lang]
        assert meeting in " ".join(shown(c.get(group).text)), lang  # in its own zone, the zone named
    ru_object = c.get(pages[-1]).text  # a STIX timestamp: shown once, still machine-readable
    assert re.search(r'<time datetime="\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z">', ru_object)
