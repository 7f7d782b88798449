"""Issue 17: the web import takes .json.gz like the CLI and its refusals lead back to the form;
the profile page sets the e-mail address notifications go to."""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from colsec.accounts.models import User
from colsec.db import Database
from colsec.job_wiring import build_runner
from colsec.settings import Settings

from .conftest import csrf_of
from .test_i18n import untranslated

BUNDLE = Path(__file__).parent / "data" / "small_bundle.json"


def _wait(c: TestClient, job: str) -> str:
    for _ in range(100):
        html = c.get(job).text
        if 'data-state="running"' not in html:
            return html
        time.sleep(0.1)
    raise AssertionError("import job still running")


def test_web_import_accepts_json_gz_and_refusal_leads_back_to_the_form(
    ui_client: Callable[..., TestClient], demo_database: Database, ui_settings: Settings
) -> None:
    c = ui_client("nm-analyst")
    token = csrf_of(c.get("/import").text)
    packed = gzip.compress(BUNDLE.read_bytes())
    r = c.post("/import", data={"csrf_token": token, "format": "auto", "tlp": "amber"},
               files={"file": ("small_bundle.json.gz", packed, "application/gzip")}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:500]
    assert 'data-state="running"' in c.get(r.headers["location"]).text  # queued: the page polls
    build_runner(demo_database, ui_settings, schedules=()).run_once()  # the app's worker, here by hand
    html = _wait(c, r.headers["location"])
    assert 'data-testid="import-done"' in html, html

    r = c.post("/import", data={"csrf_token": token, "format": "stix", "tlp": "green"},
               files={"file": ("cut.json.gz", packed[: len(packed) // 2], "application/gzip")})  # fmt: skip
    assert r.status_code == 422
    assert "cut.json.gz: the gzip file is truncated" in r.text
    back = re.search(r'<a href="([^"]+)" data-testid="error-back">', r.text)
    assert back is not None and back.group(1) == "/import?format=stix&amp;tlp=green"
    assert 'href="/">' not in r.text.split('data-testid="error-title"')[1]  # not the dashboard
    form = c.get("/import?format=stix&tlp=green").text
    assert '<option value="stix" selected>' in form
    assert re.search(r'<option value="green" selected', form)


def test_profile_page_sets_the_email_address(
    ui_client: Callable[..., TestClient], demo_database: Database
) -> None:
    c = ui_client("ev-analyst")  # a Russian-speaking demo user
    page = c.get("/profile")
    assert page.status_code == 200 and 'data-testid="profile-email"' in page.text
    assert untranslated(page.text, "ru") == []
    token = csrf_of(page.text)
    r = c.post(
        "/profile",
        data={"csrf_token": token, "email": " Analyst@EV-CERT.Example.ORG "},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/profile?saved=1"
    assert 'value="Analyst@ev-cert.example.org"' in c.get("/profile?saved=1").text
    bad = c.post("/profile", data={"csrf_token": token, "email": "analyst@localhost\r\nBcc: x@example.org"})
    assert bad.status_code == 422 and 'href="/profile" data-testid="error-back"' in bad.text
    with demo_database.unit_of_work(write=False) as s:
        stored = s.execute(select(User.email).where(User.username == "ev-analyst")).scalar_one()
    assert stored == "Analyst@ev-cert.example.org"
    en = ui_client("admin")
    assert untranslated(en.get("/profile").text, "en") == []
