"""POST /api/v1/imports: job id, progress, outcome; candidates review; other organisations see nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from tests.intel.conftest import indicator

from colsec.db import Database
from colsec.settings import Settings


def test_import_job_lifecycle(
    client: TestClient, make_account: Callable[..., Any], shared_data: Path, run_jobs: Callable[[], int]
) -> None:
    acc = make_account()
    other = make_account(org="ORG-B")
    data = (shared_data / "misp/events/pymisp_asert_long_event.json").read_bytes()
    resp = client.post("/api/v1/imports", content=data, headers=acc.headers)
    assert resp.status_code == 202, resp.text
    job = resp.json()
    assert client.get(job["url"], headers=acc.headers).json()["status"] == "queued"
    assert run_jobs() == 1
    status = client.get(job["url"], headers=acc.headers).json()
    assert status["status"] == "succeeded", status
    assert status["format"] == "misp" and status["processed"] == status["result"]["received"] > 1000
    assert client.get(job["url"], headers=other.headers).status_code == 404
    listed = client.get(
        "/api/v1/objects", params={"type": "indicator", "limit": 5}, headers=acc.headers
    ).json()
    assert listed["objects"]


def test_failed_job_says_why(
    client: TestClient, make_account: Callable[..., Any], run_jobs: Callable[[], int]
) -> None:
    acc = make_account()
    resp = client.post(
        "/api/v1/imports", params={"format": "csv"}, content=b"name,age\nbob,3\n", headers=acc.headers
    )
    run_jobs()
    status = client.get(resp.json()["url"], headers=acc.headers).json()
    assert status["status"] == "failed"
    assert status["error"]["error"] == "invalid_input" and "unknown CSV layout" in status["error"]["detail"]
    bad = client.post("/api/v1/imports", params={"format": "nope"}, content=b"x", headers=acc.headers)
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_input"


def test_viewer_may_not_import(client: TestClient, make_account: Callable[..., Any]) -> None:
    viewer = make_account(role="viewer")
    assert (
        client.post(
            "/api/v1/imports", content=b"type,value\nip,198.51.100.1\n", headers=viewer.headers
        ).status_code
        == 403
    )


def test_candidates_review_then_accept(client: TestClient, make_account: Callable[..., Any]) -> None:
    acc = make_account()
    text = b"C2: hxxps://bad[.]example[.]net/gate and 198.51.100[.]44"
    cands = client.post("/api/v1/imports/candidates", content=text, headers=acc.headers).json()["candidates"]
    assert {(c["kind"], c["value"]) for c in cands} == {
        ("url", "https://bad.example.net/gate"),
        ("ipv4", "198.51.100.44"),
    }
    keep = [c for c in cands if c["kind"] == "ipv4"]
    resp = client.post(
        "/api/v1/imports/candidates/accept", json={"candidates": keep, "tlp": "green"}, headers=acc.headers
    )
    assert resp.status_code == 201 and resp.json()["inserted"] == 1
    formats = client.get("/api/v1/imports/formats", headers=acc.headers).json()
    assert {f["format"] for f in formats["import"]} >= {"misp", "csv", "text", "stix", "attack"}


def test_feed_job_refuses_private_hosts_and_paths(
    client: TestClient, make_account: Callable[..., Any], run_jobs: Callable[[], int]
) -> None:
    admin = make_account(role="admin")
    analyst = make_account()
    assert (
        client.post(
            "/api/v1/imports/feed", json={"url": "http://127.0.0.1:9/"}, headers=analyst.headers
        ).status_code
        == 403
    )
    bad = client.post("/api/v1/imports/feed", json={"url": "/etc"}, headers=admin.headers)
    assert bad.status_code == 422 and "http(s)" in bad.json()["detail"]
    resp = client.post(
        "/api/v1/imports/feed", json={"url": "http://127.0.0.1:9/feed/"}, headers=admin.headers
    )
    assert resp.status_code == 202
    run_jobs()
    status = client.get(resp.json()["url"], headers=admin.headers).json()
    assert status["status"] == "failed" and "not a global address" in status["error"]["detail"]


def test_gzipped_body_imports_like_the_cli(
    client: TestClient, make_account: Callable[..., Any], shared_data: Path, run_jobs: Callable[[], int]
) -> None:
    """Issue 17: a .json.gz posted to the API imports as the CLI and the web form take it; a bomb is 413."""
    import gzip

    acc = make_account()
    data = gzip.compress((shared_data / "misp/events/pymisp_asert_long_event.json").read_bytes())
    resp = client.post("/api/v1/imports", content=data, headers=acc.headers)
    assert resp.status_code == 202, resp.text
    run_jobs()
    status = client.get(resp.json()["url"], headers=acc.headers).json()
    assert status["status"] == "succeeded" and status["format"] == "misp", status
    bomb = gzip.compress(b"[" + b" " * (64 * 1024 * 1024) + b"]", compresslevel=9)
    refused = client.post("/api/v1/imports", content=bomb, headers=acc.headers)
    assert refused.status_code == 413 and "decompression bomb" in refused.json()["detail"], refused.text
    cut = client.post("/api/v1/imports", content=data[: len(data) // 2], headers=acc.headers)
    assert cut.status_code == 422 and cut.json()["error"] == "invalid_input", cut.text


def _bundle(*labels: str) -> bytes:
    objects = [indicator(label, "domain", f"{label}.example.org") for label in labels]
    return json.dumps(
        {"type": "bundle", "id": "bundle--7d1c0e3a-5b2f-4c6e-8a9d-000000000000", "objects": objects}
    ).encode()


def test_import_status_says_where_its_post_import_work_stands(
    settings: Settings, database: Database, make_account: Callable[..., Any]
) -> None:
    """A large import's correlation, scores and exposure run as a job of the node's own; the
    import's status tells its organisation whether that job is queued or done."""
    from colsec.intel.hooks import AFTER_IMPORT_KIND
    from colsec.web.app import create_app

    app = create_app(settings.model_copy(update={"intel_defer_after": 3}), database=database)
    acc, colleague, other = make_account(), make_account(), make_account(org="ORG-B")
    with TestClient(app) as client:
        job = client.post(
            "/api/v1/imports", content=_bundle("later-a", "later-b", "later-c"), headers=acc.headers
        ).json()
        runner = app.state.node.job_runner(schedules=())
        after_import = runner.handlers.pop(AFTER_IMPORT_KIND)
        assert runner.run_once() == 1
        status = client.get(job["url"], headers=colleague.headers).json()
        assert status["status"] == "succeeded"
        assert status["follow_up"] == {"state": "queued", "versions": 3, "processed": 0}
        assert client.get(job["url"], headers=other.headers).status_code == 404
        runner.handlers[AFTER_IMPORT_KIND] = after_import
        assert runner.run_once() == 1
        status = client.get(job["url"], headers=acc.headers).json()
        assert status["follow_up"] == {"state": "done", "versions": 3, "processed": 3}

        small = client.post("/api/v1/imports", content=_bundle("later-d", "later-e"),
                            headers=acc.headers).json()  # fmt: skip
        assert runner.run_once() == 1
        status = client.get(small["url"], headers=acc.headers).json()
        assert status["status"] == "succeeded" and status["follow_up"] is None


