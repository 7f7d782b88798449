"""Authentication: tokens stored hashed, Basic and Bearer, one throttle key for every path."""

from __future__ import annotations

import base64

from sqlalchemy import select

from colsec.accounts.models import ApiToken
from colsec.accounts.roles import Role
from colsec.db import Database


def _basic(user: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


def test_token_stored_hashed(database: Database, make_account) -> None:  # type: ignore[no-untyped-def]
    acc = make_account()
    with database.unit_of_work(write=False) as s:
        stored = s.execute(select(ApiToken.token_hash)).scalars().all()
    assert acc.token not in stored and all(len(h) == 64 for h in stored)


def test_bearer_and_basic(client, make_account) -> None:  # type: ignore[no-untyped-def]
    acc = make_account()
    assert client.get("/api/v1/stats", headers=acc.headers).status_code == 200
    assert client.get("/api/v1/stats", headers=_basic(acc.user.username, acc.token)).status_code == 200
    r = client.get("/api/v1/stats", headers=_basic(acc.user.username, "wrong"))
    assert r.status_code == 401 and r.json() == {"error": "unauthorized", "detail": "invalid credentials"}
    assert client.get("/api/v1/stats", headers={"Authorization": "Basic !!!"}).status_code == 401


def test_basic_with_someone_elses_token_refused(client, make_account) -> None:  # type: ignore[no-untyped-def]
    a = make_account(org="ORG-A")
    b = make_account(org="ORG-B")
    assert client.get("/api/v1/stats", headers=_basic(a.user.username, b.token)).status_code == 401


def test_throttle_counts_every_path(client, database: Database, make_account) -> None:  # type: ignore[no-untyped-def]
    from colsec.accounts import service
    from colsec.errors import Unauthorized

    acc = make_account(Role.ANALYST)
    # Failures through Basic (API path) and through password checks (form path) share one key.
    for _ in range(3):
        assert (
            client.get("/api/v1/stats", headers=_basic(acc.user.username.upper(), "bad")).status_code == 401
        )
    for _ in range(2):
        with database.unit_of_work() as s:
            try:
                service.authenticate_password(
                    s, username=acc.user.username, password="nope", source="testclient"
                )
            except Unauthorized:
                s.commit()
    with database.unit_of_work() as s:
        try:
            service.authenticate_password(
                s, username=acc.user.username, password=acc.password, source="testclient"
            )
            raise AssertionError("a throttled key accepted a password")
        except Unauthorized as exc:
            assert exc.message == "invalid username or password"
    # a valid token is never throttled
    assert client.get("/api/v1/stats", headers=_basic(acc.user.username, acc.token)).status_code == 200


def test_password_login_resets_counter(database: Database, make_account) -> None:  # type: ignore[no-untyped-def]
    from colsec.accounts import service
    from colsec.accounts.models import LoginThrottle
    from colsec.errors import Unauthorized

    acc = make_account()
    with database.unit_of_work() as s:
        try:
            service.authenticate_password(s, username=acc.user.username, password="bad", source="10.0.0.1")
        except Unauthorized:
            s.commit()
    with database.unit_of_work() as s:
        assert s.execute(select(LoginThrottle.failures)).scalar() == 1
        service.authenticate_password(s, username=acc.user.username, password=acc.password, source="10.0.0.1")
        assert s.execute(select(LoginThrottle.failures)).scalar() is None


def test_fast_token_path_agrees_with_full_check(database: Database, make_account) -> None:  # type: ignore[no-untyped-def]
    """The one-query path answers an Actor only where the full check accepts, else None."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from colsec.accounts import service
    from colsec.accounts.models import User

    acc = make_account(Role.ANALYST, org="ORG-A")
    other = make_account(Role.ANALYST, org="ORG-B")

    def fast(token: str, username: str | None = None):  # type: ignore[no-untyped-def]
        with database.unit_of_work(write=False) as s:
            return service.actor_for_valid_token(s, token=token, username=username)

    assert fast(acc.token) == acc.actor
    assert fast(acc.token, acc.user.username.upper()) == acc.actor  # usernames are case-insensitive
    assert fast(acc.token, other.user.username) is None  # someone else's token
    assert fast("not-a-token") is None
    past = datetime.now(UTC) - timedelta(minutes=1)
    for change, table, uid in (
        ({"expires_at": past}, ApiToken, acc.user.id),
        ({"revoked_at": past}, ApiToken, acc.user.id),
        ({"is_active": False}, User, acc.user.id),
    ):
        key = ApiToken.user_id if table is ApiToken else User.id
        with database.unit_of_work() as s:
            s.execute(update(table).where(key == uid).values(**change))
        assert fast(acc.token) is None, change
        undo = {k: (True if k == "is_active" else None) for k in change}
        with database.unit_of_work() as s:
            s.execute(update(table).where(key == uid).values(**undo))
        assert fast(acc.token) == acc.actor
