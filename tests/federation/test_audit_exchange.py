"""Finding 12 across nodes: a peer keeps our signed audit heads and notices when our log goes back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
from sqlalchemy import delete, select

from colsec.accounts.roles import Role
from colsec.db import Database
from colsec.store.audit_anchor import PEER_CHECKPOINT_DIR
from colsec.store.models import AuditEntry
from federation.nodes import ORGS, start_node
from taxii.server import create_account, prepare_database

COLSEC = [sys.executable, "-m", "colsec"]
SECRET_A = "taxii-test-secret-key"  # what tests/taxii/server.py gives its nodes


def _run(
    args: list[str], folder: Path, url: str, secret: str = "node-b-secret"
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLSEC_DATA_DIR": str(folder), "COLSEC_DATABASE_URL": url, "COLUMNS": "300"}
    env["COLSEC_OUTBOUND_ALLOW"] = "127.0.0.0/8"
    env["COLSEC_SECRET_KEY"] = secret
    return subprocess.run([*COLSEC, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_finding_12_peer_keeps_our_checkpoints_and_sees_truncation(tmp_path: Path) -> None:
    node_a = start_node(tmp_path / "A", "A", sync=False)
    try:
        creds = node_a.add_account("peer-b", org=ORGS["B"], role=Role.PEER)
        url_b = prepare_database(tmp_path / "B" / "colsec.db")
        database_b = Database(url_b)
        create_account(database_b, "analyst-b", org=ORGS["B"], role=Role.ANALYST)
        create_account(database_b, "analyst-a", org=ORGS["A"], role=Role.ANALYST)
        database_b.dispose()
        r = _run(
            ["peer", "add", "node-A", "--url", node_a.root_url(), "--org", ORGS["A"],
             "--username", creds.username, "--token", creds.token],
            tmp_path / "B", url_b,
        )  # fmt: skip
        assert r.returncode == 0, r.stdout + r.stderr

        r = _run(["audit", "fetch", "node-A"], tmp_path / "B", url_b)
        assert r.returncode == 0, r.stdout + r.stderr
        kept = tmp_path / "B" / PEER_CHECKPOINT_DIR / "node-A.jsonl"
        first = orjson.loads(kept.read_bytes().splitlines()[-1])
        assert first["rows"] >= 1 and len(first["sig"]) == 64

        # Node A's operator proves its log against B's copy ...
        r = _run(["audit", "verify", "--against", str(kept)], tmp_path / "A", node_a.database_url, SECRET_A)
        assert r.returncode == 0, r.stdout + r.stderr
        # ... and once A's tail is cut, both A's own check and B's next fetch say so.
        database_a = Database(node_a.database_url)
        with database_a.unit_of_work() as s:
            last = s.execute(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)).scalar_one()
            s.execute(delete(AuditEntry).where(AuditEntry.id == last))
        database_a.dispose()
        (tmp_path / "A" / "audit-checkpoints.jsonl").unlink(missing_ok=True)  # the attacker's cleanup
        r = _run(["audit", "verify", "--against", str(kept)], tmp_path / "A", node_a.database_url, SECRET_A)
        assert r.returncode == 1 and "missing; checkpoint of" in " ".join(r.stderr.split())
        r = _run(["audit", "fetch", "node-A"], tmp_path / "B", url_b)
        assert r.returncode == 1 and "audit log went backwards" in " ".join(r.stderr.split())
    finally:
        node_a.stop()
