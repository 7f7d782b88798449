"""The after-action report: both languages, no untranslated string, figures equal to the API's; PDF."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.ui.conftest import csrf_of
from tests.ui.test_i18n import untranslated

from colsec.db import Database
from colsec.exercises import delivery, views
from colsec.exercises import run as runs
from colsec.web.i18n import environment
from colsec.web.ui.exercises import report_document

from .conftest import scenario_doc

API = "/api/v1/exercises"


def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


def _login(client: TestClient, account: Any) -> None:
    page = client.get("/login")
    r = client.post("/login", data={"csrf_token": csrf_of(page.text), "username": account.user.username,
                                    "password": account.password, "next": "/"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:300]


def test_report_in_both_languages_matches_the_api(
    client: TestClient, database: Database, alliance: Any
) -> None:
    ctl = alliance.controller.headers
    sc = _ok(client.post(f"{API}/scenarios", headers=ctl, json=scenario_doc()), 201)
    run = _ok(
        client.post(f"{API}/runs", headers=ctl, json={"scenario_id": sc["id"], "name": "Report drill"}), 201
    )
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    with database.unit_of_work() as s:
        runs.move(s, actor=alliance.controller.actor, run_id=run["id"], to="running", now=t0)
    delivery.deliver_pass(database, node_name="n", now=t0 + timedelta(seconds=120))
    _ok(client.post(f"{API}/runs/{run['id']}/injects/2/acknowledge", headers=alliance.reps["EV"].headers))
    _ok(
        client.post(
            f"{API}/runs/{run['id']}/notes",
            headers=ctl,
            json={"kind": "recommendation", "text": "Pre-agree forensics", "owner": "NM CERT"},
        ),
        201,
    )
    with database.unit_of_work() as s:
        runs.move(s, actor=alliance.controller.actor, run_id=run["id"], to="ended", now=datetime.now(UTC))
    api = _ok(client.get(f"{API}/runs/{run['id']}/scores", headers=ctl))
    assert api["counts"]["missed"] >= 1 and api["score"] is not None

    _login(client, alliance.controller)
    for lang in ("en", "ru"):
        r = client.post(
            "/lang", data={"csrf_token": csrf_of(client.get("/").text), "lang": lang, "next": "/"}
        )
        assert f'<html lang="{lang}">' in r.text
        html = client.get(f"/exercises/runs/{run['id']}/report").text
        assert f'<html lang="{lang}">' in html
        assert untranslated(html, lang) == [], lang
        assert 'data-testid="exercise-banner"' in html and "Pre-agree forensics" in html
        num = environment(lang).filters["number"]
        assert re.search(r'data-testid="run-score">([^<]+)<', html).group(1) == f"{num(api['score'])} %"  # type: ignore[union-attr]
        orgs = re.findall(r'data-testid="org-score">([^<]+)<', html)
        assert orgs == [
            f"{num(o['score'])} %" if o["score"] is not None else "—" for o in api["organisations"]
        ]
        assert len(re.findall(r'data-testid="action-status"', html)) == len(api["actions"])
        page = client.get(f"/exercises/runs/{run['id']}").text
        assert untranslated(page, lang) == [], lang
        listing = client.get("/exercises").text
        assert untranslated(listing, lang) == [], lang
    # the printed report (aggregates) in both languages: no untranslated string, the API's numbers
    with database.unit_of_work(write=False) as s:
        data = views.report(s, runs.get_run(s, run_id=run["id"]))
    for lang in ("en", "ru"):
        doc = report_document(data, lang)
        assert untranslated(doc, lang) == [], lang
        num = environment(lang).filters["number"]
        assert re.search(r'data-testid="run-score">([^<]+)<', doc).group(1) == f"{num(api['score'])} %"  # type: ignore[union-attr]
        assert re.findall(r'data-testid="org-score">([^<]+)<', doc) == [
            f"{num(o['score'])} %" if o["score"] is not None else "—" for o in api["organisations"]
        ]
        assert "Pre-agree forensics" in doc and 'data-testid="report-chart"' in doc
        assert len(re.findall(r'data-testid="timeline-row"', doc)) == len(data["timeline"])
    # the CSV annex: every expected action with the API's result
    annex = client.get(f"/exercises/runs/{run['id']}/report?format=csv")
    assert annex.status_code == 200 and annex.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(annex.text)))
    assert {int(r["number"]): r["status"] for r in rows} == {a["number"]: a["status"] for a in api["actions"]}
    assert client.get(f"/exercises/runs/{run['id']}/report?format=docx").status_code == 422
    # a run's crisis objects, opened through the ordinary crisis pages, carry the banner
    detail = {i["number"]: i for i in _ok(client.get(f"{API}/runs/{run['id']}", headers=ctl))["injects"]}
    consultation = detail[3]["refs"].split()[0].split(":")[1]
    assert 'data-testid="exercise-banner"' in client.get(f"/crisis/consultations/{consultation}").text
    # a participant sees the inbox, not the report
    member = TestClient(client.app)
    with member:
        _login(member, alliance.reps["EV"])
        page = member.get(f"/exercises/runs/{run['id']}").text
        assert 'data-testid="exercise-inbox"' in page and 'data-testid="exercise-scores"' not in page
        assert member.get(f"/exercises/runs/{run['id']}/report").status_code == 403


@pytest.mark.slow
def test_report_pdf(client: TestClient, database: Database, alliance: Any) -> None:
    pytest.importorskip("weasyprint")
    ctl = alliance.controller.headers
    sc = _ok(client.post(f"{API}/scenarios", headers=ctl, json=scenario_doc("pdf")), 201)
    run = _ok(client.post(f"{API}/runs", headers=ctl, json={"scenario_id": sc["id"]}), 201)
    _login(client, alliance.controller)
    r = client.get(f"/exercises/runs/{run['id']}/report?format=pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")


def test_printed_timeline_counts_long_runs_in_groups() -> None:
    """Past ``DIGEST_ROWS`` injects the printed timeline groups consecutive injects; no count is lost."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    timeline = [
        {"number": n, "channel": "message" if n % 3 else "consultation", "title": f"Inject {n}",
         "status": "delivered" if n <= 90 else "pending", "delivered_at": at + timedelta(seconds=n) if n <= 90 else None}
        for n in range(1, 101)
    ]  # fmt: skip
    statuses = ("met", "late", "missed", "pending")
    actions = [
        {"number": k, "inject_number": 1 + k % 100, "status": statuses[k % 4], "override_reason": "radio" if k == 7 else ""}
        for k in range(1, 351)
    ]  # fmt: skip
    d = views.digest({"figures": {"actions": actions}, "timeline": timeline}, rows=40)
    rows = d["timeline_rows"]
    assert d["grouped"] and len(rows) <= 40
    assert [r["first"] for r in rows] == sorted(r["first"] for r in rows) and rows[-1]["last"] == 100
    assert sum(r["expected"] for r in rows) == len(actions)
    for k in statuses:
        assert sum(r[k] for r in rows) == sum(1 for a in actions if a["status"] == k)
    assert (
        sum(r["states"]["delivered"] for r in rows) == 90 and sum(r["states"]["pending"] for r in rows) == 10
    )
    assert [a["number"] for a in d["overrides"]] == [7] and d["action_count"] == 350
    small = views.digest({"figures": {"actions": actions[:5]}, "timeline": timeline[:12]}, rows=40)
    assert not small["grouped"] and [r["title"] for r in small["timeline_rows"]] == [
        f"Inject {n}" for n in range(1, 13)
    ]
