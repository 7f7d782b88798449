"""Notifications: in-app rows with the change; e-mail (real SMTP server) and signed webhooks by the outbox's deliverer."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import update

from colsec.accounts.models import User
from colsec.accounts.roles import Role
from colsec.db import Database
from colsec.outbox.signing import verify
from colsec.settings import Settings
from loopback import LOOPBACK_ALLOW


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook name
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace"))
        )
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def hook_server() -> Iterator[tuple[list[tuple[dict[str, str], bytes]], str]]:
    received: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server hook name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield received, f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


@pytest.fixture
def mail_settings(database: Database, tmp_path: Path, smtp: tuple[_Inbox, int]) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", database_url=database.url, secret_key="test-secret-key-not-for-production",
        smtp_host="127.0.0.1", smtp_port=smtp[1], smtp_from="crisis-centre@example.org",
        outbound_allow=LOOPBACK_ALLOW,
    )  # fmt: skip


@pytest.fixture
def mail_client(database: Database, mail_settings: Settings) -> Iterator[TestClient]:
    from colsec.web.app import create_app

    with TestClient(create_app(mail_settings, database=database)) as c:
        yield c


@pytest.fixture
def deliver(database: Database, mail_settings: Settings) -> Callable[..., int]:
    """What a worker does: one batch of due outbox rows (``now`` steps the clock past backoffs)."""
    from colsec.outbox import deliver_due
    from colsec.outbox.senders import make_senders

    senders = make_senders(database, mail_settings)

    def run(now: datetime | None = None) -> int:
        return deliver_due(database, worker_id="test-worker", senders=senders, now=now)

    return run


def _nm_admin(make_account: Any) -> Any:
    """Webhooks are the organisation admin's to register."""
    return make_account(Role.ADMIN, org="NM")


def _set_emails(database: Database, accounts: list[Any]) -> None:
    with database.unit_of_work() as s:
        for a in accounts:
            s.execute(update(User).where(User.id == a.user.id).values(email=f"{a.user.username}@example.org"))


def test_email_and_signed_webhook_by_the_deliverer(
    mail_client: TestClient,
    deliver: Callable[..., int],
    alliance: Any,
    database: Database,
    smtp: tuple[_Inbox, int],
    hook_server: Any,
    make_account: Any,
) -> None:
    inbox, _ = smtp
    received, url = hook_server
    _set_emails(database, [alliance.analysts["NM"], alliance.coordinator])
    secret = "nm-webhook-secret-0123456789"
    r = mail_client.post(
        "/api/v1/crisis/webhooks",
        headers=_nm_admin(make_account).headers,
        json={"url": url, "secret": secret},
    )
    assert r.status_code == 201, r.text

    # a refused request notifies nobody
    r = mail_client.post("/api/v1/crisis/incidents", headers=alliance.viewer.headers,
                         json={"title": "x", "category": "cyber", "severity": 1})  # fmt: skip
    assert r.status_code == 403
    assert inbox.messages == [] and received == []

    r = mail_client.post("/api/v1/crisis/incidents", headers=alliance.analysts["NM"].headers,
                         json={"title": "DDoS on payment systems", "category": "cyber", "severity": 3})  # fmt: skip
    assert r.status_code == 201
    iid = r.json()["id"]
    assert inbox.messages == [] and received == []  # the request only queued them
    assert deliver() == 2  # an e-mail to NM's analyst and NM's webhook
    assert any(alliance.analysts["NM"].user.username in rcpt[0] for _, rcpt, _ in inbox.messages)
    assert (
        "DDoS on payment systems" in inbox.messages[0][2]
        and inbox.messages[0][0] == "crisis-centre@example.org"
    )
    headers, body = received[0]
    verify(secret, body, headers["X-Colsec-Signature"])
    assert json.loads(body)["event"] == headers["X-Colsec-Event"] == "incident.reported"

    # escalation tells the crisis centre's coordinators (by e-mail and in-app)
    mail_client.post(f"/api/v1/crisis/incidents/{iid}/triage", headers=alliance.analysts["NM"].headers)
    mail_client.post(f"/api/v1/crisis/incidents/{iid}/escalate", headers=alliance.analysts["NM"].headers)
    assert deliver() > 0
    assert any(
        alliance.coordinator.user.username in rcpt[0] and "escalated" in content
        for _, rcpt, content in inbox.messages
    )
    inapp = mail_client.get("/api/v1/crisis/notifications", headers=alliance.coordinator.headers).json()
    assert inapp[0]["kind"] == "incident.escalated" and inapp[0]["read_at"] is None
    assert (
        mail_client.post(
            f"/api/v1/crisis/notifications/{inapp[0]['id']}/read", headers=alliance.coordinator.headers
        ).status_code
        == 204
    )
    # someone else's notification cannot be marked
    assert (
        mail_client.post(
            f"/api/v1/crisis/notifications/{inapp[0]['id']}/read", headers=alliance.reps["NM"].headers
        ).status_code
        == 404
    )


