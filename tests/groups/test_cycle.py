"""The full cycle with six organisations, over the API, with a real SMTP server and the job runner."""

from __future__ import annotations

import email
import hashlib
import io
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from icalendar import Calendar
from pypdf import PdfReader
from sqlalchemy import select, update

from colsec.accounts.roles import SYSTEM
from colsec.crisis.models import Notification
from colsec.db import Database
from colsec.groups.jobs import SWEEP_KIND
from colsec.groups.models import Meeting
from colsec.jobs import queue
from colsec.settings import Settings

from .conftest import MEMBERS, Committee


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def mail_app(
    database: Database, tmp_path: Path, smtp: tuple[_Inbox, int]
) -> Iterator[tuple[TestClient, Any]]:
    from colsec.web.app import create_app

    settings = Settings(
        data_dir=tmp_path / "data", database_url=database.url, secret_key="test-secret-key-not-for-production",
        smtp_host="127.0.0.1", smtp_port=smtp[1], smtp_from="secretariat@example.org",
    )  # fmt: skip
    app = create_app(settings, database=database)
    with TestClient(app) as c:
        yield c, app


def _deliver(app: Any) -> int:
    from colsec.outbox import deliver_due
    from colsec.outbox.senders import make_senders

    node = app.state.node
    return deliver_due(node.database, worker_id="t", senders=make_senders(node.database, app.state.settings))


def _sweep(database: Database, app: Any, at: datetime) -> dict[str, Any]:
    with database.unit_of_work() as s:
        job = queue.enqueue(s, kind=SWEEP_KIND, payload={"now": at.isoformat()}, actor=SYSTEM)
        job_id = job.id
    app.state.node.job_runner(schedules=()).run_once()
    with database.unit_of_work(write=False) as s:
        done = queue.get(s, job_id, SYSTEM)
        assert done.status == "succeeded", done.error
        return dict(done.result or {})


