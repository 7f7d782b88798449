"""Regressions of the sharing-policy review: roles (8), group ownership (4), login throttling (11),
server-side sessions (13), webhooks and outbound addresses (14).  REST and the UI login form,
on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from colsec.accounts.roles import SYSTEM, Role
from colsec.db import Database
from colsec.settings import Settings
from colsec.web.sessions import COOKIE_NAME

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def _basic(user: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


def _csrf(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m
    return m.group(1)


def _form_login(c: TestClient, username: str, password: str) -> Any:
    token = _csrf(c.get("/login").text)
    return c.post(
        "/login",
        data={"csrf_token": token, "username": username, "password": password, "next": "/"},
        follow_redirects=False,
    )


@pytest.fixture
def clients(app: Any) -> Iterator[Callable[..., TestClient]]:
    """Independent clients on one app, each from its own source address."""
    made: list[TestClient] = []

    def make(source: str = "testclient") -> TestClient:
        c = TestClient(app, client=(source, 50000))
        c.__enter__()
        made.append(c)
        return c

    yield make
    for c in made:
        c.__exit__(None, None, None)


# -- finding 8: organisation admins manage only their own organisation ---------------------------


def test_finding_08_org_admin_cannot_mint_tokens_for_other_org(client, make_account) -> None:  # type: ignore[no-untyped-def]
    admin_a = make_account(Role.ADMIN, org="ORG-A")
    own = make_account(Role.ANALYST, org="ORG-A")
    other = make_account(Role.ANALYST, org="ORG-B")

    r = client.post(f"/api/v1/users/{other.user.username}/tokens", json={}, headers=admin_a.headers)
    absent = client.post("/api/v1/users/no-such-user/tokens", json={}, headers=admin_a.headers)
    assert r.status_code == absent.status_code == 404
    # the other organisation's user answers exactly as one that does not exist (its name as asked)
    assert r.json() == {"error": "not_found", "detail": f"user {other.user.username!r} not found",
                        "kind": "user_not_found", "params": {"user": other.user.username}}  # fmt: skip
    assert absent.json() == {"error": "not_found", "detail": "user 'no-such-user' not found",
                             "kind": "user_not_found", "params": {"user": "no-such-user"}}  # fmt: skip
    for path in (f"/api/v1/users/{other.user.username}", f"/api/v1/users/{other.user.username}/disable"):
        method = client.get if path.count("/") == 4 else client.post
        assert method(path, headers=admin_a.headers).status_code == 404
    listed = {u["username"] for u in client.get("/api/v1/users", headers=admin_a.headers).json()}
    assert own.user.username in listed and other.user.username not in listed
    r = client.post(
        "/api/v1/users",
        json={"username": "planted", "role": "admin", "organisation": "ORG-B", "password": "long enough pw"},
        headers=admin_a.headers,
    )
    assert r.status_code == 404
    # its own organisation is fine; an analyst may manage nobody
    r = client.post(f"/api/v1/users/{own.user.username}/tokens", json={"name": "x"}, headers=admin_a.headers)
    assert r.status_code == 201 and r.json()["token"].startswith("csk_")
    assert (
        client.get("/api/v1/stats", headers={"Authorization": f"Bearer {r.json()['token']}"}).status_code
        == 200
    )
    r = client.post(f"/api/v1/users/{own.user.username}/tokens", json={}, headers=own.headers)
    assert r.status_code == 403


def test_finding_08_org_admin_ui_token_form_treats_other_org_user_as_absent(  # type: ignore[no-untyped-def]
    clients, make_account
) -> None:
    admin_a = make_account(Role.ADMIN, org="ORG-A")
    other = make_account(Role.ANALYST, org="ORG-B")
    c = clients()
    assert _form_login(c, admin_a.user.username, admin_a.password).status_code == 303
    page = c.get("/admin/tokens")
    assert page.status_code == 200 and other.user.username not in page.text
    r = c.post("/admin/tokens", data={"csrf_token": _csrf(page.text), "username": other.user.username})
    assert r.status_code == 404 and "csk_" not in r.text
    assert c.get("/admin/organisations").status_code == 403  # node configuration: the operator's
    assert c.get("/admin/peers").status_code == 403


def test_finding_08_node_operator_manages_every_organisation(
    client, database: Database, make_account
) -> None:  # type: ignore[no-untyped-def]
    from colsec.accounts import service

    op = make_account(Role.ADMIN, org="ORG-A")
    other = make_account(Role.ANALYST, org="ORG-B")
    with database.unit_of_work() as s:
        user = service.get_managed_user(s, actor=SYSTEM, username=op.user.username)
        service.set_node_operator(s, actor=SYSTEM, user=user, operator=True)
    r = client.post(f"/api/v1/users/{other.user.username}/tokens", json={}, headers=op.headers)
    assert r.status_code == 201


def test_finding_08_org_admin_manages_only_its_own_assets(client, make_account) -> None:  # type: ignore[no-untyped-def]
    admin_a = make_account(Role.ADMIN, org="ORG-A")
    make_account(Role.ANALYST, org="ORG-B")
    body = {"name": "grid", "sector": "energy", "criticality": "high", "ip_ranges": ["192.0.2.0/24"]}
    r = client.post("/api/v1/intel/assets", json={**body, "organisation": "ORG-B"}, headers=admin_a.headers)
    assert r.status_code == 403
    assert client.post("/api/v1/intel/assets", json=body, headers=admin_a.headers).status_code == 201
    op = make_account(Role.ADMIN, org="ORG-A", operator=True)
    r = client.post("/api/v1/intel/assets", json={**body, "organisation": "ORG-B"}, headers=op.headers)
    assert r.status_code == 201


# -- finding 4: a sharing group's owner alone changes its members --------------------------------


def test_finding_04_only_owner_org_changes_group_membership(client, database: Database, make_account) -> None:  # type: ignore[no-untyped-def]
    from colsec.store.models import AuditEntry, StixObject

    owner = make_account(Role.COORDINATOR, org="ORG-A")
    analyst = make_account(Role.ANALYST, org="ORG-A")
    intruder = make_account(Role.ADMIN, org="ORG-B")
    make_account(Role.ANALYST, org="ORG-C")
    r = client.post(
        "/api/v1/sharing-groups", json={"name": "g1", "members": ["ORG-A"]}, headers=owner.headers
    )
    assert r.status_code == 201 and r.json()["owner"] == "ORG-A"
    ind = {
        "type": "indicator", "spec_version": "2.1", "id": "indicator--0d5f6a52-5c1b-4f8e-9b7e-3a1c2d4e5f60",
        "created": "2026-12-01T00:00:00.000Z", "modified": "2026-12-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '198.51.100.4']", "pattern_type": "stix", "valid_from": "2026-12-01T00:00:00Z",
        "object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"],
    }  # fmt: skip
    assert client.post("/api/v1/objects", json=ind, headers=analyst.headers).status_code in (200, 201)
    r = client.post(
        "/api/v1/sharing-groups/g1/objects", json={"object_id": ind["id"]}, headers=analyst.headers
    )
    assert r.status_code == 200

    for body in ({"organisation": "ORG-B"}, {"organisation": "ORG-C"}):
        r = client.post("/api/v1/sharing-groups/g1/members", json=body, headers=intruder.headers)
        assert r.status_code == 403
    r = client.delete("/api/v1/sharing-groups/g1/members/ORG-A", headers=intruder.headers)
    assert r.status_code == 403
    assert client.get("/api/v1/sharing-groups/g1", headers=owner.headers).json()["members"] == ["ORG-A"]

    r = client.post(
        "/api/v1/sharing-groups/g1/members", json={"organisation": "ORG-C"}, headers=owner.headers
    )
    assert r.status_code == 200 and r.json()["members"] == ["ORG-A", "ORG-C"]
    with database.unit_of_work(write=False) as s:
        latest = s.execute(
            select(StixObject.body).where(StixObject.id == ind["id"], StixObject.is_latest)
        ).scalar()
        actions = s.execute(select(AuditEntry.action)).scalars().all()
    claim = orjson.loads(latest)["x_colsec_sharing_group"]
    assert len(claim["members"]) == 2  # peers learn the new member list with the object
    assert "sharing_group.add_member" in actions


# -- finding 11: throttling, never lockout; one answer for every failure -------------------------


def test_finding_11_failed_logins_never_stop_a_valid_token(clients, make_account) -> None:  # type: ignore[no-untyped-def]
    peer = make_account(Role.PEER, org="ORG-P")
    outsider = clients("198.51.100.66")
    for _ in range(12):
        r = outsider.get("/api/v1/stats", headers=_basic(peer.user.username, "guess"))
        assert r.status_code == 401
    sync = clients("203.0.113.10")
    assert sync.get("/api/v1/stats", headers=peer.headers).status_code == 200
    assert sync.get("/api/v1/stats", headers=_basic(peer.user.username, peer.token)).status_code == 200
    # even from the attacker's own address a valid token works
    assert outsider.get("/api/v1/stats", headers=_basic(peer.user.username, peer.token)).status_code == 200


def test_finding_11_unknown_wrong_and_throttled_answer_alike(clients, make_account) -> None:  # type: ignore[no-untyped-def]
    acc = make_account(Role.ANALYST, org="ORG-A")
    c = clients("198.51.100.7")
    unknown = c.get("/api/v1/stats", headers=_basic("nobody-here", "guess"))
    wrong = c.get("/api/v1/stats", headers=_basic(acc.user.username, "guess"))
    for _ in range(8):
        c.get("/api/v1/stats", headers=_basic(acc.user.username, "guess"))
    throttled = c.get("/api/v1/stats", headers=_basic(acc.user.username, "guess"))
    for r in (unknown, wrong, throttled):
        assert r.status_code == 401
        assert r.json() == {"error": "unauthorized", "detail": "invalid credentials"}
        assert r.headers["www-authenticate"] == unknown.headers["www-authenticate"]


def test_finding_11_login_form_throttles_per_source_with_one_answer(clients, make_account, app) -> None:  # type: ignore[no-untyped-def]
    acc = make_account(Role.ANALYST, org="ORG-A")
    attacker = clients("198.51.100.9")
    first_unknown = _form_login(attacker, "nobody-here", "wrong password")
    for _ in range(6):
        assert _form_login(attacker, acc.user.username, "wrong password").status_code == 401
    throttled = _form_login(attacker, acc.user.username, acc.password)  # right password, throttled key
    assert throttled.status_code == first_unknown.status_code == 401
    strip = lambda html: CSRF_RE.sub("", html).replace(acc.user.username, "").replace("nobody-here", "")  # noqa: E731
    assert strip(throttled.text) == strip(first_unknown.text)
    # the owner, from its own address, is not affected
    assert _form_login(clients("203.0.113.20"), acc.user.username, acc.password).status_code == 303


def test_finding_11_throttle_is_shared_by_every_process(database: Database, make_account, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from colsec.web.app import create_app

    acc = make_account(Role.ANALYST, org="ORG-A")
    settings = Settings(
        data_dir=tmp_path / "d",
        database_url=database.url,
        secret_key="k" * 32,
        login_max_failures=2,
        login_backoff_base_seconds=60.0,
    )
    with TestClient(create_app(settings, database=database), client=("198.51.100.3", 1)) as one:
        for _ in range(3):
            one.get("/api/v1/stats", headers=_basic(acc.user.username, "guess"))
    with TestClient(create_app(settings, database=database), client=("198.51.100.3", 1)) as two:
        assert _form_login(two, acc.user.username, acc.password).status_code == 401


# -- finding 13: server-side sessions ----------------------------------------------------------


def _stolen_cookie_works(app: Any, cookie: str) -> bool:
    with TestClient(app) as thief:
        thief.cookies.set(COOKIE_NAME, cookie)
        return thief.get("/api/v1/stats").status_code == 200


def test_finding_13_logout_ends_the_server_session(clients, make_account, app) -> None:  # type: ignore[no-untyped-def]
    acc = make_account(Role.ANALYST, org="ORG-A")
    c = clients()
    assert _form_login(c, acc.user.username, acc.password).status_code == 303
    cookie = c.cookies.get(COOKIE_NAME)
    assert _stolen_cookie_works(app, cookie)
    r = c.post("/logout", data={"csrf_token": _csrf(c.get("/").text)}, follow_redirects=False)
    assert r.status_code == 303
    assert not _stolen_cookie_works(app, cookie)


def test_finding_13_password_change_and_disable_end_sessions(clients, make_account, app) -> None:  # type: ignore[no-untyped-def]
    admin = make_account(Role.ADMIN, org="ORG-A")
    acc = make_account(Role.ANALYST, org="ORG-A")
    c = clients()
    assert _form_login(c, acc.user.username, acc.password).status_code == 303
    cookie = c.cookies.get(COOKIE_NAME)
    with TestClient(app) as api:
        r = api.post(f"/api/v1/users/{acc.user.username}/password", json={"password": "a new long password"},
                     headers=admin.headers)  # fmt: skip
        assert r.status_code == 204
        assert not _stolen_cookie_works(app, cookie)
        c2 = clients()
        assert _form_login(c2, acc.user.username, "a new long password").status_code == 303
        cookie2 = c2.cookies.get(COOKIE_NAME)
        assert _stolen_cookie_works(app, cookie2)
        path = f"/api/v1/users/{acc.user.username}/password"
        own = {"password": "yet another password"}
        assert api.post(path, json=own, headers=acc.headers).status_code == 403  # must prove the current one
        own["current_password"] = "a new long password"
        assert api.post(path, json=own, headers=acc.headers).status_code == 204
        assert not _stolen_cookie_works(app, cookie2)
        c3 = clients()
        assert _form_login(c3, acc.user.username, "yet another password").status_code == 303
        cookie3 = c3.cookies.get(COOKIE_NAME)
        disabled = api.post(f"/api/v1/users/{acc.user.username}/disable", headers=admin.headers)
        assert disabled.status_code == 200 and disabled.json()["is_active"] is False
        assert not _stolen_cookie_works(app, cookie3)
        assert api.get("/api/v1/stats", headers=acc.headers).status_code == 401


def test_finding_13_session_id_is_stored_hashed(clients, make_account, database: Database, app) -> None:  # type: ignore[no-untyped-def]
    from colsec.accounts.models import LoginSession

    acc = make_account(Role.ANALYST, org="ORG-A")
    c = clients()
    _form_login(c, acc.user.username, acc.password)
    sid = app.state.session_codec.decode(c.cookies.get(COOKIE_NAME)).sid
    with database.unit_of_work(write=False) as s:
        stored = s.execute(select(LoginSession.id_hash)).scalars().all()
    assert len(stored) == 1 and sid not in stored


# -- finding 14: webhooks are an admin's; outbound addresses deny by default ---------------------


def test_finding_14_analyst_cannot_create_webhooks(client, make_account) -> None:  # type: ignore[no-untyped-def]
    analyst = make_account(Role.ANALYST, org="ORG-A")
    coordinator = make_account(Role.COORDINATOR, org="ORG-A")
    body = {"url": "https://hooks.example.com/x", "secret": "s" * 20}
    assert client.post("/api/v1/intel/webhooks", json=body, headers=analyst.headers).status_code == 403
    assert client.get("/api/v1/intel/webhooks", headers=analyst.headers).status_code == 403
    r = client.post("/api/v1/crisis/webhooks", json=body, headers=coordinator.headers)
    assert r.status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://localhost/hook",
        "http://224.0.0.1/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
    ],
)
def test_finding_14_private_and_link_local_webhook_targets_refused_by_default(
    client, make_account, url
) -> None:  # type: ignore[no-untyped-def]
    admin = make_account(Role.ADMIN, org="ORG-A")
    body = {"url": url, "secret": "s" * 20}
    r = client.post("/api/v1/intel/webhooks", json=body, headers=admin.headers)
    assert r.status_code == 422 and r.json()["error"] == "outbound_refused", r.text
    r = client.post("/api/v1/crisis/webhooks", json=body, headers=admin.headers)
    assert r.status_code == 422 and r.json()["error"] == "outbound_refused", r.text


def test_finding_14_allow_list_admits_named_addresses_only(
    database: Database, make_account, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from colsec.web.app import create_app

    admin = make_account(Role.ADMIN, org="ORG-A")
    settings = Settings(
        data_dir=tmp_path / "d",
        database_url=database.url,
        secret_key="k" * 32,
        outbound_allow=["127.0.0.0/8"],
    )
    with TestClient(create_app(settings, database=database)) as c:
        ok = c.post(
            "/api/v1/intel/webhooks",
            json={"url": "http://127.0.0.1:9/h", "secret": "s" * 20},
            headers=admin.headers,
        )
        assert ok.status_code == 201
        no = c.post(
            "/api/v1/intel/webhooks",
            json={"url": "http://10.0.0.1/h", "secret": "s" * 20},
            headers=admin.headers,
        )
        assert no.status_code == 422


def test_finding_14_one_outbound_check_for_peers_feeds_and_webhooks() -> None:
    import httpx

    from colsec.errors import ColsecError
    from colsec.formats.misp_feed import make_fetcher
    from colsec.outbound import DENY_ALL, OutboundPolicy, OutboundRefused, guarded_client
    from colsec.taxii.client import TaxiiClient
    from colsec.taxii.responses import TaxiiClientError

    assert Settings().outbound_allow == []
    with pytest.raises(TaxiiClientError, match="not a global address"):
        TaxiiClient("http://127.0.0.1:9/taxii2/")
    with pytest.raises(OutboundRefused):
        make_fetcher("http://169.254.169.254/feed/")
    with guarded_client(DENY_ALL) as http, pytest.raises(httpx.ConnectError):
        http.get("http://127.0.0.1:9/")  # every request, redirects a caller follows included
    with pytest.raises(ColsecError):
        DENY_ALL.check_url("http://metadata.google.internal/")
    OutboundPolicy.from_entries(["localhost"]).check_url("http://localhost:8000/")
    OutboundPolicy.from_entries(["::1/128"]).check_url("http://[::1]:8000/")
    with pytest.raises(OutboundRefused):
        DENY_ALL.check_url("http://198.51.100.1/")
    DENY_ALL.check_url("http://8.8.8.8/")


def test_finding_14_guarded_client_connects_to_the_checked_address_keeping_the_host() -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from colsec.outbound import OutboundPolicy, guarded_client

    seen: list[str] = []

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        policy = OutboundPolicy.from_entries(["127.0.0.0/8", "::1"])
        with guarded_client(policy, timeout=5) as http:
            r = http.get(f"http://localhost:{port}/x")
        assert r.status_code == 204 and seen == [f"localhost:{port}"]
        assert r.request.url.host == "localhost"
        with guarded_client(OutboundPolicy.from_entries(["127.0.0.0/8"]), timeout=5) as http:
            import socket

            if any(i[0] == socket.AF_INET6 for i in socket.getaddrinfo("localhost", port)):
                with pytest.raises(httpx.ConnectError):  # ::1 is not allow-listed: every address must be
                    http.get(f"http://localhost:{port}/x")
    finally:
        server.shutdown()
        server.server_close()


def test_finding_11_backoff_doubles_up_to_the_cap_and_then_expires(database: Database, make_account) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from colsec.accounts import throttle
    from colsec.accounts.models import LoginThrottle
    from colsec.accounts.throttle import Throttle

    policy = Throttle(free=5, base_seconds=1.0, cap_seconds=900.0)
    assert [policy.delay(n) for n in (1, 4, 5, 6, 7, 20, 10_000)] == [0, 0, 1, 2, 4, 900, 900]
    with database.unit_of_work() as s:
        for _ in range(5):
            throttle.register_failure(s, username="Someone", source="198.51.100.1", policy=policy)
        assert throttle.is_blocked(s, username="someone", source="198.51.100.1")
        assert not throttle.is_blocked(s, username="someone", source="198.51.100.2")
        past = datetime.now(UTC) - timedelta(seconds=1)
        s.execute(update(LoginThrottle).values(blocked_until=past))
        assert not throttle.is_blocked(s, username="someone", source="198.51.100.1")  # a wait, not a lock


def test_finding_08_node_wide_work_is_the_operators(client, make_account) -> None:  # type: ignore[no-untyped-def]
    """Rebuilding every correlation of the node, or another member's user's address: operator only."""
    admin_a = make_account(Role.ADMIN, "ORG-A")
    user_b = make_account(Role.ANALYST, "ORG-B")
    operator = make_account(Role.ADMIN, "ORG-A", operator=True)
    rebuild = "/api/v1/intel/correlations/rebuild"
    assert client.post(rebuild, headers=admin_a.headers).status_code == 403
    assert client.post(rebuild, headers=operator.headers).status_code == 202
    path = f"/api/v1/users/{user_b.user.username}"
    body = {"email": "soc@org-b.example"}
    assert client.patch(path, json=body, headers=admin_a.headers).status_code == 404
    r = client.patch(path, json=body, headers=operator.headers)
    assert r.status_code == 200 and r.json()["email"] == "soc@org-b.example", r.text
