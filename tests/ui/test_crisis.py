"""Crisis workspace pages: list, timeline, sitrep editor, request form, resource board, one-click answers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from colsec.accounts import service as accounts
from colsec.accounts.models import User

from .conftest import csrf_of
from .test_i18n import untranslated

crisis_service = pytest.importorskip("colsec.crisis.service")


def _actor(db: Any, username: str) -> Any:
    return accounts.actor_for(db, db.execute(select(User).where(User.username == username)).scalar_one())


def _crisis_with_consultation(database: Any) -> tuple[int, int, int]:
    from colsec.crisis.schemas import ConsultationIn, CrisisIn, IncidentIn, RequestIn, TransitionIn

    soon = datetime.now(UTC) + timedelta(hours=6)
    with database.unit_of_work() as db:
        analyst, rep, coord = _actor(db, "nm-analyst"), _actor(db, "nm-rep"), _actor(db, "coordinator")
        inc = crisis_service.report_incident(db, actor=analyst, data=IncidentIn(
            title="Ransomware at water utility", category="cyber", severity=4))  # fmt: skip
        crisis_service.triage_incident(
            db, actor=analyst, incident_id=inc.id, data=TransitionIn(note="confirmed")
        )
        crisis_service.escalate_incident(db, actor=rep, incident_id=inc.id, data=TransitionIn())
        c = crisis_service.open_crisis(
            db, actor=coord, data=CrisisIn(title="Water sector attack", incident_ids=[inc.id])
        )
        crisis_service.advance_crisis(db, actor=coord, crisis_id=c.id, to="active")
        req = crisis_service.create_request(db, actor=rep, crisis_id=c.id, data=RequestIn(
            capability="forensics", quantity=2, location="Northmark capital", needed_by=soon))  # fmt: skip
        crisis_service.submit_request(db, actor=rep, request_id=req.id)
        cons = crisis_service.open_consultation(db, actor=coord, request_id=req.id,
                                                data=ConsultationIn(question="Send forensic teams?", deadline=soon))  # fmt: skip
        return c.id, req.id, cons.id


def test_crisis_workspace_pages_and_one_click_answer(ui_client, demo_database) -> None:
    crisis_id, request_id, cons_id = _crisis_with_consultation(demo_database)
    rep = ui_client("ev-rep")
    home = rep.get("/").text
    assert 'data-testid="awaiting"' in home and "Send forensic teams?" in home  # countdown on the dashboard
    panel = rep.get("/dashboard/crisis-panel", headers={"HX-Request": "true"}).text
    assert panel.startswith("<section") and "Send forensic teams?" in panel  # the 30 s refresh
    listing = rep.get("/crisis").text
    assert "Water sector attack" in listing
    page = rep.get(f"/crisis/consultations/{cons_id}").text
    assert 'data-testid="stance-object"' in page
    r = rep.post(f"/crisis/consultations/{cons_id}/position",
                 data={"csrf_token": csrf_of(page), "stance": "abstain", "comment": ""})  # fmt: skip
    assert r.status_code == 200 and 'data-testid="my-position"' in r.text
    home = rep.get("/").text
    assert "Send forensic teams?" not in home.split('data-testid="awaiting"')[-1].split("</ul>")[0]
    # a cross-site post without the token does nothing
    other = ui_client("kd-rep")
    assert (
        other.post(f"/crisis/consultations/{cons_id}/position", data={"stance": "object"}).status_code == 403
    )

    coord = ui_client("coordinator")
    crisis_page = coord.get(f"/crisis/{crisis_id}").text
    assert 'data-testid="timeline"' in crisis_page
    r = coord.post(f"/crisis/{crisis_id}/sitreps", data={"csrf_token": csrf_of(crisis_page),
                   "summary": "Two plants isolated; backups verified.", "needs": "forensics", "actions": ""})  # fmt: skip
    assert r.status_code == 200 and "Two plants isolated" in r.text
    board = coord.get(f"/crisis/requests/{request_id}").text
    assert 'data-testid="coverage"' in board

    nm_rep = ui_client("nm-rep")
    page = nm_rep.get(f"/crisis/{crisis_id}").text
    r = nm_rep.post(f"/crisis/{crisis_id}/requests", data={"csrf_token": csrf_of(page), "capability": "water-purification",
                    "quantity": "3", "location": "Northmark delta", "needed_by": "2030-01-01T12:00", "submit": "1"})  # fmt: skip
    assert r.status_code == 200 and "Northmark delta" in r.text
    # "at once" really puts it to the members: the consultation is open and linked from the request
    assert 'data-testid="request-consultation"' in r.text
    cons_page = nm_rep.get(
        r.text.split('data-testid="request-consultation"')[0].rsplit('href="', 1)[1].split('"')[0]
    )
    assert cons_page.status_code == 200 and 'data-testid="answer-form"' in cons_page.text
    # its question, written by the node, is asked in each reader's language, with the capability's name
    asked = cons_page.url.path
    assert "№" in coord.get(asked).text.split("<h2>")[1].split("</h2>")[0]  # the coordinator reads Russian
    heading = ui_client("admin").get(asked).text.split("<h2>")[1].split("</h2>")[0]
    heading = re.sub(r"<[^>]+>", "", heading)  # the place, as written, is marked not to translate
    assert "Approve request #" in heading and "3 × water purification for Northmark delta?" in heading, (
        heading
    )
    assert "water-purification" not in heading

    admin = ui_client("admin")
    for client, lang in ((coord, "ru"), (admin, "en")):  # the demo's language settings
        for path in (
            "/",
            "/crisis",
            f"/crisis/{crisis_id}",
            f"/crisis/requests/{request_id}",
            f"/crisis/consultations/{cons_id}",
        ):
            html = client.get(path).text
            assert f'<html lang="{lang}">' in html
            assert untranslated(html, lang) == [], (lang, path)


def test_resource_board_offer_and_advance(ui_client, demo_database) -> None:
    with demo_database.unit_of_work() as db:
        approved = [r.id for r in crisis_service.list_requests(db, status="approved")]
    if not approved:
        pytest.skip("the demo has no approved request")
    rid = approved[0]
    ev = ui_client("ev-rep")  # EV-CERT owns the demo's forensic team
    board = ev.get(f"/crisis/requests/{rid}").text
    assert 'data-testid="offer-form"' in board
    r = ev.post(f"/crisis/requests/{rid}/offers", data={"csrf_token": csrf_of(board), "resource_id":
                board.split('name="resource_id"')[1].split('value="')[1].split('"')[0], "quantity": "1", "note": ""})  # fmt: skip
    # the member is not shown the crisis centre's step (acceptance)
    assert r.status_code == 200 and 'data-testid="offer-status"' in r.text
    assert 'data-testid="offer-accepted"' not in r.text
    coord = ui_client("coordinator")
    board = coord.get(f"/crisis/requests/{rid}").text
    offer_form = board.split('data-testid="offer-accepted"')[-2].rsplit('action="', 1)[1].split('"')[0]
    r = coord.post(offer_form, data={"csrf_token": csrf_of(board), "to": "accepted"})
    # accepted: the next step (commit) is the member's, so the coordinator is shown none for it
    assert r.status_code == 200 and 'data-testid="offer-committed"' not in r.text
    assert 'data-testid="offer-committed"' in ev.get(f"/crisis/requests/{rid}").text
    # a member cannot take the crisis centre's step
    kd = ui_client("kd-rep")
    page = kd.get(f"/crisis/requests/{rid}").text
    assert kd.post(offer_form, data={"csrf_token": csrf_of(page), "to": "accepted"}).status_code in (403, 409)


def test_a_cap_alert_is_a_page_with_its_xml_one_click_away(ui_client, demo_database) -> None:
    """The crisis page's CAP link opened the browser's raw XML tree: now a page in the reader's
    language, the XML as issued beside it."""
    from colsec.crisis.models import CapAlert

    with demo_database.unit_of_work() as db:
        alert = db.execute(select(CapAlert).where(CapAlert.crisis_id.is_not(None)).limit(1)).scalar_one()
        alert_id, identifier = alert.id, alert.identifier
    for who, lang in (("coordinator", "ru"), ("admin", "en")):
        c = ui_client(who)
        html = c.get(f"/crisis/cap/{alert_id}").text
        assert f'<html lang="{lang}">' in html and 'data-testid="cap-alert"' in html and identifier in html
        assert untranslated(html, lang) == [], lang
        xml = c.get(f"/crisis/cap/{alert_id}.xml")
        assert xml.headers["content-type"].startswith("application/xml") and identifier in xml.text
