"""Draft → review → approval → publication over the API; corrections, four eyes, audit and e-mail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from colsec.db import Database
from colsec.outbox.models import OutboxMessage
from colsec.outbox.senders import make_senders
from colsec.settings import Settings
from colsec.stix.tlp import TLP
from colsec.store.models import AuditEntry
from outbox.receivers import MailReceiver
from reports.conftest import Alliance, malware, store, tomorrow

API = "/api/v1/reports"


def _draft(client: TestClient, who: Any, audience: str = "clear", kind: str = "weekly") -> dict[str, Any]:
    r = client.post(
        f"{API}/bulletins",
        json={"kind": kind, "audience": audience, "end": tomorrow().isoformat()},
        headers=who.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _publish(client: TestClient, bid: int, author: Any, approver: Any) -> dict[str, Any]:
    assert client.post(f"{API}/bulletins/{bid}/submit", headers=author.headers).status_code == 200
    assert client.post(f"{API}/bulletins/{bid}/approve", headers=approver.headers).status_code == 200
    r = client.post(f"{API}/bulletins/{bid}/publish", headers=approver.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_self_approval_is_refused_and_publishing_updates_the_feed(
    client: TestClient, alliance: Alliance, database: Database
) -> None:
    store(database, alliance.analyst.org.id, [malware("PublicWorm", TLP.CLEAR)])
    b = _draft(client, alliance.analyst)
    assert b["status"] == "draft" and b["sections"]["new_intel"]["by_type"] == {"malware": 1.0}
    r = client.put(
        f"{API}/bulletins/{b['id']}/commentary",
        json={"language": "ru", "text": "Обзор недели"},
        headers=alliance.analyst.headers,
    )
    assert r.status_code == 200 and r.json()["commentary"] == {"ru": "Обзор недели"}
    # approving a draft that was never submitted: a conflict, not a silent jump
    assert (
        client.post(f"{API}/bulletins/{b['id']}/approve", headers=alliance.coordinator.headers).status_code
        == 409
    )
    assert (
        client.post(f"{API}/bulletins/{b['id']}/submit", headers=alliance.analyst.headers).json()["status"]
        == "in_review"
    )
    refused = client.post(f"{API}/bulletins/{b['id']}/approve", headers=alliance.analyst.headers)
    assert refused.status_code == 403 and "cannot be the author" in refused.json()["detail"]
    assert client.get("/public/feed.atom").text.count("<entry>") == 0  # nothing before publication
    assert (
        client.post(f"{API}/bulletins/{b['id']}/approve", headers=alliance.coordinator.headers).json()[
            "approved_by"
        ]
        == alliance.coordinator.user.username
    )
    pub = client.post(f"{API}/bulletins/{b['id']}/publish", headers=alliance.coordinator.headers).json()
    assert pub["status"] == "published" and pub["published_at"]
    atom = client.get("/public/feed.atom?lang=ru").text
    assert f"urn:uuid:{b['series']}" in atom and "Еженедельный" in atom
    with database.unit_of_work(write=False) as s:
        actions = set(
            s.execute(select(AuditEntry.action).where(AuditEntry.target == f"bulletin:{b['id']}")).scalars()
        )
    assert {
        "report.draft",
        "report.commentary",
        "report.in_review",
        "report.approved",
        "report.published",
    } <= actions


def test_a_correction_is_a_new_version_and_the_old_one_stays_readable(
    client: TestClient, alliance: Alliance, database: Database
) -> None:
    b = _draft(client, alliance.analyst)
    first = _publish(client, b["id"], alliance.analyst, alliance.coordinator)
    feed1 = client.get("/public/feed.atom").text
    c = client.post(f"{API}/bulletins/{b['id']}/correct", headers=alliance.coordinator.headers)
    assert c.status_code == 201
    corr = c.json()
    assert corr["series"] == b["series"] and corr["version"] == 2 and corr["status"] == "draft"
    # the corrector is the author of version 2: another person approves it
    _publish(client, corr["id"], alliance.coordinator, alliance.analyst)
    old = client.get(f"{API}/bulletins/{b['id']}", headers=alliance.other.headers).json()
    assert (
        old["version"] == 1 and old["status"] == "published" and old["published_at"] == first["published_at"]
    )
    versions = client.get(f"{API}/bulletins/{corr['id']}/versions", headers=alliance.other.headers).json()
    assert [v["version"] for v in versions] == [1, 2]
    feed2 = client.get("/public/feed.atom").text
    import feedparser

    e1, e2 = feedparser.parse(feed1).entries, feedparser.parse(feed2).entries
    assert len(e1) == len(e2) == 1 and e1[0].id == e2[0].id == f"urn:uuid:{b['series']}"
    assert e2[0].updated_parsed >= e1[0].updated_parsed and e2[0].link.endswith(
        f"/public/bulletins/{corr['id']}?lang=en"
    )
    assert client.get(f"/public/bulletins/{b['id']}").status_code == 200  # the earlier version, still public


def test_readers_see_only_their_level_and_drafts_only_editors(
    client: TestClient, alliance: Alliance, make_account: Callable[..., Any]
) -> None:
    green = _draft(client, alliance.analyst, audience="green")
    viewer = make_account("viewer", org="EV")
    assert client.get(f"{API}/bulletins/{green['id']}", headers=alliance.other.headers).status_code == 200
    assert client.get(f"{API}/bulletins/{green['id']}", headers=viewer.headers).status_code == 404  # a draft
    assert client.get(f"{API}/bulletins/{green['id']}", headers=alliance.external.headers).status_code == 404
    _publish(client, green["id"], alliance.analyst, alliance.coordinator)
    assert client.get(f"{API}/bulletins/{green['id']}", headers=viewer.headers).status_code == 200
    assert client.get(f"{API}/bulletins/{green['id']}", headers=alliance.external.headers).status_code == 404
    assert client.get(f"/public/bulletins/{green['id']}").status_code == 404  # never public above CLEAR
    bad = client.post(
        f"{API}/bulletins", json={"kind": "weekly", "audience": "red"}, headers=alliance.analyst.headers
    )
    assert bad.status_code == 422 and "audience" in bad.json()["detail"]
    bad = client.post(
        f"{API}/bulletins", json={"kind": "hourly", "audience": "green"}, headers=alliance.analyst.headers
    )
    assert bad.status_code == 422 and "hourly" in bad.json()["detail"]


def test_published_bulletins_are_mailed_to_subscribers_their_organisation_may_read(
    client: TestClient, alliance: Alliance, database: Database, tmp_path: Any
) -> None:
    for who, email, lang in (
        (alliance.other, "soc@ev.example.org", "ru"),
        (alliance.external, "news@ext.example.org", "en"),
    ):
        r = client.post(f"{API}/subscriptions", json={"email": email, "language": lang}, headers=who.headers)
        assert r.status_code == 201, r.text
    green = _draft(client, alliance.analyst, audience="green")
    _publish(client, green["id"], alliance.analyst, alliance.coordinator)
    clear = _draft(client, alliance.analyst, audience="clear")
    _publish(client, clear["id"], alliance.analyst, alliance.coordinator)
    with database.unit_of_work(write=False) as s:
        rows = [
            (m.destination, m.idempotency_key)
            for m in s.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()
        ]
    got = {(dest, int(key.split(":")[1])) for dest, key in rows}
    assert len(rows) == 3 and got == {
        ("soc@ev.example.org", green["id"]),
        ("soc@ev.example.org", clear["id"]),
        ("news@ext.example.org", clear["id"]),
    }
    assert not any(
        dest.endswith("ext.example.org") and key.startswith(f"bulletin:{green['id']}:") for dest, key in rows
    )
    mail = MailReceiver()
    try:
        settings = Settings(
            data_dir=tmp_path / "d", database_url=database.url, secret_key="test-secret-key-not-for-production",
            smtp_host="127.0.0.1", smtp_port=mail.port, smtp_from="node@example.org",
        )  # fmt: skip
        from colsec.outbox import deliver_due

        assert deliver_due(database, worker_id="t", senders=make_senders(database, settings)) == 3
    finally:
        mail.close()
    from email.header import decode_header, make_header

    subjects = sorted(
        str(make_header(decode_header(str(msg["Subject"])))) for _rcpt, msg in mail.effects.values()
    )
    assert any(s.startswith("[TLP:GREEN] Еженедельный") for s in subjects)
    assert any(s.startswith("[TLP:CLEAR] Weekly") for s in subjects)


@pytest.mark.parametrize("path", ["/reports"])
def test_the_bulletins_page_renders_in_both_languages(
    client: TestClient, alliance: Alliance, path: str, database: Database
) -> None:
    from colsec.accounts.models import User

    b = _draft(client, alliance.analyst, audience="green")
    for lang, word in (("en", "Bulletins"), ("ru", "Бюллетени")):
        with database.unit_of_work() as s:
            s.get(User, alliance.analyst.user.id).language = lang  # type: ignore[union-attr]
        page = client.get(path, headers={**alliance.analyst.headers, "Accept-Language": lang})
        assert page.status_code == 200 and word in page.text
        one = client.get(f"/reports/{b['id']}", headers={**alliance.analyst.headers, "Accept-Language": lang})
        assert one.status_code == 200 and "<svg" in one.text and "<script>" not in one.text


def test_a_joint_advisory_lists_each_members_national_advisory_and_its_language(
    client: TestClient, alliance: Alliance
) -> None:
    b = _draft(client, alliance.analyst, audience="clear", kind="joint_advisory")
    links = [
        {"member": "NM", "url": "https://cert.nm.example/advisory/7", "language": "ru"},
        {"member": "EV", "url": "https://cert.ev.example/a/7", "language": "en"},
    ]
    r = client.put(
        f"{API}/bulletins/{b['id']}/links", json={"links": links}, headers=alliance.analyst.headers
    )
    assert r.status_code == 200 and r.json()["commentary"]["links"] == links
    html = client.get(f"{API}/bulletins/{b['id']}/html?lang=ru", headers=alliance.analyst.headers).text
    assert "Национальные бюллетени" in html and "https://cert.ev.example/a/7" in html
    bad = client.put(
        f"{API}/bulletins/{b['id']}/links",
        json={"links": [{"member": "NM", "url": "javascript:alert(1)", "language": "ru"}]},
        headers=alliance.analyst.headers,
    )
    assert bad.status_code == 422 and "link 1" in bad.json()["detail"]
    weekly = _draft(client, alliance.analyst, audience="clear")
    r = client.put(
        f"{API}/bulletins/{weekly['id']}/links", json={"links": links}, headers=alliance.analyst.headers
    )
    assert r.status_code == 422 and "joint advisory" in r.json()["detail"]
