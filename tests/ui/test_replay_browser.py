"""Replay in a real browser (Debian's chromium), in both languages: the demo crisis as it stands now,
then, moving the slider to the first recorded change, as it stood when it was opened."""

from __future__ import annotations

from typing import Any

import pytest

from colsec.crisis.demo import DEMO_CRISIS_TITLE

from .test_browser import CHROMIUM, CHROMIUM_ARGS, _login, browser, server  # noqa: F401 - fixtures
from .test_crisis_browser import english_on, people  # noqa: F401 - fixture

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(), reason="chromium is not installed"),
]


def _state(p: Any) -> dict[str, Any]:
    return {
        "status": p.locator("[data-testid=replay-crisis-status]").get_attribute("data-status"),
        "level": p.locator("[data-testid=replay-alert-level]").inner_text(),
        "requests": p.locator("[data-testid=replay-requests] tbody tr").count(),
        "deployed": p.locator("[data-testid=replay-deployments] li").count(),
    }


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_slider_shows_the_crisis_as_it_stood(people: Any, server: str, lang: str) -> None:  # noqa: F811
    p = people("coordinator", lang)
    p.goto(f"{server}/crisis")
    with p.expect_navigation():
        p.locator(f"a:has-text('{DEMO_CRISIS_TITLE}')").first.click()
    with p.expect_navigation():
        p.click("[data-testid=replay-link]")
    assert p.url.endswith("/replay")
    # now: active at alert level 4, two requests, the forensic team deployed
    assert _state(p) == {"status": "active", "level": "4", "requests": 2, "deployed": 1}
    slider = p.locator("[data-testid=replay-slider]")
    last = int(slider.get_attribute("max") or 0)
    assert last > 10 and slider.input_value() == str(last)
    # the first recorded change: the crisis had just been opened at alert level 3
    with p.expect_navigation():
        slider.fill("0")
    assert "at=" in p.url and slider.input_value() == "0"
    assert _state(p) == {"status": "opened", "level": "3", "requests": 0, "deployed": 0}
    assert p.locator("[data-testid=replay-no-deployment]").is_visible()
    # one step on: the crisis is active
    with p.expect_navigation():
        slider.fill("1")
    assert _state(p)["status"] == "active"
    if lang == "ru":
        assert english_on(p) == []
