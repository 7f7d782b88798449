"""POST /api/v1/imports: job id, progress, outcome; candidates review; other organisations see nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient


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
