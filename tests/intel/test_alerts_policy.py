"""No alert ever reveals an object its recipient may not see; cross-member alerts; webhooks."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Role
from colsec.db import Database
from colsec.intel.alerts import alert_for, list_alerts
from colsec.intel.assets import create_asset
from colsec.intel.models import Alert
from colsec.intel.notify import create_webhook
from colsec.intel.schemas import AssetIn
from colsec.intel.signals import Event, best_window
from colsec.outbox import OutboxMessage, Status, deliver_due
from colsec.outbox.senders import WebhookSender
from colsec.outbox.signing import EVENT_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify
from colsec.stix.ids import parse_timestamp
from colsec.stix.tlp import TLP
from loopback import LOOPBACK

from .conftest import Orgs, indicator, sighting


def _ids(views: list) -> set[str]:  # type: ignore[type-arg]
    return {o["id"] for v in views for o in v.objects}


def _admin(orgs: Any, short: str) -> Any:
    """Webhooks are the organisation admin's to manage."""
    return dataclasses.replace(orgs.actor(short), role=Role.ADMIN)


def test_best_window() -> None:
    t = parse_timestamp
    evs = [
        Event(1, 1, t("2026-11-01T00:00:00Z")),
        Event(2, 2, t("2026-11-05T00:00:00Z")),
        Event(3, 3, t("2026-11-06T00:00:00Z")),
        Event(4, 2, t("2026-11-06T12:00:00Z")),
        Event(5, 4, t("2026-11-07T23:00:00Z")),
    ]
    assert {e.seq for e in best_window(evs, 72)} == {2, 3, 4, 5}
    assert {e.org_id for e in best_window(evs, 24)} == {2, 3}


def test_red_indicator_touching_asset_alerts_nobody_else(db: Session, orgs: Orgs, intel_hook: object) -> None:
    acc = orgs("ACC", kind="crisis_centre")
    a = orgs("A")
    orgs("B")
    create_asset(
        db, actor=orgs.actor("A"),
        data=AssetIn(name="dam control", sector="water", criticality="critical", ip_ranges=["203.0.113.0/24"]),
    )  # fmt: skip
    red = indicator("red1", "ipv4", "203.0.113.5", tlp=TLP.RED)
    strict = indicator("strict1", "ipv4", "203.0.113.6", tlp=TLP.AMBER_STRICT)
    green = indicator("green1", "ipv4", "203.0.113.7", tlp=TLP.GREEN)
    orgs.add("B", [red, strict, green])
    for org in (a, acc):
        views = list_alerts(db, org_id=org.id)
        assert _ids(views) == {green["id"]}
        assert all("203.0.113.5" not in v.title and "203.0.113.6" not in v.title for v in views)
    # the alert rows for the hidden indicators do not exist at all
    assert db.execute(select(Alert).where(Alert.title.like("%203.0.113.5%"))).first() is None


def test_cross_member_alert_respects_policy(db: Session, orgs: Orgs, intel_hook: object) -> None:
    orgs("ACC", kind="crisis_centre")
    a, b, c = orgs("A"), orgs("B"), orgs("C")
    d = orgs("D")
    value = "198.51.100.99"
    orgs.add("A", [indicator("xa", "ipv4", value, created="2026-11-20T10:00:00.000Z", tlp=TLP.RED)])
    orgs.add("B", [indicator("xb", "ipv4", value, created="2026-11-20T12:00:00.000Z", tlp=TLP.RED)])
    # Each member sees only its own RED report: nobody reaches two members, nobody is alerted.
    assert db.execute(select(Alert).where(Alert.kind == "cross_member")).first() is None
    # A GREEN sighting by C of A's indicator: A now sees two members (itself and C) and is alerted;
    # B cannot read A's indicator, so the sighting means nothing to it; D sees no report of the value.
    ind_id = indicator("xa", "ipv4", value)["id"]
    orgs.add("C", [sighting("xs", ind_id, created="2026-11-21T09:00:00.000Z")])
    va = list_alerts(db, org_id=a.id, kind="cross_member")
    assert len(va) == 1 and va[0].details["members"] == ["A", "C"]
    assert {o["owner"] for o in va[0].objects} == {"A", "C"}
    for other in (b, c, d):
        assert list_alerts(db, org_id=other.id) == []
    (only,) = db.execute(select(Alert).where(Alert.kind == "cross_member")).scalars()
    with pytest.raises(Exception, match="not found"):
        alert_for(db, org_id=b.id, alert_id=only.id)


def test_outside_window_no_alert(db: Session, orgs: Orgs, intel_hook: object) -> None:
    orgs("A"), orgs("B")
    orgs.add("A", [indicator("wa", "domain", "slow.example.com", created="2026-10-01T10:00:00.000Z")])
    orgs.add("B", [indicator("wb", "domain", "slow.example.com", created="2026-11-20T10:00:00.000Z")])
    assert db.execute(select(Alert).where(Alert.kind == "cross_member")).first() is None


