"""The analyst's alert day in a real browser (Debian's chromium), in Russian and in English.

Open the inbox, acknowledge an alert, close one with a reason, register an asset; then a
shared indicator arrives from another member and the navigation badge counts it without a
reload (server-sent events).  Nothing may leave 127.0.0.1 and the CSP must block nothing.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import httpx
import pytest

from colsec.demo import DEMO_PASSWORD

from .test_browser import _login, browser, page, server  # noqa: F401 - fixtures shared with the browser tests

pytestmark = [pytest.mark.slow]

TEXT = {
    "en": {"h1": "Alerts", "closed": "closed", "acknowledged": "acknowledged"},
    "ru": {"h1": "Оповещения", "closed": "закрыт", "acknowledged": "подтверждено"},
}


def _badge(p) -> int:  # type: ignore[no-untyped-def]
    return int(re.sub(r"\D", "", p.locator("[data-testid=alert-badge]").inner_text()))


@pytest.mark.parametrize(
    ("lang", "username", "net"), [("ru", "nm-analyst", "100.64.1"), ("en", "sd-analyst", "100.64.2")]
)
def test_analyst_alert_day(page, server: str, lang: str, username: str, net: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("request", lambda r: problems.append(r.url) if urlsplit(r.url).hostname != "127.0.0.1" else None)
    _login(page, server, username)
    page.click(f"[data-testid=lang-{lang}]")
    page.wait_for_selector(f"html[lang={lang}]")
    words = TEXT[lang]

    page.goto(f"{server}/alerts")
    assert page.locator("h1").inner_text() == words["h1"]
    before = _badge(page)
    assert before >= 1
    first = page.locator("[data-testid=alert-table] tbody tr").first
    alert_id = first.get_attribute("data-alert-id")
    with page.expect_navigation():
        page.click(f"[data-testid=ack-{alert_id}]")
    assert _badge(page) == before - 1

    page.goto(f"{server}/alerts/{alert_id}")
    assert page.locator("[data-testid=alert-state]").inner_text() == words["acknowledged"]
    page.fill("[data-testid=alert-close-reason]", "patched" if lang == "en" else "обновлено")
    with page.expect_navigation():
        page.click("[data-testid=alert-close]")
    assert page.locator("[data-testid=alert-state]").inner_text() == words["closed"]
    assert page.locator("[data-testid=alert-reason]").inner_text() in ("patched", "обновлено")

    page.goto(f"{server}/assets")
    name = f"Substation {lang}"
    page.fill("[data-testid=asset-name]", name)
    page.fill("[data-testid=asset-sector]", "energy")
    page.select_option("[data-testid=asset-criticality]", "critical")
    page.fill("[data-testid=asset-ranges]", f"{net}.0/24")
    with page.expect_navigation():
        page.click("[data-testid=asset-save]")
    assert page.locator("h1").inner_text() == name

    # Another member shares an indicator inside the new range: the badge counts it live.
    page.goto(f"{server}/alerts")
    now_count = _badge(page)
    ts = "2026-12-01T10:00:00.000Z"
    indicator = {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}", "created": ts, "modified": ts,
        "pattern": f"[ipv4-addr:value = '{net}.77']", "pattern_type": "stix", "valid_from": ts,
        "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
    }  # fmt: skip
    with httpx.Client(base_url=server, timeout=30) as other:  # a Kaldera analyst, signed in apart
        token = re.search(r'name="csrf_token" value="([^"]+)"', other.get("/login").text)
        assert token
        form = {
            "csrf_token": token.group(1),
            "username": "kd-analyst",
            "password": DEMO_PASSWORD,
            "next": "/",
        }
        assert other.post("/login", data=form).status_code in (200, 303)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', other.get("/").text)
        assert csrf
        r = other.post("/api/v1/objects", json=indicator, headers={"X-CSRF-Token": csrf.group(1)})
    assert r.status_code == 201, r.text
    page.wait_for_function(
        "n => Number(document.querySelector('[data-testid=alert-badge]').textContent.replace(/\\D/g, '')) > n",
        arg=now_count,
        timeout=15000,
    )
    page.locator(f"text={net}.77").first.wait_for(timeout=15000)  # the open inbox reloaded its list
    assert problems == []
