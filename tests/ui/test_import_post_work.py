"""A large import leaves its correlation, scores and exposure to a job queued as the node: the
analyst's import page says that work is pending, then done, in the reader's language; a small
import says nothing of it, and nobody else sees the page."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from colsec.db import Database
from colsec.intel.hooks import AFTER_IMPORT_KIND
from colsec.intel.models import IndicatorScore
from colsec.settings import Settings

from .conftest import csrf_of
from .test_i18n import _switch, untranslated

BUNDLE = Path(__file__).parent / "data" / "small_bundle.json"  # three indicators
NOTE_RE = re.compile(r'data-testid="post-import" data-state="(\w+)">(.*?)</p>', re.S)


@pytest.fixture
def ui_settings(ui_settings: Settings) -> Settings:
    """Three new versions are a large import here (the default is 100,000)."""
    return ui_settings.model_copy(update={"intel_defer_after": 3})


def _upload(c: TestClient, name: str, data: bytes) -> str:
    token = csrf_of(c.get("/import").text)
    r = c.post("/import", data={"csrf_token": token, "format": "auto", "tlp": "amber"},
               files={"file": (name, data, "application/json")}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:500]
    return str(r.headers["location"])


def _note(html: str) -> tuple[str, str] | None:
    m = NOTE_RE.search(html)
    return (m.group(1), " ".join(m.group(2).split())) if m else None


def _scored(database: Database) -> int:
    with database.unit_of_work(write=False) as s:
        return int(s.execute(select(func.count()).select_from(IndicatorScore)).scalar_one())


def test_big_import_page_says_its_post_import_work_is_pending_then_done(
    ui_app: Any, ui_client: Callable[..., TestClient], demo_database: Database
) -> None:
    c = ui_client("sd-analyst")
    page = _upload(c, "small_bundle.json", BUNDLE.read_bytes())
    runner = ui_app.state.node.job_runner(schedules=())
    after_import = runner.handlers.pop(AFTER_IMPORT_KIND)  # the import runs; the work it queues waits
    scored = _scored(demo_database)
    assert runner.run_once() == 1

    html = c.get(page).text
    assert 'data-testid="import-done"' in html
    assert _note(html) == (
        "queued",
        "Correlation, scores and exposure are pending for 3 new versions: queued.",
    )
    assert 'hx-trigger="every 3s"' in html  # the page keeps asking until that work is done
    assert untranslated(html, "en") == []
    _switch(c, "ru")
    html = c.get(page).text
    assert _note(html) == (
        "queued",
        "Корреляция, оценки и угрозы активам ещё не рассчитаны для 3 новых версий: в очереди.",
    )
    assert untranslated(html, "ru") == []
    assert _scored(demo_database) == scored

    runner.handlers[AFTER_IMPORT_KIND] = after_import
    assert runner.run_once() == 1  # the queued job, run by the node's own runner
    assert _scored(demo_database) == scored + 3
    html = c.get(page).text
    assert _note(html) == ("done", "Корреляция, оценки и угрозы активам для 3 новых версий рассчитаны.")
    assert "hx-trigger" not in html
    _switch(c, "en")
    html = c.get(page).text
    assert _note(html) == ("done", "Correlation, scores and exposure of 3 new versions are done.")
    assert untranslated(html, "en") == []

    # The page is its importer's: a colleague and another organisation's analyst get nothing.
    assert ui_client("sd-rep").get(page).status_code == 404
    assert ui_client("ev-analyst").get(page).status_code == 404


def test_small_import_says_nothing_of_post_import_work(
    ui_app: Any, ui_client: Callable[..., TestClient], demo_database: Database
) -> None:
    bundle = json.loads(BUNDLE.read_text().replace("5b0e9a52-1111", "5b0e9a52-2222"))
    bundle["objects"] = bundle["objects"][:2]
    c = ui_client("sd-analyst")
    page = _upload(c, "two.json", json.dumps(bundle).encode())
    scored = _scored(demo_database)
    assert ui_app.state.node.job_runner(schedules=()).run_once() == 1  # the import, nothing after it
    html = c.get(page).text
    assert 'data-testid="import-done"' in html and _note(html) is None and "hx-trigger" not in html
    assert _scored(demo_database) == scored + 2  # scored in the import's own transaction


def test_reviewed_text_import_says_its_post_import_work_is_pending(
    ui_app: Any, ui_client: Callable[..., TestClient]
) -> None:
    c = ui_client("sd-analyst")
    token = csrf_of(c.get("/import").text)
    text = "C2 at 198.51.100.211, 198.51.100.212 and 198.51.100.213"
    review = c.post("/import", data={"csrf_token": token, "format": "text", "tlp": "green", "text": text})
    accepted = [v.replace("&#9;", "\t") for v in re.findall(r'name="accept" value="([^"]+)"', review.text)]
    assert len(accepted) == 3, review.text[:2000]
    r = c.post("/import/review", data={"csrf_token": csrf_of(review.text), "tlp": "green", "accept": accepted},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:500]
    html = c.get(r.headers["location"]).text
    assert _note(html) == (
        "queued",
        "Correlation, scores and exposure are pending for 3 new versions: queued.",
    )
    assert ui_app.state.node.job_runner(schedules=()).run_once() == 1
    assert _note(c.get(r.headers["location"]).text) == (
        "done",
        "Correlation, scores and exposure of 3 new versions are done.",
    )