def test_named_malware_cross_member(db: Session, orgs: Orgs, intel_hook: object) -> None:
    orgs("A"), orgs("B")

    def mal(org: str, t: str) -> dict:  # type: ignore[type-arg]
        return {"type": "malware", "spec_version": "2.1", "id": f"malware--{'a' if org == 'A' else 'b'}0000000-0000-4000-8000-000000000001",
                "created": t, "modified": t, "name": "Grey  Lantern", "is_family": True}  # fmt: skip

    orgs.add("A", [mal("A", "2026-11-20T10:00:00.000Z")])
    orgs.add("B", [{**mal("B", "2026-11-21T10:00:00.000Z"), "name": "grey lantern"}])
    alerts = list(db.execute(select(Alert).where(Alert.kind == "cross_member")).scalars())
    assert len(alerts) == 2 and all("malware grey lantern" in a.title for a in alerts)  # one per reader


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Receiver.received
    server.shutdown()
    server.server_close()


def test_webhook_signed_and_filtered(
    database: Database, receiver: tuple[str, list], intel_hook: object
) -> None:  # type: ignore[type-arg]
    url, received = receiver
    secret = "s3cret-for-webhook-tests"
    with database.unit_of_work() as db:
        orgs = Orgs(db)
        orgs("A"), orgs("B"), orgs("C")
        create_webhook(db, actor=_admin(orgs, "C"), url=url, secret=secret, outbound=LOOPBACK)
        orgs.add("A", [indicator("wh1", "ipv4", "192.0.2.55", tlp=TLP.RED)])
        orgs.add("B", [indicator("wh2", "ipv4", "192.0.2.55", tlp=TLP.GREEN)])
        orgs.add("C", [indicator("wh3", "ipv4", "192.0.2.55", tlp=TLP.GREEN)])
        n_alerts = len(db.execute(select(Alert)).all())
    assert n_alerts == 3  # A (three reports), B and C (the two GREEN ones)
    assert received == []  # queued with the alert, sent only by a deliverer
    assert _deliver(database) == 1
    assert _deliver(database) == 0  # sent once only
    ((headers, body),) = received
    verify(secret, body, headers[SIGNATURE_HEADER])
    assert headers[EVENT_HEADER] == "alert" and headers[IDEMPOTENCY_HEADER].startswith("alert:")
    payload = json.loads(body)
    assert [o["owner"] for o in payload["alert"]["objects"]] == ["B", "C"]  # A's RED report is not revealed
    with database.unit_of_work() as db:
        assert db.execute(select(OutboxMessage.status)).scalars().all() == [Status.DELIVERED]


def _deliver(database: Database) -> int:
    return deliver_due(database, worker_id="test", senders={"webhook": WebhookSender(database, LOOPBACK)})


def test_rollback_sends_nothing(database: Database, receiver: tuple[str, list], intel_hook: object) -> None:  # type: ignore[type-arg]
    url, received = receiver
    with database.unit_of_work() as db:
        orgs = Orgs(db)
        orgs("A"), orgs("B")
        create_webhook(db, actor=_admin(orgs, "B"), url=url, secret="another-long-secret", outbound=LOOPBACK)
    db = database.session()
    orgs = Orgs(db)
    orgs.add("A", [indicator("rb1", "ipv4", "192.0.2.66")])
    orgs.add("B", [indicator("rb2", "ipv4", "192.0.2.66")])
    assert db.execute(select(OutboxMessage)).all() != []  # queued in the import's transaction...
    db.rollback()
    db.close()
    with database.unit_of_work(write=False) as check:
        assert check.execute(select(OutboxMessage)).all() == []  # ...and gone with it
    assert _deliver(database) == 0 and received == []


def test_a_commit_sends_nothing_a_deliverer_does(
    database: Database, receiver: tuple[str, list], intel_hook: object
) -> None:  # type: ignore[type-arg]
    """No thread or commit hook delivers: the alert's webhook waits for a deliverer."""
    import time

    url, received = receiver
    with database.unit_of_work() as db:
        orgs = Orgs(db)
        orgs("A"), orgs("B")
        create_webhook(db, actor=_admin(orgs, "B"), url=url, secret="after-commit-secret", outbound=LOOPBACK)
        orgs.add("A", [indicator("ac1", "ipv4", "192.0.2.77")])
        orgs.add("B", [indicator("ac2", "ipv4", "192.0.2.77")])
    time.sleep(0.3)
    assert received == []
    assert _deliver(database) == 1 and len(received) == 1