def test_bom_utf16_and_stix20_bodies(
    client: TestClient, make_account: Callable[..., Any], shared_data: Path, run_jobs: Callable[[], int]
) -> None:
    """Windows tools write a UTF-8 BOM: STIX and MISP bodies (plain or gzip) import as without it;
    UTF-16 is refused naming UTF-16; a STIX 2.0 bundle is upgraded to 2.1 and the result says so."""
    import gzip

    acc = make_account()
    bom = b"\xef\xbb\xbf"
    stix = (shared_data / "misp/misp_stix_pairs/test_event1_stix21.json").read_bytes()
    misp = (shared_data / "misp/events/pymisp_circl_xorist_57c4445b.json").read_bytes()
    stix20 = (shared_data / "misp/misp_stix_pairs/test_event1_stix20.json").read_bytes()

    def post(body: bytes) -> dict[str, Any]:
        resp = client.post("/api/v1/imports", content=body, headers=acc.headers)
        assert resp.status_code == 202, resp.text
        run_jobs()
        result: dict[str, Any] = client.get(resp.json()["url"], headers=acc.headers).json()
        return result

    for data, fmt in ((stix, "stix"), (misp, "misp")):
        for body in (bom + data, gzip.compress(bom + data)):
            status = post(body)
            assert status["status"] == "succeeded" and status["format"] == fmt, status
    for body in (stix.decode().encode("utf-16"), gzip.compress(misp.decode().encode("utf-16-le"))):
        status = post(body)
        assert status["status"] == "failed" and "UTF-16" in status["error"]["detail"], status
    status = post(stix20)
    assert status["status"] == "succeeded" and status["format"] == "stix", status
    assert status["result"]["received"] == 7
    assert any("STIX 2.0 bundle upgraded to 2.1" in n for n in status["result"]["notes"]), status
