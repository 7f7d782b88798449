"""The analyst's search in a real browser (Debian's chromium), in both languages: find an ATT&CK
technique by its id and a group by its name, open them, read references as links and the tactic strip."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from colsec.db import Database

from . import test_browser as _browser
from .attack_sample import load
from .test_browser import _login

# The browser tests' fixtures and marks (chromium required, slow), over the demo data plus the sample.
pytestmark = _browser.pytestmark
browser = _browser.browser
page = _browser.page
server = _browser.server


@pytest.fixture(scope="module")
def demo_template(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo alliance plus the ATT&CK sample: the browser tests' ``server`` serves a copy of it."""
    path = tmp_path_factory.mktemp("attack") / "demo.db"
    shutil.copy(demo_template, path)
    database = Database(f"sqlite:///{path}")
    load(database)
    database.dispose()
    return path


def _search(page, text: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("[data-testid=search-value]", text)
    page.click("[data-testid=search-submit]")  # htmx swaps the results in place
    page.wait_for_url("**/intel?q=*")
    page.locator("[data-testid=result-link]").first.wait_for()


@pytest.mark.parametrize(("user", "lang", "tactic", "refs_title"), [
    ("wh-analyst", "en", "Initial access", "External references"),
    ("nm-analyst", "ru", "Первоначальный доступ", "Внешние ссылки"),
], ids=["en", "ru"])  # fmt: skip
def test_search_by_attack_id_and_by_name_then_open(page, server: str, user, lang, tactic, refs_title) -> None:  # type: ignore[no-untyped-def]
    _login(page, server, user)
    page.goto(f"{server}/intel")
    assert page.locator("html").get_attribute("lang") == lang
    _search(page, "T1566")
    links = page.locator("[data-testid=result-link]")
    assert sorted(links.all_inner_texts()) == ["Phishing", "Spearphishing Attachment"]
    assert "T1566.001" in page.locator("[data-testid=results]").inner_text()
    page.get_by_role("link", name="Phishing", exact=True).click()
    page.wait_for_url("**/intel/attack-pattern--*")
    ref = page.locator("[data-testid=external-reference] a").first
    assert ref.inner_text() == "T1566"
    assert ref.get_attribute("href") == "https://attack.mitre.org/techniques/T1566/"
    assert refs_title in page.locator("dl.props").first.inner_text()
    assert tactic in page.locator("[data-testid=tactic-strip] li.hit").first.inner_text()

    page.goto(f"{server}/intel")
    _search(page, "sandworm team")
    page.get_by_role("link", name="Sandworm Team", exact=True).first.click()
    page.wait_for_url("**/intel/intrusion-set--*")
    assert page.locator("[data-testid=tactic-strip] li.hit").count() == 3
    page.locator("[data-testid=tactic-strip] a", has_text="Valid Accounts").click()
    page.wait_for_url("**/intel/attack-pattern--*")
    assert page.locator("[data-testid=object-name]").inner_text() == "Valid Accounts"
    # a page of reading size, not thousands of pixels
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
