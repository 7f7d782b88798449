"""Login, session cookie, CSRF and login throttling of the web UI."""

from __future__ import annotations

from colsec.demo import DEMO_PASSWORD
from colsec.web.sessions import COOKIE_NAME

from .conftest import CSRF_RE, csrf_of


def test_pages_redirect_to_login_when_anonymous(ui_client) -> None:
    c = ui_client()
    r = c.get("/intel?q=x", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fintel%3Fq%3Dx"
    r = c.get("/", headers={"HX-Request": "true"}, follow_redirects=False)
    assert r.status_code == 401 and r.headers["HX-Redirect"] == "/login"


def test_login_rotates_session_and_sets_safe_cookie(ui_client) -> None:
    c = ui_client()
    page = c.get("/login")
    before = c.cookies.get(COOKIE_NAME)
    token = csrf_of(page.text)
    r = c.post("/login", data={"csrf_token": token, "username": "NM-Analyst", "password": DEMO_PASSWORD},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    set_cookie = r.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie.replace("Lax", "lax")
    after = c.cookies.get(COOKIE_NAME)
    assert before and after and before != after
    codec = c.app.state.session_codec
    old, new = codec.decode(before), codec.decode(after)
    assert old.uid is None and new.uid is not None
    assert old.sid != new.sid and old.csrf != new.csrf  # no fixation: both rotated
    home = c.get("/")
    assert home.status_code == 200 and "nm-analyst" in home.text


def test_login_without_csrf_token_is_refused(ui_client) -> None:
    c = ui_client()
    c.get("/login")
    r = c.post("/login", data={"username": "nm-analyst", "password": DEMO_PASSWORD}, follow_redirects=False)
    assert r.status_code == 403
    assert c.get("/", follow_redirects=False).status_code == 303


def test_forged_cookie_is_ignored(ui_client) -> None:
    c = ui_client("nm-analyst")
    value = c.cookies.get(COOKIE_NAME)
    payload, _, mac = value.rpartition(".")
    c.cookies.clear()
    c.cookies.set(COOKIE_NAME, payload + "." + ("A" if mac[0] != "A" else "B") + mac[1:])
    assert c.get("/", follow_redirects=False).status_code == 303


def test_throttle_after_repeated_failures_answers_like_a_wrong_password(ui_client) -> None:
    c = ui_client()
    wrong = None
    for _ in range(5):  # ui_settings: login_max_failures=3, then doubling waits
        token = csrf_of(c.get("/login").text)
        wrong = c.post(
            "/login", data={"csrf_token": token, "username": "ev-analyst", "password": "wrong password"}
        )
        assert wrong.status_code == 401
        assert 'data-testid="login-error"' in wrong.text
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"csrf_token": token, "username": "ev-analyst", "password": DEMO_PASSWORD})
    assert r.status_code == 401
    assert wrong is not None and CSRF_RE.sub("", r.text) == CSRF_RE.sub("", wrong.text)
    assert c.get("/", follow_redirects=False).status_code == 303


def test_state_changing_requests_need_the_csrf_token(ui_client) -> None:
    c = ui_client("nm-analyst")
    r = c.post("/lang", data={"lang": "ru", "next": "/"}, follow_redirects=False)
    assert r.status_code == 403
    # an API write with only the cookie (what a cross-site form could send) is not authenticated
    r = c.post("/api/v1/objects", content=b"{}", headers={"content-type": "application/json"})
    assert r.status_code == 401
    token = c.app.state.session_codec.decode(c.cookies.get(COOKIE_NAME)).csrf
    r = c.post(
        "/api/v1/objects", content=b"{}", headers={"content-type": "application/json", "X-CSRF-Token": token}
    )
    assert r.status_code == 422  # authenticated now; the body is what is wrong


def test_logout_ends_the_session(ui_client) -> None:
    c = ui_client("nm-analyst")
    token = csrf_of(c.get("/").text)
    r = c.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert c.get("/", follow_redirects=False).status_code == 303


def test_open_redirect_after_login_is_refused(ui_client) -> None:
    c = ui_client()
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"csrf_token": token, "username": "nm-analyst", "password": DEMO_PASSWORD,
                               "next": "//evil.example/"}, follow_redirects=False)  # fmt: skip
    assert r.headers["location"] == "/"


def test_a_password_change_ends_existing_sessions(ui_client, demo_database) -> None:
    from sqlalchemy import select

    from colsec.accounts.models import User
    from colsec.accounts.passwords import hash_password

    c = ui_client("sd-analyst")
    assert c.get("/", follow_redirects=False).status_code == 200
    with demo_database.unit_of_work() as db:
        user = db.execute(select(User).where(User.username == "sd-analyst")).scalar_one()
        user.password_hash = hash_password("a brand new password")
    assert c.get("/", follow_redirects=False).status_code == 303


def test_unknown_pages_get_an_html_error_page_and_api_paths_keep_json(ui_client) -> None:
    c = ui_client("nm-analyst")
    r = c.get("/no-such-page", headers={"Accept": "text/html"})
    assert r.status_code == 404 and 'data-testid="error-title"' in r.text
    r = c.get("/api/v1/no-such-endpoint", headers={"Accept": "text/html"})
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_the_password_hash_is_checked_before_the_write_lock_and_off_the_event_loop(
    ui_client, demo_database, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """While a login's hash is checked, another writer can take SQLite's write lock and another
    request is served: the hash (seconds on a loaded host) held both, and a node stalled."""
    import sqlite3
    import threading

    from colsec.accounts import authn

    path = demo_database.url.split("///", 1)[1]
    real = authn.verify_password
    seen: dict[str, object] = {}
    c = ui_client()

    def slow_verify(stored: str | None, password: str) -> bool:
        con = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")  # "database is locked" if the login held the lock
            con.execute("ROLLBACK")
            seen["lock"] = "free"
        except sqlite3.OperationalError as exc:
            seen["lock"] = str(exc)
        finally:
            con.close()
        # a request to the same app (the same event loop) is served while this hash runs
        probe = threading.Thread(target=lambda: seen.update(page=c.get("/healthz").status_code))
        probe.start()
        probe.join(10)
        seen.setdefault("page", "not served while the hash ran")
        return real(stored, password)

    monkeypatch.setattr(authn, "verify_password", slow_verify)
    token = csrf_of(c.get("/login").text)
    done: dict[str, int] = {}

    def attempt() -> None:
        r = c.post("/login", data={"csrf_token": token, "username": "nm-analyst", "password": DEMO_PASSWORD},
                   follow_redirects=False)  # fmt: skip
        done["status"] = r.status_code

    worker = threading.Thread(target=attempt)
    worker.start()
    worker.join(30)
    assert done == {"status": 303}
    assert seen["lock"] == "free" and seen["page"] == 200, seen
