"""The UI in a real browser: Debian's chromium (headless) against uvicorn on 127.0.0.1 with the demo data.

Playwright drives ``/usr/bin/chromium`` (no browser download).  Every test saves a
screenshot under its pytest tmp dir.  One test records every request the pages
make and every console message: nothing may leave 127.0.0.1, and the CSP must
never have to block anything.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from colsec.demo import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DATA = Path(__file__).parent / "data"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="chromium is not installed (apt-get install chromium)"
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """uvicorn in a subprocess, on a copy of the demo database."""
    work = tmp_path_factory.mktemp("server")
    db = work / "colsec.db"
    shutil.copy(demo_template, db)
    port = _free_port()
    env = {
        **os.environ,
        "COLSEC_DATA_DIR": str(work),
        "COLSEC_DATABASE_URL": f"sqlite:///{db}",
        "COLSEC_SECRET_KEY": "browser-test-secret-key",
        "COLSEC_NODE_NAME": "test-node",
    }
    log = open(work / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "colsec.web.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError((work / "server.log").read_text())
            time.sleep(0.1)
        else:
            raise RuntimeError("server did not start")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    p = context.new_page()
    yield p
    p.screenshot(path=str(tmp_path / f"{request.node.name}.png"), full_page=True)
    assert (tmp_path / f"{request.node.name}.png").stat().st_size > 1000
    context.close()


def _login(page, server: str, username: str = "nm-analyst") -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server}/")
    assert "/login" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(f"{server}/")


def test_log_in_and_see_the_situational_picture(page, server: str) -> None:
    _login(page, server, "admin")
    assert page.locator("h1").inner_text() == "Situational picture"
    assert page.locator("[data-testid=member-map] path.member").count() == 7
    page.wait_for_selector("canvas#intel-chart[data-ready='1']")  # Chart.js ran under the CSP
    page.click("[data-chart-mode=byMember]")
    assert "current" in (page.get_attribute("[data-chart-mode=byMember]", "class") or "")


def test_wrong_password_is_refused(page, server: str) -> None:
    page.goto(f"{server}/login")
    page.fill("input[name=username]", "nm-analyst")
    page.fill("input[name=password]", "not the password")
    page.click("[data-testid=login-submit]")
    assert page.locator("[data-testid=login-error]").is_visible()


def test_switch_to_russian(page, server: str) -> None:
    _login(page, server, "wh-analyst")  # demo setting: English
    page.click("[data-testid=lang-ru]")
    page.wait_for_selector("html[lang=ru]")
    assert page.locator("h1").inner_text() == "Оперативная обстановка"
    assert page.locator("header nav").inner_text().split()[:1] == ["Обзор"]
    page.goto(f"{server}/intel")
    assert page.locator("[data-testid=search-submit]").inner_text() == "Найти"


def test_search_an_indicator_and_open_it(page, server: str) -> None:
    _login(page, server)
    page.goto(f"{server}/intel")
    page.fill("[data-testid=search-value]", "198.51.100.23")
    page.click("[data-testid=search-submit]")  # htmx swaps the results in place
    page.wait_for_url("**/intel?q=198.51.100.23*")
    links = page.locator("[data-testid=result-link]")
    links.first.wait_for()
    assert links.count() >= 1
    links.first.click()
    page.wait_for_url("**/intel/indicator--*")
    assert "198.51.100.23" in page.locator("dl.props").first.inner_text()
    assert page.locator("svg.graph line").count() >= 1  # relationship graph drawn


def test_import_a_file_and_see_it_appear(page, server: str) -> None:
    _login(page, server)
    page.goto(f"{server}/import")
    page.set_input_files("[data-testid=import-file]", str(DATA / "small_bundle.json"))
    page.click("[data-testid=import-submit]")
    page.wait_for_selector("[data-testid=import-done]")
    assert page.locator("[data-testid=inserted]").inner_text() == "3"
    page.click("[data-testid=to-intel]")
    page.fill("[data-testid=search-value]", "upload2.example.org")
    page.click("[data-testid=search-submit]")
    page.wait_for_selector("text=uploaded indicator 2")


def test_answer_a_consultation_with_one_click(page, server: str) -> None:
    _login(page, server, "kd-rep")  # the demo's generator consultation waits for Kaldera
    page.click("[data-testid=lang-en]")
    awaiting = page.locator("[data-testid=awaiting] a")
    if not awaiting.count():
        pytest.skip("the demo has no open consultation")
    awaiting.first.click()
    page.wait_for_selector("[data-testid=answer-form]")
    with page.expect_navigation():
        page.click("[data-testid=stance-agree]")
    page.wait_for_selector("[data-testid=my-position]")
    assert "agree" in page.locator("[data-testid=my-position]").inner_text()


def test_free_text_review(page, server: str) -> None:
    _login(page, server)
    page.goto(f"{server}/import")
    page.fill("[data-testid=import-text]", "C2 at 198.51.100.201 and review-me.example.net; ignore 192.0.2.1")
    page.click("[data-testid=import-submit]")
    boxes = page.locator("[data-testid=candidate]")
    boxes.first.wait_for()
    assert boxes.count() == 3
    boxes.nth(2).uncheck()  # the analyst rejects one candidate
    page.click("[data-testid=review-submit]")
    page.wait_for_selector("[data-testid=import-done]")
    assert page.locator("[data-testid=inserted]").inner_text() == "2"


def test_no_page_requests_anything_outside_this_node(page, server: str) -> None:
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    _login(page, server, "admin")
    page.wait_for_selector("canvas#intel-chart[data-ready='1']")
    visited = [
        "/intel",
        "/intel?q=203.0.113",
        "/import",
        "/admin/organisations",
        "/admin/users",
        "/admin/tokens",
    ]
    for path in visited:
        page.goto(f"{server}{path}")
        page.wait_for_load_state("networkidle")
    page.goto(f"{server}/crisis")
    crisis_links = page.locator("[data-testid=crisis-list] a")
    if crisis_links.count():
        crisis_links.first.click()
        page.wait_for_load_state("networkidle")
        board = page.locator("a[href^='/crisis/requests/']")
        if board.count():
            board.first.click()
            page.wait_for_load_state("networkidle")
    page.goto(f"{server}/intel?type=report")
    page.locator("[data-testid=result-link]").first.click()
    page.wait_for_load_state("networkidle")
    page.click("[data-testid=lang-ru]")
    page.wait_for_load_state("networkidle")
    assert len(requests) > 15
    outside = [u for u in requests if urlsplit(u).hostname != "127.0.0.1" and not u.startswith("data:")]
    assert outside == []
    assert problems == [], problems  # no CSP violation, no script error


def test_api_docs_render_from_this_node_under_the_csp(page, server: str) -> None:  # type: ignore[no-untyped-def]
    """Swagger UI is vendored (static/vendor/swagger-ui) and started by a file, not an inline script."""
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{server}/api/docs")
    page.wait_for_selector(".opblock", timeout=30000)
    # The node's operations, read from /api/openapi.json (Swagger UI renders the visible part of the list).
    assert page.locator(".opblock").count() >= 5 and "/taxii2/" in page.inner_text("#swagger-ui")
    outside = [u for u in requests if urlsplit(u).hostname != "127.0.0.1" and not u.startswith("data:")]
    assert outside == []
    assert problems == [], problems


AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"  # npm's axe-core, MPL-2.0 (LICENSE there)
AXE_PAGES = ["/", "/intel", "/intel?q=T1566", "/alerts", "/exposure/assets", "/crisis", "/groups", "/reports",
             "/exercises", "/import", "/profile"]  # fmt: skip


def test_pages_have_no_serious_accessibility_violations(page, server: str) -> None:  # type: ignore[no-untyped-def]
    """axe-core in the page (evaluated through the driver, so the CSP stays as served) on each page kind,
    and no horizontal scroll at 1366 and 1920 px."""
    source = AXE.read_text()
    _login(page, server, "nm-analyst")
    found: list[str] = []
    for lang in ("en", "ru"):
        if lang == "ru":
            page.click("[data-testid=lang-ru]")
            page.wait_for_load_state("networkidle")
        for path in [*AXE_PAGES, "object page", "crisis page"]:
            page.set_viewport_size({"width": 1366, "height": 900})
            if path == "object page":
                page.goto(f"{server}/intel?type=indicator")
                page.locator("[data-testid=result-link]").first.click()
            elif path == "crisis page":
                page.goto(f"{server}/crisis")
                page.locator("[data-testid=crisis-list] a").first.click()
            else:
                page.goto(f"{server}{path}")
            page.wait_for_load_state("networkidle")
            for width in (1366, 1920):  # the widths analysts' screens have: no sideways scrolling
                page.set_viewport_size({"width": width, "height": 900})
                page.wait_for_timeout(300)  # charts follow a resize on the next frames
                over = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                if over > 0:
                    found.append(f"{lang} {path}: {over} px wider than a {width} px window")
            page.evaluate(source)
            result = page.evaluate(
                "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            )
            for v in result:
                if v["impact"] in ("serious", "critical"):
                    targets = [n["target"] for n in v["nodes"][:3]]
                    found.append(f"{lang} {path}: {v['id']} ({v['impact']}) {targets}")
    assert found == [], "\n".join(found)
