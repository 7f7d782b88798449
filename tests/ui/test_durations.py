"""Durations in the reader's language: a scenario's deadlines and offsets were shown in seconds
("within 1800 s"), which nobody reads at a glance; the ``duration`` filter writes "30 min" /
"30 мин", "1 h 30 min" / "1 ч 30 мин", and the page keeps the seconds as a machine value."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from colsec.web.i18n import environment, format_duration

from .conftest import csrf_of
from .test_i18n import _switch, untranslated

SAMPLE = Path(__file__).parent / "data" / "exercise_scenario.yaml"


@pytest.mark.parametrize(
    ("seconds", "en", "ru"),
    [
        (0, "0 s", "0 с"),
        (45, "45 s", "45 с"),
        (900, "15 min", "15 мин"),
        (5400, "1 h 30 min", "1 ч 30 мин"),
        (90, "1 min 30 s", "1 мин 30 с"),
        (3661, "1 h 1 min 1 s", "1 ч 1 мин 1 с"),
        (7200, "2 h", "2 ч"),
        (90000, "1 d 1 h", "1 дн. 1 ч"),
        (timedelta(minutes=45), "45 min", "45 мин"),
        (59.6, "1 min", "1 мин"),
        (-900, "−15 min", "−15 мин"),
    ],
)
def test_duration_in_both_languages(seconds: Any, en: str, ru: str) -> None:
    assert format_duration(seconds, "en") == en
    assert format_duration(seconds, "ru") == ru
    for lang, text in (("en", en), ("ru", ru)):  # the same through the templates' filter
        assert environment(lang).from_string("{{ v|duration }}").render(v=seconds) == text


@pytest.mark.parametrize("value", [None, "", "900", True, object()])
def test_duration_of_something_that_is_no_duration_is_empty(value: Any) -> None:
    assert format_duration(value, "en") == "" and format_duration(value, "ru") == ""


def test_the_scenario_page_writes_offsets_and_deadlines_humanly(ui_client: Any, demo_database: Any) -> None:
    c = ui_client("coordinator")
    token = csrf_of(c.get("/exercises").text)
    yaml = SAMPLE.read_bytes().replace(b"name: flood-telecom", b"name: flood-durations")
    r = c.post("/exercises/scenarios", data={"csrf_token": token}, files={"file": ("f.yaml", yaml)},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    url = r.headers["location"]
    for lang, offset, within in (("en", "30 min", "within 10 min"), ("ru", "30 мин", "в течение 10 мин")):
        _switch(c, lang)
        html = c.get(url).text
        injects = html.split('data-testid="scenario-injects"', 1)[1].split("</table>", 1)[0]
        # inject 1 plays 1800 s after the start; its expectation is due within 600 s
        row = injects.split('data-testid="scenario-inject-1"', 1)[1].split("</tr>", 1)[0]
        assert f'<time datetime="PT1800S" data-seconds="1800" title="0:30:00">{offset}</time>' in row, row
        assert re.sub(r"<[^>]+>", "", row).count(within) == 1, row
        assert 'datetime="PT600S"' in row
        assert not re.search(r"\d{3,} (s|с)\b", re.sub(r"<[^>]+>", "", injects)), injects  # no "1800 s"
        assert not untranslated(html, lang), untranslated(html, lang)
