"""The CLI acts as the node operator: it manages every organisation and grants operator rights."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from colsec.db import Database
from colsec.settings import Settings

COLSEC = [sys.executable, "-m", "colsec"]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COLSEC, *args], env=env, capture_output=True, text=True, timeout=300)


def test_finding_08_cli_operator_grants_node_operator_rights(
    tmp_path: Path, sqlite_database: Database
) -> None:
    from colsec.web.app import create_app

    env = {**os.environ, "COLSEC_DATA_DIR": str(tmp_path / "d"), "COLSEC_DATABASE_URL": sqlite_database.url}
    for org in ("ORG-A", "ORG-B"):
        assert _run(["org", "add", org, "--name", f"{org} agency"], env).returncode == 0
    assert (
        _run(["user", "add", "a-admin", "--org", "ORG-A", "--role", "admin", "--no-password"], env).returncode
        == 0
    )
    assert (
        _run(["user", "add", "b-peer", "--org", "ORG-B", "--role", "peer", "--no-password"], env).returncode
        == 0
    )
    refused = _run(["user", "operator", "b-peer"], env)
    assert refused.returncode != 0 and "only an admin" in refused.stdout + refused.stderr
    token = _run(["token", "create", "a-admin"], env).stdout.strip()
    settings = Settings(data_dir=tmp_path / "d", database_url=sqlite_database.url, secret_key="k" * 32)
    with TestClient(create_app(settings, database=sqlite_database)) as c:
        headers = {"Authorization": f"Bearer {token}"}
        assert c.post("/api/v1/users/b-peer/tokens", json={}, headers=headers).status_code == 404
        assert _run(["user", "operator", "a-admin"], env).returncode == 0
        assert c.post("/api/v1/users/b-peer/tokens", json={}, headers=headers).status_code == 201
        assert _run(["user", "disable", "a-admin"], env).returncode == 0
        assert c.get("/api/v1/stats", headers=headers).status_code == 401
