"""Finding 12 end to end: ``colsec audit verify`` (a real subprocess) and the peer endpoint."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from colsec.accounts.roles import Role
from colsec.db import Database
from colsec.store.models import AuditEntry

COLSEC = [sys.executable, "-m", "colsec"]


def _run(args: list[str], tmp_path: Path, database: Database) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLSEC_DATA_DIR": str(tmp_path / "data"), "COLSEC_DATABASE_URL": database.url}
    env["COLUMNS"] = "300"
    return subprocess.run([*COLSEC, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_finding_12_cli_verify_names_missing_tail(tmp_path: Path, sqlite_database: Database) -> None:
    for name in ("CERT-A", "CERT-B", "CERT-C"):
        r = _run(["org", "add", name, "--name", f"{name} team"], tmp_path, sqlite_database)
        assert r.returncode == 0, r.stderr
    r = _run(["audit", "verify"], tmp_path, sqlite_database)
    assert r.returncode == 0 and "audit log intact" in r.stdout, r.stderr
    with sqlite_database.unit_of_work() as s:
        last = s.execute(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)).scalar_one()
        s.execute(delete(AuditEntry).where(AuditEntry.id == last))
    r = _run(["audit", "verify"], tmp_path, sqlite_database)
    assert r.returncode == 1
    assert f"1 rows after id {last - 1} missing; checkpoint of" in " ".join(r.stderr.split())


def test_finding_12_peer_endpoint_serves_signed_head(
    client: TestClient, make_account: Callable[..., object], tmp_path: Path, database: Database
) -> None:
    peer = make_account(Role.PEER, org="PEER-ORG")
    analyst = make_account(Role.ANALYST, org="ORG-A")
    r = client.get("/api/v1/audit/checkpoint", headers=analyst.headers)  # type: ignore[attr-defined]
    assert r.status_code == 403
    r = client.get("/api/v1/audit/checkpoint", headers=peer.headers)  # type: ignore[attr-defined]
    assert r.status_code == 200
    cp = r.json()
    assert cp["rows"] >= 1 and len(cp["last_hash"]) == 64 and len(cp["sig"]) == 64
    saved = tmp_path / "peer-copy.jsonl"
    saved.write_bytes(orjson.dumps(cp) + b"\n")
    anchor = client.app.state.database.audit_anchor  # type: ignore[attr-defined]
    with database.unit_of_work(write=False) as s:
        from colsec.store.audit import verify_anchored
        from colsec.store.audit_anchor import parse_checkpoints

        copies = [c for _, c in parse_checkpoints(saved.read_bytes(), source="copy")]
        assert verify_anchored(s, anchor, extra=copies).ok