def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def test_full_cycle_six_organisations(
    mail_app: tuple[TestClient, Any], database: Database, committee: Committee, smtp: tuple[_Inbox, int]
) -> None:
    client, app = mail_app
    inbox, _ = smtp
    gid = committee.group_id
    sec, chair = committee.secretary.headers, committee.chair.headers
    starts = (datetime.now(UTC) + timedelta(days=10)).replace(
        hour=10, minute=0, second=0, microsecond=0, tzinfo=None
    )

    # a meeting in Vienna time with its agenda; invitations go to the group's mailing list with an .ics
    m = _ok(client.post(f"/api/v1/groups/{gid}/meetings", headers=sec, json={
        "title": "Spring plenary", "starts_at": starts.isoformat(), "tz": "Europe/Vienna", "place": "Vienna, room 3",
        "agenda": [{"title": "Exchange guideline", "presenter": "NM", "decision_sought": "adopt"},
                   {"title": "Any other business"}]}), 201)  # fmt: skip
    queued = _ok(client.post(f"/api/v1/groups/meetings/{m['id']}/invitations", headers=sec))
    assert queued["queued"] == 2 + 2 * len(MEMBERS) + 1  # chair, secretary, reps, deputies, observer
    assert _deliver(app) == queued["queued"]
    invites = [msg for msg in inbox.messages if "Invitation" in msg["Subject"]]
    assert len(invites) == queued["queued"]
    ics_parts = [p for p in invites[0].walk() if p.get_content_type() == "text/calendar"]
    assert len(ics_parts) == 1 and ics_parts[0].get_filename() == "invite.ics"
    cal = Calendar.from_ical(ics_parts[0].get_payload(decode=True))
    event = cal.walk("VEVENT")[0]
    start = event.decoded("dtstart")
    assert str(start.tzinfo) == "Europe/Vienna" and (start.hour, start.minute) == (10, 0)
    assert event["summary"] == "[WG3] Spring plenary" and "Exchange guideline" in str(event["description"])
    assert len(event["attendee"]) == queued["queued"] and cal.walk("VTIMEZONE")
    r = client.get(f"/api/v1/groups/meetings/{m['id']}/invite.ics", headers=committee.reps["KR"].headers)
    assert r.status_code == 200 and Calendar.from_ical(r.content).walk("VEVENT")[0]["uid"] == event["uid"]

    # attendance is recorded once the meeting has begun, not while it is still ahead
    early = client.post(f"/api/v1/groups/meetings/{m['id']}/held", headers=sec, json={"present": ["NM"]})
    assert early.status_code == 422 and early.json()["kind"] == "meeting_held_before_start", early.text
    _begun(database, m["id"])

    # held with five of six members present: quorum; a decision is recorded in the register
    held = _ok(client.post(f"/api/v1/groups/meetings/{m['id']}/held", headers=sec,
                           json={"present": ["NM", "EV", "SD", "WH", "KR", "OBS"]}))  # fmt: skip
    assert held["status"] == "held" and held["quorum_reached"] is True
    d = _ok(client.post(f"/api/v1/groups/meetings/{m['id']}/decisions", headers=sec,
                        json={"text_en": "The exchange guideline is adopted.", "text_ru": "Руководство по обмену принято."}), 201)  # fmt: skip
    assert (
        d["number"] == f"WG3-{datetime.now(UTC).year}-001"
        and d["how"] == "meeting"
        and "TL" not in d["positions"]
    )

    # minutes: drafted by the secretary (not the chair), approved by the chair (not the secretary), then frozen
    assert (
        client.post(f"/api/v1/groups/meetings/{m['id']}/minutes", headers=chair, json={}).status_code == 403
    )
    mins = _ok(client.post(f"/api/v1/groups/meetings/{m['id']}/minutes", headers=sec, json={}))
    assert (
        mins["status"] == "minutes_draft"
        and "Exchange guideline" in mins["minutes_en"]
        and "Протокол" in mins["minutes_ru"]
    )
    # circulated to attendees: one comments; an organisation that was not present may not
    comments = f"/api/v1/groups/meetings/{m['id']}/minutes/comments"
    note = "Item 1: say the guideline applies from 1 March."
    _ok(client.post(comments, headers=committee.reps["NM"].headers, json={"text": note}), 201)
    assert (
        client.post(comments, headers=committee.reps["TL"].headers, json={"text": "late"}).status_code == 403
    )
    assert [c["text"] for c in client.get(comments, headers=sec).json()] == [note]
    assert client.post(f"/api/v1/groups/meetings/{m['id']}/minutes/approve", headers=sec).status_code == 403
    assert (
        _ok(client.post(f"/api/v1/groups/meetings/{m['id']}/minutes/approve", headers=chair))["status"]
        == "minutes_approved"
    )
    assert (
        client.post(
            f"/api/v1/groups/meetings/{m['id']}/minutes", headers=sec, json={"minutes_en": "rewrite"}
        ).status_code
        == 409
    )
    assert (
        client.post(comments, headers=committee.reps["NM"].headers, json={"text": "too late"}).status_code
        == 409
    )
    # frozen at approval: the served PDF is the approved one, both languages and the comment in it
    frozen = client.get(
        f"/api/v1/groups/meetings/{m['id']}/minutes.pdf", headers=committee.reps["NM"].headers
    )
    assert frozen.status_code == 200 and frozen.content.startswith(b"%PDF")
    approved = _ok(client.get(f"/api/v1/groups/meetings/{m['id']}", headers=sec))
    assert approved["minutes_sha256"] == hashlib.sha256(frozen.content).hexdigest()
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(frozen.content)).pages)
    assert "Minutes" in text and "Протокол" in text and "1 March" in text

    # action items from the decision: reminded before due, escalated to the chair when overdue
    due = date.today() + timedelta(days=20)
    a = _ok(client.post(f"/api/v1/groups/{gid}/actions", headers=sec, json={
        "title": "Publish the guideline nationally", "owner_organisation": "NM", "due_on": due.isoformat(),
        "decision_id": d["id"]}), 201)  # fmt: skip
    assert a["source"] == "decision" and a["status"] == "open"
    noon = datetime(due.year, due.month, due.day, 12, tzinfo=UTC)
    assert _sweep(database, app, noon - timedelta(days=10))["actions_reminded"] == 0  # too early
    inbox.messages.clear()
    assert _sweep(database, app, noon - timedelta(days=2))["actions_reminded"] == 1
    assert _sweep(database, app, noon - timedelta(days=1))["actions_reminded"] == 0  # once only
    _deliver(app)
    rep_nm = committee.reps["NM"].user.email
    assert [msg["To"] for msg in inbox.messages] == [rep_nm]
    assert "due soon" in inbox.messages[0]["Subject"]
    inbox.messages.clear()
    assert _sweep(database, app, noon + timedelta(days=1))["actions_escalated"] == 1
    _deliver(app)
    assert [msg["To"] for msg in inbox.messages] == [committee.chair.user.email]
    assert (
        "overdue" in inbox.messages[0]["Subject"]
        and "Publish the guideline" in inbox.messages[0].get_payload(decode=True).decode()
    )
    with database.unit_of_work(write=False) as s:
        kinds = set(
            s.execute(
                select(Notification.kind).where(Notification.user_id == committee.chair.user.id)
            ).scalars()
        )
        assert "groups.action.overdue" in kinds

    # the open item joins the next meeting's agenda by itself
    m2 = _ok(client.post(f"/api/v1/groups/{gid}/meetings", headers=sec, json={
        "title": "Autumn plenary", "starts_at": (starts + timedelta(days=90)).isoformat(), "tz": "Europe/Vienna"}), 201)  # fmt: skip
    agenda = _ok(client.get(f"/api/v1/groups/meetings/{m2['id']}", headers=committee.reps["TL"].headers))[
        "agenda"
    ]
    assert [i["action_item_id"] for i in agenda] == [a["id"]]

    # owner moves it, the chair verifies; a member of another organisation cannot move it
    assert (
        client.post(
            f"/api/v1/groups/actions/{a['id']}/in_progress", headers=committee.reps["EV"].headers
        ).status_code
        == 403
    )
    assert (
        _ok(
            client.post(f"/api/v1/groups/actions/{a['id']}/in_progress", headers=committee.reps["NM"].headers)
        )["status"]
        == "in_progress"
    )
    assert (
        _ok(client.post(f"/api/v1/groups/actions/{a['id']}/done", headers=committee.reps["NM"].headers))[
            "status"
        ]
        == "done"
    )
    assert (
        client.post(
            f"/api/v1/groups/actions/{a['id']}/verified", headers=committee.reps["NM"].headers
        ).status_code
        == 403
    )
    assert (
        _ok(client.post(f"/api/v1/groups/actions/{a['id']}/verified", headers=chair))["status"] == "verified"
    )


