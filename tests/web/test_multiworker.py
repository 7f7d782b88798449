"""Two real API servers on one PostgreSQL schema behave as one: requests alternate between them.

Each server is a ``colsec serve`` process on its own port (two processes are a stronger proof
than one master with two workers: nothing can be shared but the database and the data
folder).  Login, session cookie, logout, the login throttle, CSRF tokens, TAXII status
resources and alerts must not depend on which process answers.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from colsec.accounts import service as accounts
from colsec.accounts.roles import SYSTEM, Role
from colsec.db import Database
from colsec.stix.tlp import TLP, marking_id
from colsec.taxii import service as taxii
from colsec.web.sessions import COOKIE_NAME
from loopback import LOOPBACK_ENV

PG_URL = os.environ.get("COLSEC_TEST_DATABASE_URL")
if not PG_URL and os.environ.get("CI") == "true":
    pytest.fail("COLSEC_TEST_DATABASE_URL must be set in CI: the multi-worker test needs PostgreSQL")

COLSEC = [sys.executable, "-m", "colsec"]
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery staple"
TAXII = "application/taxii+json;version=2.1"


@dataclass
class Cluster:
    urls: tuple[str, str]
    database: Database
    tokens: dict[str, str]
    collection_id: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180  # readiness only: a loaded machine starts it slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server at {url} did not start: {log.read_text()[-2000:]}")


def _seed(database: Database) -> tuple[dict[str, str], str]:
    tokens: dict[str, str] = {}
    with database.unit_of_work() as s:
        for short in ("NM", "EV"):
            org = accounts.create_organisation(s, actor=SYSTEM, name=f"{short} CERT", short_name=short)
            user = accounts.create_user(
                s,
                actor=SYSTEM,
                username=f"{short.lower()}-analyst",
                password=PASSWORD,
                role=Role.ANALYST,
                org=org,
            )
            tokens[short] = accounts.create_token(s, actor=SYSTEM, user=user)
        accounts.create_user(
            s, actor=SYSTEM, username="throttled", password=PASSWORD, role=Role.VIEWER, org=org
        )
        coll = taxii.create_collection(s, actor=SYSTEM, title="shared", can_read=["*"], can_write=["*"])
        collection_id = coll.id
    return tokens, collection_id


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not PG_URL:
        pytest.skip("COLSEC_TEST_DATABASE_URL not set: two workers need PostgreSQL")
    schema = f"t_mw_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    folder = tmp_path_factory.mktemp("multiworker")
    env = {
        **os.environ,
        **LOOPBACK_ENV,
        "COLSEC_DATABASE_URL": url,
        "COLSEC_DATA_DIR": str(folder / "data"),  # one node: both processes read its secret
        "COLSEC_SYNC_ENABLED": "false",
        "COLSEC_LOGIN_MAX_FAILURES": "3",
        "COLSEC_LOGIN_BACKOFF_BASE_SECONDS": "60",
        "COLSEC_CROSS_MEMBER_THRESHOLD": "2",
    }
    env.pop("COLSEC_SECRET_KEY", None)
    r = subprocess.run([*COLSEC, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    database = Database(url)
    tokens, collection_id = _seed(database)
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    logs = [(folder / f"server-{i}.log").open("wb") for i in range(2)]
    try:
        for log in logs:  # started together: they race to create the node secret
            port = _free_port()
            procs.append(
                subprocess.Popen(
                    [*COLSEC, "serve", "--host", "127.0.0.1", "--port", str(port)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for i, (u, p) in enumerate(zip(urls, procs, strict=True)):
            _wait_ready(u, p, folder / f"server-{i}.log")
        yield Cluster((urls[0], urls[1]), database, tokens, collection_id)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        for log in logs:
            log.close()
        database.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _csrf(client: httpx.Client, base: str) -> str:
    """The form token of a page served by ``base`` (login page, or the dashboard once logged in)."""
    m = CSRF_RE.search(client.get(base + "/login", follow_redirects=True).text)
    assert m, "page without a CSRF field"
    return m.group(1)


def _login(client: httpx.Client, base: str, csrf: str, username: str, password: str = PASSWORD) -> int:
    data = {"csrf_token": csrf, "username": username, "password": password, "next": "/"}
    return client.post(base + "/login", data=data, follow_redirects=False).status_code


def _signed_in(base: str, cookie: str) -> bool:
    r = httpx.get(base + "/api/v1/crisis/notifications", cookies={COOKIE_NAME: cookie})
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200


@pytest.mark.slow
@pytest.mark.postgres
def test_session_csrf_and_logout_across_processes(cluster: Cluster) -> None:
    a, b = cluster.urls
    with httpx.Client() as browser:  # cookies are per host, not per port: one browser, two workers
        csrf = _csrf(browser, a)
        assert _login(browser, b, csrf, "nm-analyst") == 303  # A's CSRF token, accepted by B
        cookie = browser.cookies[COOKIE_NAME]
        assert _signed_in(a, cookie) and _signed_in(b, cookie)
        logout_csrf = _csrf(browser, b)
        r = browser.post(a + "/logout", data={"csrf_token": logout_csrf}, follow_redirects=False)
        assert r.status_code == 303
    # the old cookie is dead on both: the session ended on the server, not only in the browser
    assert not _signed_in(b, cookie) and not _signed_in(a, cookie)


@pytest.mark.slow
@pytest.mark.postgres
def test_login_throttle_counts_failures_on_both_processes(cluster: Cluster) -> None:
    a, b = cluster.urls
    with httpx.Client() as browser:
        csrf = _csrf(browser, a)
        for i in range(3):  # the free failures, alternating between the processes
            assert _login(browser, (a, b)[i % 2], csrf, "throttled", "wrong password") == 401
        assert _login(browser, b, csrf, "throttled", "wrong password") == 401
        # the fourth failure, counted on B, blocks the right password on A as well
        assert _login(browser, a, csrf, "throttled") == 401
    with httpx.Client() as other:  # another user from the same address is not slowed
        assert _login(other, b, _csrf(other, a), "ev-analyst") == 303


def _indicator(label: str, value: str) -> dict[str, object]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, label)}",
        "created": "2026-11-20T10:00:00.000Z",
        "modified": "2026-11-20T10:00:00.000Z",
        "pattern": f"[ipv4-addr:value = '{value}']",
        "pattern_type": "stix",
        "valid_from": "2026-11-20T10:00:00.000Z",
        "object_marking_refs": [marking_id(TLP.GREEN)],
    }


@pytest.mark.slow
@pytest.mark.postgres
def test_taxii_status_and_alerts_from_the_other_process(cluster: Cluster) -> None:
    a, b = cluster.urls
    nm = {"Authorization": f"Bearer {cluster.tokens['NM']}", "Accept": TAXII}
    ev = {"Authorization": f"Bearer {cluster.tokens['EV']}", "Accept": TAXII}
    objects = f"/taxii2/root/collections/{cluster.collection_id}/objects/"
    r = httpx.post(a + objects, json={"objects": [_indicator("mw-nm", "198.51.100.61")]},
                   headers={**nm, "Content-Type": TAXII})  # fmt: skip
    assert r.status_code == 202, r.text
    status_url = f"/taxii2/root/status/{r.json()['id']}/"
    deadline = time.monotonic() + 30
    while True:  # the status resource written by A is read from B
        status = httpx.get(b + status_url, headers=nm).json()
        if status["status"] == "complete" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (status["status"], status["success_count"]) == ("complete", 1)
    # EV reports the same address through B: both processes run the node's post-import steps
    r = httpx.post(b + objects, json={"objects": [_indicator("mw-ev", "198.51.100.61")]},
                   headers={**ev, "Content-Type": TAXII})  # fmt: skip
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 30
    while True:  # the cross-member alert raised on B is in NM's feed on A
        feed = httpx.get(a + "/api/v1/intel/alerts", headers=nm).json()["alerts"]
        if feed or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(feed) == 1 and "198.51.100.61" in feed[0]["title"]
    assert httpx.get(b + "/api/v1/intel/alerts", headers=ev).json()["alerts"][0]["id"] > 0


@pytest.mark.slow
@pytest.mark.postgres
def test_import_jobs_run_once_and_their_progress_reads_the_same_everywhere(cluster: Cluster) -> None:
    """Each server runs its job worker on the shared queue: imports posted to either are done once,
    and their status reads the same from both."""
    a, b = cluster.urls
    nm = {"Authorization": f"Bearer {cluster.tokens['NM']}"}
    urls = []
    for i in range(6):  # alternating servers, so both workers' claims race on the queue
        bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                  "objects": [_indicator(f"mw-import-{i}", f"203.0.113.{i + 10}")]}  # fmt: skip
        r = httpx.post((a, b)[i % 2] + "/api/v1/imports", json=bundle, headers=nm)
        assert r.status_code == 202, r.text
        urls.append(r.json()["url"])
    deadline = time.monotonic() + 60
    for i, url in enumerate(urls):
        while True:
            seen = [httpx.get(base + url, headers=nm).json() for base in (a, b)]
            if seen[0]["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert seen[0]["status"] == "succeeded", seen[0]
        second = httpx.get(b + url, headers=nm).json()
        assert (second["status"], second["result"]) == (seen[0]["status"], seen[0]["result"]), i
        assert second["attempts"] == 1  # claimed by one worker, once
        assert seen[0]["result"]["inserted"] == 1


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    env = {**os.environ, "COLSEC_DATA_DIR": str(tmp_path / "data")}
    env.pop("COLSEC_DATABASE_URL", None)
    r = subprocess.run(
        [*COLSEC, "serve", "--workers", "2"], env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 2
    assert "--workers 2 needs PostgreSQL" in r.stderr
    assert not (tmp_path / "data" / "colsec.db").exists()  # refused before anything was created
