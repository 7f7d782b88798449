"""A working group's page in a real browser (Debian's chromium): every form its officers open can be
used with the mouse, in Russian and English.

The browser review found the meetings table's attendance checkboxes and the action items' buttons
painted under the neighbouring cards (the grid's columns were narrower than the tables), so
they could not be clicked.  Playwright clicks only what receives the pointer, as a person does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from .test_browser import CHROMIUM, CHROMIUM_ARGS, _login, browser, server  # noqa: F401 - fixtures
from .test_crisis_browser import english_on

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(), reason="chromium is not installed"),
]


@pytest.mark.parametrize(("lang", "width"), [("ru", 1366), ("en", 1920)])
def test_an_officer_runs_a_group_with_the_mouse(browser, server: str, lang: str, width: int) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    ctx = browser.new_context(locale="en-GB", viewport={"width": width, "height": 900})
    ctx.set_default_timeout(15000)
    try:
        p: Any = ctx.new_page()
        _login(p, server, "coordinator")
        p.click(f"[data-testid=lang-{lang}]")
        p.wait_for_selector(f"html[lang={lang}]")
        p.goto(f"{server}/groups")
        code = f"WG-{lang.upper()}{width}"
        p.fill("input[name=code]", code)
        p.fill("input[name=name_en]", f"Mouse test {lang}")
        p.fill("input[name=name_ru]", f"Проверка мышью {lang}")
        p.fill("input[name=members]", "NM-CERT, EV-CERT, SD-CERT, WH-CERT")
        with p.expect_navigation():
            p.click("form[action='/groups'] button[type=submit]")
        assert code in p.inner_text("h1")
        group_url = p.url

        p.click("[data-testid=meetings] details summary")  # plan a meeting
        p.fill("[data-testid=plan-meeting] input[name=title]", "Second meeting of the group")
        start = (datetime.now(UTC) + timedelta(days=3)).replace(hour=10, minute=0)
        p.fill("[data-testid=plan-meeting] input[name=starts_at]", start.strftime("%Y-%m-%dT%H:%M"))
        p.fill("[data-testid=plan-meeting] input[name=tz]", "Europe/Moscow")
        with p.expect_navigation():
            p.click("[data-testid=plan-meeting] button[type=submit]")

        p.goto(group_url)
        p.click("[data-testid=meetings] td details summary")  # record attendance
        for org in ("NM-CERT", "EV-CERT", "SD-CERT"):  # a person's click: it must reach the box
            p.click(f"form[data-testid^=hold-meeting] input[value={org}]", timeout=3000)
        with p.expect_navigation():
            p.click("form[data-testid^=hold-meeting] button[type=submit]", timeout=3000)

        p.goto(group_url)
        p.click("[data-testid=actions] details summary")
        p.fill("[data-testid=add-action] input[name=title]", "Patch the gateways")
        p.select_option("[data-testid=add-action] select[name=owner_organisation]", "NM-CERT")
        p.fill(
            "[data-testid=add-action] input[name=due_on]", (start + timedelta(days=30)).strftime("%Y-%m-%d")
        )
        with p.expect_navigation():
            p.click("[data-testid=add-action] button[type=submit]")
        p.goto(group_url)
        with p.expect_navigation():  # the chair starts it: the button is not under the papers card
            p.click("[data-testid=actions] button[value=in_progress]", timeout=3000)
        p.goto(group_url)
        assert p.locator("[data-testid=actions] button[value=done]").count() == 1
        if lang == "ru":
            assert english_on(p) == []
            assert "выполняется" in p.inner_text("[data-testid=actions]")  # an action item's own gender
    finally:
        ctx.close()