def test_deadline_reminders_and_closing_by_the_ticker(
    mail_client: TestClient,
    alliance: Any,
    database: Database,
    smtp: tuple[_Inbox, int],
    deliver: Callable[..., int],
) -> None:
    inbox, _ = smtp
    _set_emails(database, list(alliance.reps.values()))
    base = "/api/v1/crisis"
    an = alliance.analysts["EV"].headers
    iid = mail_client.post(
        f"{base}/incidents", headers=an, json={"title": "Lab leak", "category": "biological", "severity": 4}
    ).json()["id"]
    mail_client.post(f"{base}/incidents/{iid}/triage", headers=an)
    mail_client.post(f"{base}/incidents/{iid}/escalate", headers=an)
    cid = mail_client.post(
        f"{base}/crises",
        headers=alliance.coordinator.headers,
        json={"title": "Lab leak", "incident_ids": [iid]},
    ).json()["id"]
    needed = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    rid = mail_client.post(f"{base}/crises/{cid}/requests", headers=alliance.reps["EV"].headers,
                           json={"capability": "biological-safety", "quantity": 1, "location": "Eastvale", "needed_by": needed}).json()["id"]  # fmt: skip
    mail_client.post(f"{base}/requests/{rid}/submit", headers=alliance.reps["EV"].headers)
    deadline = datetime.now(UTC) + timedelta(seconds=3)
    cons = mail_client.post(f"{base}/requests/{rid}/consultations", headers=alliance.coordinator.headers,
                            json={"question": "Send a biosafety team?", "deadline": deadline.isoformat(), "quorum": 3}).json()  # fmt: skip
    mail_client.post(
        f"{base}/consultations/{cons['id']}/positions",
        headers=alliance.reps["EV"].headers,
        json={"stance": "agree"},
    )
    deliver()
    before = len(inbox.messages)
    report = mail_client.post(f"{base}/tick", headers=alliance.coordinator.headers).json()
    assert report["reminders"] == 3  # the three members that have not answered
    assert len(inbox.messages) == before  # queued by the tick, sent by the deliverer
    deliver()
    reminded = [rcpt[0] for _, rcpt, c in inbox.messages[before:] if "Reminder" in c]
    assert len(reminded) == 3 and not any(alliance.reps["EV"].user.username in r for r in reminded)
    assert (
        mail_client.post(f"{base}/tick", headers=alliance.coordinator.headers).json()["reminders"] == 0
    )  # once only
    time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 0.2)
    late = mail_client.post(
        f"{base}/consultations/{cons['id']}/positions",
        headers=alliance.reps["SD"].headers,
        json={"stance": "agree"},
    )
    assert late.status_code == 409 and late.json()["error"] == "consultation_closed"
    report = mail_client.post(f"{base}/tick", headers=alliance.coordinator.headers).json()
    assert report["closed_consultations"] == [cons["id"]]
    got = mail_client.get(f"{base}/consultations/{cons['id']}", headers=alliance.viewer.headers).json()
    assert (got["status"], got["outcome"]) == ("closed", "no_decision")
    assert (
        mail_client.get(f"{base}/requests/{rid}", headers=alliance.viewer.headers).json()["status"]
        == "submitted"
    )
    assert mail_client.post(f"{base}/tick", headers=alliance.reps["EV"].headers).status_code == 403


def test_failed_webhook_is_retried_by_the_deliverer_with_backoff_never_by_requests(
    mail_client: TestClient, alliance: Any, database: Database, make_account: Any, deliver: Callable[..., int]
) -> None:
    calls: list[int] = []

    class Flaky(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server hook name
            self.rfile.read(int(self.headers["Content-Length"]))
            calls.append(1)
            self.send_response(503 if len(calls) == 1 else 204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        h = _nm_admin(make_account).headers
        assert (
            mail_client.post(
                "/api/v1/crisis/webhooks", headers=h, json={"url": url, "secret": "x" * 20}
            ).status_code
            == 201
        )
        an = alliance.analysts["NM"].headers
        mail_client.post(
            "/api/v1/crisis/incidents", headers=an, json={"title": "a", "category": "cyber", "severity": 1}
        )
        assert calls == []  # the request only queued it
        deliver()
        assert len(calls) == 1  # first attempt failed (503)
        mail_client.post(
            "/api/v1/crisis/incidents", headers=an, json={"title": "b", "category": "cyber", "severity": 1}
        )
        assert len(calls) == 1  # no request sends, nor retries the failed one
        assert deliver() == 1 and len(calls) == 2  # "b" went out; "a" waits for its backoff
        assert deliver(now=datetime.now(UTC) + timedelta(hours=1)) == 1 and len(calls) == 3
    finally:
        server.shutdown()
        server.server_close()
