"""Alerts inbox and exposure pages over HTTP (TestClient on the demo): each role sees what it may do,
forms act through the domain, both languages render, and the badge and event stream count new alerts."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from .conftest import csrf_of

Client = Callable[..., TestClient]


def _first_alert(html: str) -> int:
    m = re.search(r'data-alert-id="(\d+)"', html)
    assert m, "the inbox lists no alert"
    return int(m.group(1))


def _badge(html: str) -> int:
    m = re.search(r'data-testid="alert-badge"[^>]*>([\d\s\u00a0,]+)<', html)
    assert m, "no alert badge in the navigation"
    return int(re.sub(r"\D", "", m.group(1)))


def test_analyst_acknowledges_assigns_and_closes(ui_client: Client) -> None:
    c = ui_client("nm-analyst")
    inbox = c.get("/alerts")
    assert inbox.status_code == 200 and 'data-testid="alert-table"' in inbox.text
    before = _badge(inbox.text)
    alert_id = _first_alert(inbox.text)
    token = csrf_of(inbox.text)
    r = c.post(
        f"/alerts/{alert_id}/acknowledge",
        data={"csrf_token": token, "next": "/alerts"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/alerts"
    assert _badge(c.get("/alerts").text) == before - 1
    detail = c.get(f"/alerts/{alert_id}")
    assert "nm-analyst" in detail.text and 'data-testid="alert-close"' in detail.text
    r = c.post(
        f"/alerts/{alert_id}/assign", data={"csrf_token": token, "assignee": "nm-rep"}, follow_redirects=False
    )
    assert r.status_code == 303
    r = c.post(f"/alerts/{alert_id}/close", data={"csrf_token": token, "reason": ""}, follow_redirects=False)
    assert (
        r.status_code == 422 and "Укажите, почему оповещение закрывается." in r.text
    )  # the analyst reads Russian
    r = c.post(
        f"/alerts/{alert_id}/close", data={"csrf_token": token, "reason": "blocked"}, follow_redirects=False
    )
    assert r.status_code == 303
    api = c.get(f"/api/v1/intel/alerts/{alert_id}").json()
    assert (api["state"], api["assigned_to"], api["close_reason"], api["acknowledged_by"]) == (
        "closed", "nm-rep", "blocked", "nm-analyst",
    )  # fmt: skip
    closed = c.get("/alerts?state=closed")
    assert f'data-alert-id="{alert_id}"' in closed.text
    assert f'data-alert-id="{alert_id}"' not in c.get("/alerts").text
    # the event stream behind the live badge counts what the page shows
    expected = _badge(c.get("/alerts").text)
    with c.stream("GET", "/alerts/events?once=true") as r:
        body = "".join(r.iter_text())
    m = re.search(r'event: badge\ndata: \{"new":(\d+),"last":(\d+)\}', body)
    assert m and int(m.group(1)) == expected and int(m.group(2)) > 0


def test_viewer_reads_but_is_offered_no_action_and_other_members_get_404(ui_client: Client) -> None:
    nm = ui_client("nm-analyst")
    nm_alert = _first_alert(nm.get("/alerts").text)
    asset = re.search(r'href="/assets/(\d+)"', nm.get("/assets").text)
    assert asset
    other = ui_client("sd-analyst")
    assert other.get(f"/alerts/{nm_alert}").status_code == 404
    assert other.get(f"/assets/{asset.group(1)}").status_code == 404
    assert other.get(f"/api/v1/intel/alerts/{nm_alert}").status_code == 404
    c = ui_client("viewer")
    inbox = c.get("/alerts")
    assert inbox.status_code == 200
    assert "/acknowledge" not in inbox.text
    if 'data-alert-id="' in inbox.text:
        alert_id = _first_alert(inbox.text)
        assert 'data-testid="alert-close"' not in c.get(f"/alerts/{alert_id}").text
        r = c.post(
            f"/alerts/{alert_id}/acknowledge",
            data={"csrf_token": csrf_of(inbox.text)},
            follow_redirects=False,
        )
        assert r.status_code == 403


def test_register_and_edit_an_asset_and_see_its_exposure(ui_client: Client) -> None:
    c = ui_client("ev-analyst")
    page = c.get("/assets")
    token = csrf_of(page.text)
    form = {"csrf_token": token, "name": "Eastvale grid", "sector": "energy", "criticality": "critical",
            "ip_ranges": "198.51.100.20/30\n", "domains": "grid.example.com", "cpes": "", "description": ""}  # fmt: skip
    r = c.post("/assets", data=form, follow_redirects=False)
    assert r.status_code == 303
    asset_page = c.get(r.headers["location"])
    assert asset_page.status_code == 200 and "Eastvale grid" in asset_page.text
    bad = c.post("/assets", data={**form, "name": "x", "ip_ranges": "not-a-range"}, follow_redirects=False)
    assert bad.status_code == 422 and "not-a-range" in bad.text
    r = c.post(r.headers["location"], data={**form, "sector": "power"}, follow_redirects=False)
    assert r.status_code == 303
    assert "power" in c.get(r.headers["location"]).text


@pytest.mark.slow
def test_pages_in_both_languages_without_untranslated_text(ui_client: Client) -> None:
    from .test_i18n import _switch, untranslated

    c = ui_client("nm-analyst")
    alert_id = _first_alert(c.get("/alerts").text)
    asset = re.search(r'href="/assets/(\d+)"', c.get("/assets").text)
    assert asset
    paths = ["/", "/alerts", "/alerts?state=closed", f"/alerts/{alert_id}", "/assets", f"/assets/{asset.group(1)}",
             "/vulnerabilities", "/vulnerabilities?kev=1", "/correlations", "/correlations?status=capped"]  # fmt: skip
    for lang in ("ru", "en"):
        _switch(c, lang)
        for path in paths:
            r = c.get(path)
            assert r.status_code == 200 and f'<html lang="{lang}">' in r.text, path
            assert untranslated(r.text, lang) == [], (lang, path)
        word = {"ru": "Каталог уязвимостей", "en": "Vulnerability catalogue"}[lang]
        assert word in c.get("/vulnerabilities").text


def test_map_shows_crisis_level_and_own_exposure_with_activity_apart(ui_client: Client) -> None:
    member = ui_client("nm-analyst")
    html = member.get("/").text
    levels = dict(re.findall(r'data-org="([^"]+)" data-crisis-level="(\d)"', html))
    assert levels and "4" in levels.values(), levels  # the demo crisis runs at level 4
    assert set(levels.values()) <= {"0", "4"}  # volume of data does not colour this map
    exposed = dict(re.findall(r'data-exposure-org="([^"]+)" data-exposure="(\d+)"', html))
    assert set(exposed) == {"NM-CERT"}  # a member sees its own exposure only
    assert 'data-testid="activity-map"' in html and 'data-testid="map-legend"' in html
    centre_html = ui_client("coordinator").get("/").text  # the crisis centre sees every member's
    centre = dict(re.findall(r'data-exposure-org="([^"]+)" data-exposure="(\d+)"', centre_html))
    assert {"NM-CERT", "EV-CERT"} <= set(centre)


def test_an_alerts_summary_is_worded_in_the_readers_language(ui_client: Client, demo_database) -> None:  # type: ignore[no-untyped-def]
    """The node wrote every alert's summary in English; a cross-member or vulnerability alert now
    reads in Russian too (the stored sentence stays for the API and older alerts)."""
    import orjson
    from sqlalchemy import select

    from colsec.accounts.models import Organisation
    from colsec.intel.models import Alert, AlertRecipient

    from .test_i18n import _switch, untranslated

    with demo_database.unit_of_work() as db:
        mine = (
            select(Alert)
            .join(AlertRecipient, AlertRecipient.alert_id == Alert.id)
            .join(Organisation, Organisation.id == AlertRecipient.organisation_id)
            .where(Organisation.short_name == "EV-CERT")
            .order_by(Alert.id)
        )
        kinds = {
            a.kind if a.cve is None else "cve": a.id
            for a in db.execute(mine).scalars()
            if "hours" in orjson.loads(a.details) or a.cve
        }
    assert {"cross_member", "cve"} <= set(kinds), kinds
    c = ui_client("ev-analyst")
    words = {
        "ru": ("Угроза сообщена", "затрагивает актив"),
        "en": ("Threat reported or sighted", "affects asset"),
    }
    for lang in ("ru", "en"):
        _switch(c, lang)
        for kind, word in zip(("cross_member", "cve"), words[lang], strict=True):
            r = c.get(f"/alerts/{kinds[kind]}")
            summary = r.text.split('data-testid="alert-title">')[1].split("</dd>")[0]
            assert word in summary and untranslated(r.text, lang) == [], (lang, kind, summary)
