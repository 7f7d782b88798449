"""The schedules page: the operator sets schedules in the browser, in Russian and English."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from colsec.accounts import service as accounts
from colsec.accounts.roles import SYSTEM, Role
from colsec.db import Database
from colsec.reports.models import BulletinSchedule
from colsec.reports.schedule import list_schedules
from colsec.store.models import AuditEntry

PASSWORD = "schedule-page-password-1"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
REFUSAL = {
    "en": 'Only a data-only <span translate="no">TLP:CLEAR</span> bulletin (no commentary, not a joint advisory) '
    "may be published automatically.",
    "ru": 'Автоматически может публиковаться только бюллетень <span translate="no">TLP:CLEAR</span> из одних данных',
}
TITLE = {"en": "Bulletin schedules", "ru": "Расписания бюллетеней"}


def _users(database: Database, lang: str) -> None:
    with database.unit_of_work() as s:
        org = accounts.create_organisation(
            s, actor=SYSTEM, name="Node agency", short_name="NODE", kind="member"
        )
        op = accounts.create_user(s, actor=SYSTEM, username="operator", password=PASSWORD, role=Role.ADMIN,
                                  org=org, language=lang)  # fmt: skip
        accounts.set_node_operator(s, actor=SYSTEM, user=op, operator=True)
        accounts.create_user(s, actor=SYSTEM, username="orgadmin", password=PASSWORD, role=Role.ADMIN, org=org,
                             language=lang)  # fmt: skip
        accounts.create_user(s, actor=SYSTEM, username="analyst", password=PASSWORD, role=Role.ANALYST, org=org,
                             language=lang)  # fmt: skip


def _login(app, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app)
    token = CSRF_RE.search(c.get("/login").text)
    assert token
    r = c.post("/login", data={"csrf_token": token.group(1), "username": username, "password": PASSWORD,
                               "next": "/"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    return c


def _csrf(c: TestClient) -> str:
    m = CSRF_RE.search(c.get("/reports/schedules").text)
    assert m
    return m.group(1)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_operator_sets_a_clear_auto_publishing_schedule_and_a_green_one_is_refused(
    app, database: Database, lang: str
) -> None:
    _users(database, lang)
    c = _login(app, "operator")
    listing = c.get("/reports")
    assert 'href="/reports/schedules"' in listing.text
    before = c.get("/reports/schedules")
    assert before.status_code == 200 and TITLE[lang] in before.text
    token = _csrf(c)

    r = c.post("/reports/schedules", data={"csrf_token": token, "kind": "daily", "audience": "clear",
                                           "at": "06:30", "auto_publish": "1"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/reports/schedules"
    with database.unit_of_work(write=False) as s:
        row = list_schedules(s)["daily"]
        assert (row.audience, row.hour, row.minute, row.commentary, row.auto_publish) == (
            0,
            6,
            30,
            False,
            True,
        )
        # the change is the operator's in the audit log, not the node's
        who = (
            s.execute(select(AuditEntry.actor).where(AuditEntry.action == "report.schedule")).scalars().all()
        )
        assert who == ["operator"]
    shown = c.get("/reports/schedules").text
    daily = re.search(r'<tr data-kind="daily">(.*?)</tr>', shown, re.S)
    assert daily and "06:30" in daily.group(1) and "TLP:CLEAR" in daily.group(1)

    refused = c.post("/reports/schedules", data={"csrf_token": token, "kind": "weekly", "audience": "green",
                                                 "at": "07:00", "auto_publish": "1"})  # fmt: skip
    assert refused.status_code == 422
    assert f'<html lang="{lang}">' in refused.text
    assert REFUSAL[lang] in refused.text and 'data-testid="schedule-error"' in refused.text
    assert "Traceback" not in refused.text and "only a data-only" not in refused.text
    assert re.search(r'<option value="green" selected', refused.text)  # the reader's values stay in the form
    with database.unit_of_work(write=False) as s:
        assert s.get(BulletinSchedule, "weekly") is None
        assert set(list_schedules(s)) == {"daily"}

    bad_time = c.post("/reports/schedules", data={"csrf_token": token, "kind": "weekly", "audience": "green",
                                                  "at": "25:00"})  # fmt: skip
    assert bad_time.status_code == 422
    assert (
        "The time must be a time of day" if lang == "en" else "Время должно быть временем суток"
    ) in bad_time.text
    c.close()


def test_the_page_and_the_form_answer_as_the_api_does_for_those_without_the_right(
    app, database: Database
) -> None:
    _users(database, "en")
    op = _login(app, "operator")
    token_ok = _csrf(op)
    assert token_ok
    for username in ("orgadmin", "analyst"):
        c = _login(app, username)
        assert 'href="/reports/schedules"' not in c.get("/reports").text
        assert c.get("/reports/schedules").status_code == 403
        token = CSRF_RE.search(c.get("/reports").text)
        assert token
        r = c.post("/reports/schedules", data={"csrf_token": token.group(1), "kind": "daily", "audience": "clear",
                                               "at": "06:30", "auto_publish": "1"})  # fmt: skip
        assert r.status_code == 403
        api = c.put("/api/v1/reports/schedules", json={"kind": "daily", "audience": "clear", "hour": 6},
                    headers={"X-CSRF-Token": token.group(1)})  # fmt: skip
        assert api.status_code == 403
        c.close()
    with database.unit_of_work(write=False) as s:
        assert list_schedules(s) == {}
    op.close()
