"""The analyst's search in a real browser (Debian's chromium), in both languages: find an ATT&CK
technique by its id and a group by its name, open them, read references as links and the tactic strip."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from colsec.accounts.models import User
from colsec.accounts.roles import Actor, Role
from colsec.db import Database
from colsec.formats.service import import_source
from colsec.stix.tlp import TLP

from . import test_browser as _browser
from .attack_sample import load
from .test_browser import _login

# The browser tests' fixtures and marks (chromium required, slow), over the demo data plus the sample.
pytestmark = _browser.pytestmark
browser = _browser.browser
page = _browser.page
server = _browser.server


@pytest.fixture(scope="module")
def demo_template(demo_template: Path, tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """The demo alliance plus the ATT&CK sample: the browser tests' ``server`` serves a copy of it."""
    path = tmp_path_factory.mktemp("attack") / "demo.db"
    shutil.copy(demo_template, path)
    database = Database(f"sqlite:///{path}")
    load(database)
    with database.unit_of_work() as db:  # the public ICS ATT&CK catalogue: real, long ATT&CK pages
        user = db.execute(select(User).where(User.username == "wh-analyst")).scalar_one()
        actor = Actor(
            username="wh-analyst", role=Role.ANALYST, org_id=user.organisation_id, org_short_name=""
        )
        data = (shared_data / "attack" / "ics-attack-18.1.json").read_bytes()
        import_source(db, actor=actor, data=data, default_tlp=TLP.CLEAR)
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
    assert {"Phishing", "Spearphishing Attachment"} <= set(
        links.all_inner_texts()
    )  # (and ICS analytics citing it)
    assert "T1566.001" in page.locator("[data-testid=results]").inner_text()
    page.get_by_role("link", name="Phishing", exact=True).click()
    page.wait_for_url("**/intel/attack-pattern--*")
    ref = page.locator("[data-testid=external-reference] a").first
    assert ref.inner_text() == "T1566"
    assert ref.get_attribute("href") == "https://attack.mitre.org/techniques/T1566/"
    assert refs_title in page.locator("dl.props").first.inner_text()
    assert tactic in page.locator("[data-testid=tactic-strip] li.hit").first.inner_text()

    page.goto(f"{server}/intel")
    _search(page, "ember lynx")
    page.get_by_role("link", name="Ember Lynx", exact=True).click()
    page.wait_for_url("**/intel/intrusion-set--*")
    assert page.locator("[data-testid=tactic-strip] li.hit").count() == 3
    page.locator("[data-testid=tactic-strip] a", has_text="Valid Accounts").click()
    page.wait_for_url("**/intel/attack-pattern--*")
    assert page.locator("[data-testid=object-name]").inner_text() == "Valid Accounts"
    # a page of reading size, not thousands of pixels
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_attack_pages_are_of_reading_length(page, server: str, lang: str) -> None:  # type: ignore[no-untyped-def]
    """A group of the ICS ATT&CK catalogue (13 relationships): long lists fold, the page stays a few screens tall."""
    _login(page, server, "wh-analyst" if lang == "en" else "nm-analyst")
    page.goto(f"{server}/intel")
    _search(page, "Sandworm Team")
    page.get_by_role("link", name="Sandworm Team", exact=True).click()
    page.wait_for_url("**/intel/intrusion-set--*")
    assert page.locator("[data-testid=tactic-strip] li.hit").count() == 3  # its techniques: 3 ICS tactics
    assert page.locator("[data-testid=more-relationships]").count() == 1  # folded
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 3200, height
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.locator("[data-testid=more-relationships] summary").click()
    assert page.evaluate("document.documentElement.scrollHeight") > height  # everything still reachable