def _begun(database: Database, meeting_id: int) -> None:
    """The day of a meeting planned ahead has come (it started an hour ago)."""
    with database.unit_of_work() as s:
        s.execute(update(Meeting).where(Meeting.id == meeting_id)
                  .values(starts_at=datetime.now(UTC) - timedelta(hours=1)))  # fmt: skip


def test_a_meeting_without_quorum_decides_nothing(
    mail_app: tuple[TestClient, Any], database: Database, committee: Committee
) -> None:
    client, _ = mail_app
    sec = committee.secretary.headers
    starts = datetime.now(UTC) + timedelta(days=3)
    m = _ok(client.post(f"/api/v1/groups/{committee.group_id}/meetings", headers=sec,
                        json={"title": "Thin", "starts_at": starts.isoformat(), "tz": "UTC"}), 201)  # fmt: skip
    _begun(database, m["id"])
    held = _ok(
        client.post(
            f"/api/v1/groups/meetings/{m['id']}/held", headers=sec, json={"present": ["NM", "EV", "OBS"]}
        )
    )
    assert held["quorum_reached"] is False  # 2 of 6 voting members; the observer does not count
    r = client.post(
        f"/api/v1/groups/meetings/{m['id']}/decisions", headers=sec, json={"text_en": "x", "text_ru": "x"}
    )
    assert r.status_code == 422 and "quorum" in r.json()["detail"]
    r = client.post(f"/api/v1/groups/{committee.group_id}/meetings", headers=sec,
                    json={"title": "Bad tz", "starts_at": starts.isoformat(), "tz": "Mars/Olympus"})  # fmt: skip
    assert r.status_code == 422 and "time zone" in r.json()["detail"]
